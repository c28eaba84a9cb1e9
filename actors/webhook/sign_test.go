package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/actors/webhook"
)

// reference computes the signature independently of the package.
func reference(secret string, unix int64, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", unix, body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestSignKnownVectors(t *testing.T) {
	at := time.Unix(1700000000, 0)
	body := `{"event_id":"evt-1","outcome":"APPROVED"}`
	got := webhook.Sign("whsec_current", at, []byte(body))
	require.Equal(t, reference("whsec_current", 1700000000, body), got)
	// Fixed vectors computed with Python's hmac module, so a change of the
	// scheme (or of reference) shows.
	require.Equal(t, "824ae1138d4249107996c14e7c288fb27ba6c23f805318f38a1281e84d16842c", got)
	require.Equal(t, "8511f28f7a1949f0c42772b447d68b2daf760f5f0439a20a17e3b4e7cd395763",
		webhook.Sign("key", time.Unix(0, 0), []byte("The quick brown fox jumps over the lazy dog")))
	require.Len(t, got, 64)
	require.NotEqual(t, got, webhook.Sign("whsec_current", at.Add(time.Second), []byte(body)), "the timestamp is signed")
	require.NotEqual(t, got, webhook.Sign("whsec_other", at, []byte(body)))
}

func TestSignatureValueRotation(t *testing.T) {
	at := time.Unix(1700000000, 0)
	body := []byte(`{"a":1}`)
	h, err := webhook.SignatureValue(at, body, []string{"new-secret", "", "old-secret"})
	require.NoError(t, err)
	require.Equal(t, "t=1700000000,v1="+reference("new-secret", 1700000000, `{"a":1}`)+
		",v1="+reference("old-secret", 1700000000, `{"a":1}`), h)

	now := at.Add(30 * time.Second)
	require.NoError(t, webhook.Verify(h, body, []string{"old-secret"}, time.Minute, now), "a receiver that knows only the old secret")
	require.NoError(t, webhook.Verify(h, body, []string{"new-secret"}, time.Minute, now))
	require.ErrorIs(t, webhook.Verify(h, body, []string{"third"}, time.Minute, now), webhook.ErrSignatureMismatch)

	_, err = webhook.SignatureValue(at, body, []string{"", ""})
	require.ErrorIs(t, err, webhook.ErrNoSecret)
}

func TestVerify(t *testing.T) {
	at := time.Unix(1700000000, 0)
	body := []byte(`{"event_id":"evt-1"}`)
	h, err := webhook.SignatureValue(at, body, []string{"s1"})
	require.NoError(t, err)

	require.NoError(t, webhook.Verify(h, body, []string{"s1"}, 5*time.Minute, at))
	require.NoError(t, webhook.Verify(h, body, []string{"s1"}, 5*time.Minute, at.Add(-5*time.Minute)), "receiver clock behind")
	require.ErrorIs(t, webhook.Verify(h, body, []string{"s1"}, 5*time.Minute, at.Add(5*time.Minute+time.Second)),
		webhook.ErrTimestampOutOfTolerance, "an old request replayed")
	require.ErrorIs(t, webhook.Verify(h, body, []string{"s1"}, 0, at.Add(time.Hour)),
		webhook.ErrTimestampOutOfTolerance, "0 means the default tolerance, not none")
	require.ErrorIs(t, webhook.Verify(h, []byte(`{"event_id":"evt-2"}`), []string{"s1"}, time.Minute, at), webhook.ErrSignatureMismatch)
	require.ErrorIs(t, webhook.Verify(h, body, nil, time.Minute, at), webhook.ErrNoSecret)

	// A replayed signature under a moved timestamp does not verify.
	moved := strings.Replace(h, "t=1700000000", "t=1700000100", 1)
	require.ErrorIs(t, webhook.Verify(moved, body, []string{"s1"}, time.Minute, at.Add(100*time.Second)), webhook.ErrSignatureMismatch)

	sig := reference("s1", 1700000000, string(body))
	for name, bad := range map[string]string{
		"empty":        "",
		"no timestamp": "v1=" + sig,
		"no v1":        "t=1700000000",
		"bad t":        "t=soon,v1=" + sig,
		"two t":        "t=1700000000,t=1700000000,v1=" + sig,
		"no equals":    "t=1700000000,v1",
	} {
		require.ErrorIs(t, webhook.Verify(bad, body, []string{"s1"}, time.Minute, at), webhook.ErrBadSignatureHeader, name)
	}
	// Unknown schemes are ignored, malformed v1 values match nothing.
	require.NoError(t, webhook.Verify("t=1700000000,v0=abc,v1=zz,v1="+sig, body, []string{"s1"}, time.Minute, at))
	require.ErrorIs(t, webhook.Verify("t=1700000000,v1="+sig[:62], body, []string{"s1"}, time.Minute, at), webhook.ErrSignatureMismatch)
}
