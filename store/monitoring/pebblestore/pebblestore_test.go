package pebblestore_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/store/monitoring"
	"github.com/openekyc/ekyc/store/monitoring/monitoringtest"
	"github.com/openekyc/ekyc/store/monitoring/pebblestore"
)

func keyring(t *testing.T, dir string) *envelope.Keyring {
	t.Helper()
	k, err := envelope.LoadOrCreateKeyFile(filepath.Join(dir, "keys", "master.key"))
	require.NoError(t, err)
	return k
}

func open(t *testing.T, dir string) *pebblestore.Store {
	t.Helper()
	s, err := pebblestore.Open(filepath.Join(dir, "monitoring"), keyring(t, dir))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestMonitoringConformance(t *testing.T) {
	monitoringtest.Run(t, func(t *testing.T) monitoring.Store { return open(t, t.TempDir()) })
}

func TestMonitoringOpenArguments(t *testing.T) {
	_, err := pebblestore.Open("", keyring(t, t.TempDir()))
	require.ErrorIs(t, err, monitoring.ErrInvalidArgument)
	_, err = pebblestore.Open(t.TempDir(), nil)
	require.ErrorIs(t, err, monitoring.ErrInvalidArgument)
}

func TestMonitoringSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	require.NoError(t, s.Enrol(ctx, monitoringtest.NewSubject("t1", "s-1", "ofac-1")))
	require.NoError(t, s.SetKnownHits(ctx, "t1", "s-1", []string{"ofac-1", "un-2"}))
	require.NoError(t, s.Close())

	s = open(t, dir)
	got := monitoringtest.All(ctx, t, s, "t1")
	require.Len(t, got, 1)
	require.Equal(t, monitoringtest.Applicant, got[0].Query)
	require.Equal(t, []string{"ofac-1", "un-2"}, got[0].KnownHits)
}

// TestMonitoringNoPIIAtRest writes subjects, closes the store and greps every
// file of the Pebble directory (WAL, sstables, manifest) for the applicant's
// name, its parts, date of birth and document number: none may appear.
func TestMonitoringNoPIIAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	for _, id := range []string{"sess-1", "sess-2", "sess-3"} {
		require.NoError(t, s.Enrol(ctx, monitoringtest.NewSubject("tenant-a", id, "ofac-1")))
		require.NoError(t, s.SetKnownHits(ctx, "tenant-a", id, []string{"ofac-1", "ftm-Q1"}))
	}
	// Flush so the records reach an sstable as well as the WAL.
	require.NoError(t, s.Close())
	db, err := pebble.Open(filepath.Join(dir, "monitoring"), &pebble.Options{})
	require.NoError(t, err)
	require.NoError(t, db.Flush())
	require.NoError(t, db.Close())
	s = open(t, dir)
	require.Len(t, monitoringtest.All(ctx, t, s, "tenant-a"), 3, "still readable after the flush")
	require.NoError(t, s.Close())

	a := monitoringtest.Applicant
	needles := []string{a.Name, "Eriksson", "ERIKSSON", "Anna Maria", "1985-08-12", "L898902C3", `"year":1985`}
	var files, sessionSeen int
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, "monitoring"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		files++
		for _, n := range needles {
			require.False(t, bytes.Contains(raw, []byte(n)), "%s contains %q", path, n)
			require.False(t, bytes.Contains(bytes.ToLower(raw), []byte(strings.ToLower(n))), "%s contains %q (any case)", path, n)
		}
		if bytes.Contains(raw, []byte("sess-1")) {
			sessionSeen++
		}
		return nil
	}))
	require.Greater(t, files, 2)
	require.Positive(t, sessionSeen, "the grep does see the records' keys: the files are not empty or compressed away")
}

// TestMonitoringCorruptRecord: a record that does not open is skipped and
// reported (ErrCorrupt); the other subjects are still served. A value moved
// under another key does not open either (the key is authenticated).
func TestMonitoringCorruptRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	for _, id := range []string{"s-1", "s-2", "s-3"} {
		require.NoError(t, s.Enrol(ctx, monitoringtest.NewSubject("t1", id)))
	}
	require.NoError(t, s.Close())

	db, err := pebble.Open(filepath.Join(dir, "monitoring"), &pebble.Options{})
	require.NoError(t, err)
	v, closer, err := db.Get(pebblestore.Key("t1", "s-1"))
	require.NoError(t, err)
	moved := bytes.Clone(v)
	closer.Close()
	require.NoError(t, db.Set(pebblestore.Key("t1", "s-2"), moved, pebble.Sync)) // s-1's record under s-2's key
	require.NoError(t, db.Close())

	s = open(t, dir)
	var got []string
	err = s.Subjects(ctx, "t1", func(sub monitoring.Subject) error {
		got = append(got, sub.Session)
		return nil
	})
	require.ErrorIs(t, err, monitoring.ErrCorrupt)
	require.Contains(t, err.Error(), `"s-2"`)
	require.Equal(t, []string{"s-1", "s-3"}, got)
	require.ErrorIs(t, s.SetKnownHits(ctx, "t1", "s-2", nil), monitoring.ErrCorrupt)
	require.NoError(t, s.Close())

	// Another master key opens nothing.
	other, err := envelope.New(bytes.Repeat([]byte{1}, envelope.KeySize))
	require.NoError(t, err)
	s2, err := pebblestore.Open(filepath.Join(dir, "monitoring"), other, pebblestore.WithClock(time.Now))
	require.NoError(t, err)
	defer s2.Close()
	err = s2.Subjects(ctx, "t1", func(monitoring.Subject) error { t.Fatal("opened with the wrong key"); return nil })
	require.ErrorIs(t, err, monitoring.ErrCorrupt)
	require.ErrorIs(t, err, envelope.ErrWrongKey)
}
