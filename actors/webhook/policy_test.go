package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/webhooks"
)

func TestDecide(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p := policy{schedule: DefaultSchedule, maxRetryAfter: time.Hour}
	half := func() float64 { return 0.5 }
	pending := func(d time.Duration) webhooks.Next {
		return webhooks.Next{State: webhooks.StatePending, At: now.Add(d)}
	}

	require.Equal(t, webhooks.StateDelivered, p.decide(outcome{status: 200}, 1, now, half).State)
	require.Equal(t, webhooks.StateDelivered, p.decide(outcome{status: 204}, 6, now, half).State)
	require.Equal(t, webhooks.StateDead, p.decide(outcome{status: 410}, 1, now, half).State, "410 Gone is final")
	require.Equal(t, webhooks.StateDead, p.decide(outcome{invalid: true}, 1, now, half).State)
	for i, want := range DefaultSchedule {
		require.Equal(t, pending(want), p.decide(outcome{status: 500}, i+1, now, half), "attempt %d", i+1)
	}
	require.Equal(t, webhooks.StateDead, p.decide(outcome{status: 500}, len(DefaultSchedule)+1, now, half).State, "schedule exhausted")
	for _, status := range []int{0, 301, 400, 401, 404, 408, 429, 502} {
		require.Equal(t, pending(time.Second), p.decide(outcome{status: status}, 1, now, half), "status %d is retried", status)
	}

	// Retry-After: not earlier than asked, bounded; ignored where it means
	// nothing (a 500) and never shortens the schedule.
	require.Equal(t, pending(90*time.Second), p.decide(outcome{status: 429, retryAfter: 90 * time.Second}, 1, now, half))
	require.Equal(t, pending(90*time.Second), p.decide(outcome{status: 503, retryAfter: 90 * time.Second}, 1, now, half))
	require.Equal(t, pending(time.Hour), p.decide(outcome{status: 429, retryAfter: 48 * time.Hour}, 1, now, half), "bounded")
	require.Equal(t, pending(time.Second), p.decide(outcome{status: 500, retryAfter: 90 * time.Second}, 1, now, half))
	require.Equal(t, pending(5*time.Minute), p.decide(outcome{status: 429, retryAfter: time.Second}, 4, now, half))
	require.Equal(t, webhooks.StateDead, p.decide(outcome{status: 429, retryAfter: time.Second}, 6, now, half).State)

	// Jitter: ±20% at the extremes of rnd.
	p.jitter = 0.2
	require.Equal(t, pending(800*time.Millisecond), p.decide(outcome{status: 500}, 1, now, func() float64 { return 0 }))
	require.Equal(t, pending(1200*time.Millisecond), p.decide(outcome{status: 500}, 1, now, func() float64 { return 1 }))
	require.Equal(t, pending(time.Second), p.decide(outcome{status: 500}, 1, now, half))
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"120": 2 * time.Minute, " 0 ": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
		"99999999999": 365 * 24 * time.Hour,
	} {
		got, ok := parseRetryAfter(in, now)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-5", "soon", "1.5"} {
		_, ok := parseRetryAfter(in, now)
		require.False(t, ok, in)
	}
}

func TestErrorClassHasNoURL(t *testing.T) {
	ctx := context.Background()
	secretURL := "https://receiver.example/hook?token=s3cr3t"
	wrap := func(err error) error { return &url.Error{Op: "Post", URL: secretURL, Err: err} }
	for err, want := range map[error]string{
		wrap(syscall.ECONNREFUSED):      "connection refused",
		wrap(context.DeadlineExceeded):  "timeout",
		wrap(errPrivateAddress):         "destination address not allowed",
		wrap(errors.New("weird thing")): "transport error",
	} {
		got := errorClass(0, err, ctx)
		require.Equal(t, want, got)
		require.NotContains(t, got, "s3cr3t")
	}
	require.Equal(t, "HTTP 500 Internal Server Error", errorClass(500, nil, ctx))
	require.Equal(t, "HTTP 599", errorClass(599, nil, ctx))
	require.Empty(t, errorClass(204, nil, ctx))
	closing, cancel := context.WithCancelCause(ctx)
	cancel(errClosing)
	require.Equal(t, "aborted: dispatcher closing", errorClass(0, wrap(context.Canceled), closing))
}

func TestPublicAddr(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "0.0.0.0", "::", "fd00::1", "fe80::1", "224.0.0.1", "::ffff:127.0.0.1"} {
		require.False(t, PublicAddr(netip.MustParseAddr(s)), s)
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"} {
		require.True(t, PublicAddr(netip.MustParseAddr(s)), s)
	}
}

func TestEndpointKey(t *testing.T) {
	for in, want := range map[string]string{
		"https://Example.com/a":      "https://example.com:443",
		"https://example.com:443/b":  "https://example.com:443",
		"http://example.com/":        "http://example.com:80",
		"http://127.0.0.1:8080/hook": "http://127.0.0.1:8080",
		"ftp://x":                    "invalid",
	} {
		require.Equal(t, want, endpointKey(in), in)
	}
}
