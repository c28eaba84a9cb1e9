package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openekyc/ekyc/store/webhooks"
)

// DefaultSchedule is the delay before each retry: the first attempt is
// immediate, then 1 s, 5 s, 30 s, 5 min and 30 min after each failure; a
// failure after the last delay dead-letters the event (6 attempts in all).
var DefaultSchedule = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 5 * time.Minute, 30 * time.Minute}

// policy is what decides the fate of an attempt.
type policy struct {
	schedule      []time.Duration
	jitter        float64 // ± fraction of each delay
	maxRetryAfter time.Duration
}

// outcome of one attempt, as seen by the policy.
type outcome struct {
	status     int           // HTTP status, 0 without a response
	retryAfter time.Duration // from a 429/503 Retry-After, 0 if none
	invalid    bool          // the event cannot be sent at all (bad URL)
}

// decide returns the state an attempt leaves its event in. attempts is the
// number of attempts of the delivery including this one; rnd returns a
// uniform number in [0, 1).
//
//   - 2xx: delivered.
//   - 410 Gone: dead at once. The receiver says the endpoint no longer
//     exists; retrying for hours would only load it. Replay re-arms the
//     event once the tenant has fixed its endpoint.
//   - anything else (no response, 3xx — redirects are not followed —, 4xx
//     including 408 and 429, 5xx): retried on the schedule, because
//     receivers get misconfigured and fixed; dead after the last delay.
//   - 429 and 503 with Retry-After: the retry is not earlier than the
//     receiver asked, bounded by maxRetryAfter.
func (p policy) decide(o outcome, attempts int, now time.Time, rnd func() float64) webhooks.Next {
	switch {
	case o.invalid:
		return webhooks.Next{State: webhooks.StateDead}
	case o.status >= 200 && o.status < 300:
		return webhooks.Next{State: webhooks.StateDelivered}
	case o.status == http.StatusGone:
		return webhooks.Next{State: webhooks.StateDead}
	case attempts > len(p.schedule):
		return webhooks.Next{State: webhooks.StateDead}
	}
	delay := jittered(p.schedule[attempts-1], p.jitter, rnd)
	if o.retryAfter > 0 && (o.status == http.StatusTooManyRequests || o.status == http.StatusServiceUnavailable) {
		delay = max(delay, min(o.retryAfter, p.maxRetryAfter))
	}
	return webhooks.Next{State: webhooks.StatePending, At: now.Add(delay)}
}

// jittered spreads d uniformly over [d(1-j), d(1+j)], so that events that
// failed together (a receiver outage) do not retry together.
func jittered(d time.Duration, j float64, rnd func() float64) time.Duration {
	if j <= 0 || d <= 0 {
		return d
	}
	f := 1 - j + 2*j*rnd()
	return time.Duration(float64(d) * f)
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// ok is false when it is absent or malformed; a date in the past is 0.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(365*24*time.Hour/time.Second) {
			n = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// errPrivateAddress is returned by the dialer for a refused destination.
var errPrivateAddress = errors.New("webhook: destination address not allowed")

// errClosing is the cause of attempts cancelled by Close.
var errClosing = errors.New("webhook: dispatcher closing")

// errorClass returns the short, PII-free description of a failed attempt
// that goes into the delivery log. It never includes err's text: a
// *url.Error carries the URL, which may hold a receiver's token.
func errorClass(status int, err error, ctx context.Context) string {
	if err == nil {
		if status >= 200 && status < 300 {
			return ""
		}
		if t := http.StatusText(status); t != "" {
			return "HTTP " + strconv.Itoa(status) + " " + t
		}
		return "HTTP " + strconv.Itoa(status)
	}
	var (
		dnsErr *net.DNSError
		netErr net.Error
		tlsErr *tls.CertificateVerificationError
		recErr tls.RecordHeaderError
	)
	switch {
	case errors.Is(context.Cause(ctx), errClosing):
		return "aborted: dispatcher closing"
	case errors.Is(err, errPrivateAddress):
		return "destination address not allowed"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case errors.As(err, &tlsErr), errors.As(err, &recErr):
		return "TLS error"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by receiver"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "transport error"
}
