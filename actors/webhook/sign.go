package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries the signature.
const SignatureHeader = "Ekyc-Signature"

// DefaultTolerance is the largest clock difference Verify accepts when it
// is given none.
const DefaultTolerance = 5 * time.Minute

var (
	// ErrNoSecret: there is no (non-empty) secret to sign or verify with.
	ErrNoSecret = errors.New("webhook: no signing secret")
	// ErrBadSignatureHeader: the header is missing or malformed.
	ErrBadSignatureHeader = errors.New("webhook: malformed signature header")
	// ErrTimestampOutOfTolerance: the signed timestamp is too far from now
	// (a replayed or delayed request, or a skewed clock).
	ErrTimestampOutOfTolerance = errors.New("webhook: signature timestamp outside tolerance")
	// ErrSignatureMismatch: no v1 signature matches any of the secrets.
	ErrSignatureMismatch = errors.New("webhook: no matching signature")
)

// Sign returns the hex HMAC-SHA256, keyed by secret, of "<unix seconds of
// t>.<body>": one v1 value of the signature header.
func Sign(secret string, t time.Time, body []byte) string {
	return hex.EncodeToString(mac(secret, t.Unix(), body))
}

func mac(secret string, unix int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(unix, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SignatureValue returns the Ekyc-Signature header value
// "t=<unix>,v1=<hex>[,v1=<hex>...]": one v1 per non-empty secret, in the
// order given (the current secret first). During a rotation the tenant has
// two valid secrets, so a receiver that knows only one of them verifies.
func SignatureValue(t time.Time, body []byte, secrets []string) (string, error) {
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(strconv.FormatInt(t.Unix(), 10))
	n := 0
	for _, s := range secrets {
		if s == "" {
			continue
		}
		b.WriteString(",v1=")
		b.WriteString(Sign(s, t, body))
		n++
	}
	if n == 0 {
		return "", ErrNoSecret
	}
	return b.String(), nil
}

// Verify checks an Ekyc-Signature header against the raw request body: the
// timestamp must be within tolerance of now (either way; tolerance <= 0
// means DefaultTolerance), and one of the header's v1 values must be the
// signature of "t.body" under one of secrets. Comparisons are constant-time.
// Unknown keys in the header are ignored, so schemes can be added later.
//
// The timestamp check is what stops a captured request from being replayed
// later; receivers should still de-duplicate by Idempotency-Key.
func Verify(header string, body []byte, secrets []string, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var (
		unix    int64
		haveT   bool
		sigs    [][]byte
		keys    []string
		present = false
	)
	for _, s := range secrets {
		if s != "" {
			keys = append(keys, s)
		}
	}
	if len(keys) == 0 {
		return ErrNoSecret
	}
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: element without '='", ErrBadSignatureHeader)
		}
		switch k {
		case "t":
			if haveT {
				return fmt.Errorf("%w: more than one timestamp", ErrBadSignatureHeader)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%w: timestamp is not an integer", ErrBadSignatureHeader)
			}
			unix, haveT = n, true
		case "v1":
			present = true
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				continue // a malformed signature matches nothing
			}
			sigs = append(sigs, sig)
		}
	}
	switch {
	case !haveT:
		return fmt.Errorf("%w: no timestamp", ErrBadSignatureHeader)
	case !present:
		return fmt.Errorf("%w: no v1 signature", ErrBadSignatureHeader)
	}
	skew := now.Sub(time.Unix(unix, 0))
	if skew > tolerance || skew < -tolerance {
		return ErrTimestampOutOfTolerance
	}
	for _, k := range keys {
		want := mac(k, unix, body)
		for _, sig := range sigs {
			if hmac.Equal(want, sig) {
				return nil
			}
		}
	}
	return ErrSignatureMismatch
}
