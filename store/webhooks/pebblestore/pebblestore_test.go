package pebblestore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/store/webhooks"
	"github.com/openekyc/ekyc/store/webhooks/pebblestore"
	"github.com/openekyc/ekyc/store/webhooks/webhookstest"
)

func keyring(t *testing.T) *envelope.Keyring {
	t.Helper()
	key := make([]byte, envelope.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	k, err := envelope.New(key)
	require.NoError(t, err)
	return k
}

func open(t *testing.T, dir string, k *envelope.Keyring) *pebblestore.Store {
	t.Helper()
	s, err := pebblestore.Open(dir, k)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestWebhooksConformance(t *testing.T) {
	webhookstest.Run(t, func(t *testing.T) webhooks.Store { return open(t, t.TempDir(), keyring(t)) })
}

func TestOpenArguments(t *testing.T) {
	_, err := pebblestore.Open("", keyring(t))
	require.ErrorIs(t, err, webhooks.ErrInvalidArgument)
	_, err = pebblestore.Open(t.TempDir(), nil)
	require.ErrorIs(t, err, webhooks.ErrInvalidArgument)
	dir := t.TempDir()
	open(t, dir, keyring(t))
	_, err = pebblestore.Open(dir, keyring(t))
	require.Error(t, err, "the directory is locked by the first store")
}

// TestSurvivesReopen: pending events, their schedule, logs and the pending
// count come back after a reopen.
func TestSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k := keyring(t)
	s := open(t, dir, k)
	for _, id := range []string{"a", "b", "c"} {
		_, err := s.Enqueue(ctx, webhookstest.NewEvent("t1", id))
		require.NoError(t, err)
	}
	later := time.Now().Add(time.Hour).UTC()
	_, err := s.RecordAttempt(ctx, "t1", "a", webhooks.Attempt{Delivery: 1, At: time.Now(), Status: 503, Error: "HTTP 503"},
		webhooks.Next{State: webhooks.StatePending, At: later})
	require.NoError(t, err)
	_, err = s.RecordAttempt(ctx, "t1", "b", webhooks.Attempt{Delivery: 1, At: time.Now(), Status: 200}, webhooks.Next{State: webhooks.StateDelivered})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = open(t, dir, k)
	n, err := s.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	due, err := s.Due(ctx, time.Now(), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, "c", due[0].ID)
	at, ok, err := s.NextDue(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, at.After(time.Now()))
	r, err := s.Get(ctx, "t1", "a")
	require.NoError(t, err)
	require.True(t, r.NextAttemptAt.Equal(later))
	require.Len(t, r.Log, 1)
	require.Equal(t, 503, r.Log[0].Status)
	require.Equal(t, webhookstest.NewEvent("t1", "a").Body, r.Body)
}

// TestNoPlaintextAtRest greps every file of the Pebble directory (WAL,
// sstables, manifest) for the body's personal data and the URL's token.
func TestNoPlaintextAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k := keyring(t)
	s := open(t, dir, k)
	for _, id := range []string{"e1", "e2"} {
		_, err := s.Enqueue(ctx, webhookstest.NewEvent("tenant-a", id))
		require.NoError(t, err)
		_, err = s.RecordAttempt(ctx, "tenant-a", id, webhooks.Attempt{Delivery: 1, At: time.Now(), Status: 500},
			webhooks.Next{State: webhooks.StatePending, At: time.Now()})
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	db, err := pebble.Open(dir, &pebble.Options{})
	require.NoError(t, err)
	require.NoError(t, db.Flush())
	require.NoError(t, db.Close())

	secrets := [][]byte{[]byte("Jane Q. Applicant"), []byte("Applicant"), []byte("1980-02-29"), []byte("s3cr3t-token"), []byte("receiver.example")}
	files := 0
	require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, s := range secrets {
			require.False(t, bytes.Contains(data, s), "%q found in %s", s, filepath.Base(path))
		}
		return nil
	}))
	require.Positive(t, files)

	s = open(t, dir, k)
	r, err := s.Get(ctx, "tenant-a", "e1")
	require.NoError(t, err, "still readable after the flush")
	require.Contains(t, string(r.Body), "Jane Q. Applicant")
}

// TestWrongKey: records sealed under another key are reported as corrupt,
// not returned.
func TestWrongKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, keyring(t))
	_, err := s.Enqueue(ctx, webhookstest.NewEvent("t1", "e"))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = open(t, dir, keyring(t))
	_, err = s.Get(ctx, "t1", "e")
	require.ErrorIs(t, err, webhooks.ErrCorrupt)
	due, err := s.Due(ctx, time.Now(), 10)
	require.ErrorIs(t, err, webhooks.ErrCorrupt)
	require.Empty(t, due)
	rs, err := s.List(ctx, "t1", webhooks.Filter{})
	require.ErrorIs(t, err, webhooks.ErrCorrupt)
	require.Empty(t, rs)
}
