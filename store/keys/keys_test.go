package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func testMaster(t testing.TB) Master {
	t.Helper()
	m, err := FileMaster(filepath.Join(t.TempDir(), "keys", "master.key"))
	require.NoError(t, err)
	return m
}

func openRing(t testing.TB, dir string, m Master, opts ...Option) *Ring {
	t.Helper()
	r, err := Open(context.Background(), dir, m, opts...)
	require.NoError(t, err)
	return r
}

// rawGet reads a stored record from an open ring.
func rawGet(t *testing.T, r *Ring, k []byte) []byte {
	t.Helper()
	v, found, err := r.getRecord(k)
	require.NoError(t, err)
	require.True(t, found, "record %q", k)
	return v
}

// wrappedPart is the random part of a data key record (nonce and wrapped
// key): Pebble's block compression may fold the record's constant header
// into a back-reference, but not these bytes.
func wrappedPart(rec []byte) []byte { return rec[5:] }

// filesContaining returns the files under dir that contain needle.
func filesContaining(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, filepath.Base(path))
		}
		return nil
	})
	require.NoError(t, err)
	return hits
}

func TestSealOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	r := openRing(t, t.TempDir(), testMaster(t))
	defer r.Close()

	pt := []byte("Anna Maria Eriksson 1985-08-12")
	a, err := r.Seal(ctx, "acme", "s1", pt, []byte("pii"))
	require.NoError(t, err)
	b, err := r.Seal(ctx, "acme", "s1", pt, []byte("pii"))
	require.NoError(t, err)
	require.NotEqual(t, a, b, "fresh nonce per seal")
	require.False(t, bytes.Contains(a, pt))

	got, err := r.Open(ctx, "acme", "s1", a, []byte("pii"))
	require.NoError(t, err)
	require.Equal(t, pt, got)
	got, err = r.Open(ctx, "acme", "s1", b, []byte("pii"))
	require.NoError(t, err)
	require.Equal(t, pt, got)

	// Another session of the same tenant, and the same session id in
	// another tenant, have their own keys.
	_, err = r.Seal(ctx, "acme", "s2", []byte("x"), nil)
	require.NoError(t, err)
	_, err = r.Seal(ctx, "other", "s1", []byte("x"), nil)
	require.NoError(t, err)

	_, err = r.Open(ctx, "acme", "s2", a, []byte("pii"))
	require.ErrorIs(t, err, ErrCorrupt, "moved to another session")
	_, err = r.Open(ctx, "other", "s1", a, []byte("pii"))
	require.ErrorIs(t, err, ErrCorrupt, "moved to another tenant")
	_, err = r.Open(ctx, "acme", "s1", a, []byte("other"))
	require.ErrorIs(t, err, ErrCorrupt, "other aad")
	_, err = r.Open(ctx, "acme", "s1", a, nil)
	require.ErrorIs(t, err, ErrCorrupt, "no aad")
	for i := range a {
		c := bytes.Clone(a)
		c[i] ^= 0x01
		_, err := r.Open(ctx, "acme", "s1", c, []byte("pii"))
		require.ErrorIs(t, err, ErrCorrupt, "byte %d flipped", i)
	}
	_, err = r.Open(ctx, "acme", "s1", a[:sealedOverhead-1], []byte("pii"))
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = r.Open(ctx, "acme", "s1", nil, nil)
	require.ErrorIs(t, err, ErrCorrupt)

	empty, err := r.Seal(ctx, "acme", "s1", nil, nil)
	require.NoError(t, err)
	got, err = r.Open(ctx, "acme", "s1", empty, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestWrappedDataKeyBoundToSession(t *testing.T) {
	ctx := context.Background()
	r := openRing(t, t.TempDir(), testMaster(t))
	defer r.Close()
	a, err := r.Seal(ctx, "acme", "s1", []byte("secret"), nil)
	require.NoError(t, err)
	_, err = r.Seal(ctx, "acme", "s2", []byte("x"), nil)
	require.NoError(t, err)

	// Copy s1's wrapped data key over s2's: it must not unwrap there, so
	// s1's data does not open as s2's either.
	rec := rawGet(t, r, DataKeyKey("acme", "s1"))
	require.NoError(t, r.db.Set(DataKeyKey("acme", "s2"), rec, pebble.Sync))
	r.dataKeys.remove(sessionID{"acme", "s2"})
	_, err = r.Open(ctx, "acme", "s2", a, nil)
	require.ErrorIs(t, err, ErrCorrupt)

	// A wrapped tenant key moved to another tenant does not unwrap.
	_, err = r.Seal(ctx, "other", "s9", []byte("x"), nil)
	require.NoError(t, err)
	trec := rawGet(t, r, tenantKeyKey("acme", 1))
	require.NoError(t, r.db.Set(tenantKeyKey("other", 1), trec, pebble.Sync))
	r.tenantKeys.remove(tenantVersion{"other", 1})
	r.dataKeys.remove(sessionID{"other", "s9"})
	_, err = r.Seal(ctx, "other", "s9", []byte("x"), nil)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestOpenWithoutKey(t *testing.T) {
	ctx := context.Background()
	r := openRing(t, t.TempDir(), testMaster(t))
	defer r.Close()
	_, err := r.Open(ctx, "acme", "never", []byte{1, 2, 3}, nil)
	require.ErrorIs(t, err, ErrNotFound)
	v, err := r.TenantVersion(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, 0, v, "opening creates nothing")
}

func TestInvalidArguments(t *testing.T) {
	ctx := context.Background()
	_, err := Open(ctx, "", testMaster(t))
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = Open(ctx, t.TempDir(), nil)
	require.ErrorIs(t, err, ErrInvalidArgument)

	r := openRing(t, t.TempDir(), testMaster(t))
	_, err = r.Seal(ctx, "", "s", nil, nil)
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = r.Seal(ctx, "t", "", nil, nil)
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = r.Open(ctx, string(make([]byte, MaxIDLen+1)), "s", nil, nil)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.ErrorIs(t, r.Shred(ctx, "t", ""), ErrInvalidArgument)
	_, err = r.RotateTenant(ctx, "")
	require.ErrorIs(t, err, ErrInvalidArgument)

	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")
	_, err = r.Seal(ctx, "t", "s", nil, nil)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, r.Shred(ctx, "t", "s"), ErrClosed)
}

func TestShred(t *testing.T) {
	ctx := context.Background()
	r := openRing(t, t.TempDir(), testMaster(t))
	defer r.Close()
	a, err := r.Seal(ctx, "acme", "s1", []byte("secret"), nil)
	require.NoError(t, err)
	keep, err := r.Seal(ctx, "acme", "s2", []byte("kept"), nil)
	require.NoError(t, err)
	_, cached := r.dataKeys.get(sessionID{"acme", "s1"})
	require.True(t, cached)

	require.NoError(t, r.Shred(ctx, "acme", "s1"))
	_, cached = r.dataKeys.get(sessionID{"acme", "s1"})
	require.False(t, cached, "Shred drops the cached key")
	_, err = r.Open(ctx, "acme", "s1", a, nil)
	require.ErrorIs(t, err, ErrShredded)
	_, err = r.Seal(ctx, "acme", "s1", []byte("again"), nil)
	require.ErrorIs(t, err, ErrShredded, "no new key for a shredded session")
	sh, err := r.Shredded(ctx, "acme", "s1")
	require.NoError(t, err)
	require.True(t, sh)
	require.NoError(t, r.Shred(ctx, "acme", "s1"), "idempotent")

	got, err := r.Open(ctx, "acme", "s2", keep, nil)
	require.NoError(t, err)
	require.Equal(t, []byte("kept"), got)
	sh, err = r.Shredded(ctx, "acme", "s2")
	require.NoError(t, err)
	require.False(t, sh)

	// Erasure before any data: later seals are refused.
	require.NoError(t, r.Shred(ctx, "acme", "early"))
	_, err = r.Seal(ctx, "acme", "early", []byte("x"), nil)
	require.ErrorIs(t, err, ErrShredded)
}

// TestShredErasesFromFiles checks the directory byte for byte: before the
// shred the wrapped data key is in Pebble's files (the control: the scan
// finds it), after Shred and Close it is in none of them, whether it was
// still in the WAL or already in an sstable.
func TestShredErasesFromFiles(t *testing.T) {
	for _, inSST := range []bool{false, true} {
		t.Run(fmt.Sprintf("flushed=%v", inSST), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			m := testMaster(t)
			r := openRing(t, dir, m)
			for i := range 50 {
				_, err := r.Seal(ctx, "acme", fmt.Sprintf("other-%d", i), []byte("x"), nil)
				require.NoError(t, err)
			}
			sealed, err := r.Seal(ctx, "acme", "victim", []byte("secret"), nil)
			require.NoError(t, err)
			victim := wrappedPart(rawGet(t, r, DataKeyKey("acme", "victim")))
			survivor := wrappedPart(rawGet(t, r, DataKeyKey("acme", "other-7")))
			if inSST {
				require.NoError(t, r.db.Flush())
				require.NoError(t, r.db.Compact(ctx, []byte("d/"), []byte("d0"), false))
			}
			require.NoError(t, r.Close())
			require.NotEmpty(t, filesContaining(t, dir, victim), "control: the scan finds the wrapped key before the shred")

			r = openRing(t, dir, m)
			// A read fills the cache before the shred.
			_, err = r.Open(ctx, "acme", "victim", sealed, nil)
			require.NoError(t, err)
			require.NoError(t, r.Shred(ctx, "acme", "victim"))
			require.Empty(t, filesContaining(t, dir, victim), "gone when Shred returns")
			require.NoError(t, r.Close())
			require.Empty(t, filesContaining(t, dir, victim), "gone after Close")
			require.NotEmpty(t, filesContaining(t, dir, survivor), "other sessions' keys stay")

			r = openRing(t, dir, m)
			defer r.Close()
			_, err = r.Open(ctx, "acme", "victim", sealed, nil)
			require.ErrorIs(t, err, ErrShredded, "after restart")
		})
	}
}

func TestRotateTenant(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := testMaster(t)
	r := openRing(t, dir, m)

	sealed := map[string][]byte{}
	oldRecs := map[string][]byte{}
	for _, s := range []string{"s1", "s2", "s3"} {
		v, err := r.Seal(ctx, "acme", s, []byte("pii of "+s), []byte(s))
		require.NoError(t, err)
		sealed[s] = v
		oldRecs[s] = wrappedPart(rawGet(t, r, DataKeyKey("acme", s)))
	}
	other, err := r.Seal(ctx, "beta", "s1", []byte("beta"), nil)
	require.NoError(t, err)
	betaRec := rawGet(t, r, DataKeyKey("beta", "s1"))
	oldTenantRec := rawGet(t, r, tenantKeyKey("acme", 1))
	require.NoError(t, r.Shred(ctx, "acme", "s3"))

	v, err := r.TenantVersion(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, 1, v)
	v, err = r.RotateTenant(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, 2, v)
	v, err = r.TenantVersion(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, 2, v)

	vs, err := r.tenantVersions("acme")
	require.NoError(t, err)
	require.Equal(t, []uint32{2}, vs, "version 1 retired")
	for _, s := range []string{"s1", "s2"} {
		rec := rawGet(t, r, DataKeyKey("acme", s))
		require.NotEqual(t, oldRecs[s], wrappedPart(rec), "re-wrapped")
		require.Equal(t, uint32(2), binary.BigEndian.Uint32(rec[1:]))
	}
	_, found, err := r.getRecord(DataKeyKey("acme", "s3"))
	require.NoError(t, err)
	require.False(t, found, "a shredded key is not brought back")
	require.Equal(t, betaRec, rawGet(t, r, DataKeyKey("beta", "s1")), "other tenants untouched")

	// New sessions get keys under the new version.
	_, err = r.Seal(ctx, "acme", "s4", []byte("new"), nil)
	require.NoError(t, err)
	require.Equal(t, uint32(2), binary.BigEndian.Uint32(rawGet(t, r, DataKeyKey("acme", "s4"))[1:]))

	// Old data opens, without the cache (restart).
	require.NoError(t, r.Close())
	require.Empty(t, filesContaining(t, dir, oldTenantRec[len(oldTenantRec)-48:]), "retired tenant key purged")
	for _, s := range []string{"s1", "s2"} {
		require.Empty(t, filesContaining(t, dir, oldRecs[s]), "old wrapping of %s purged", s)
	}
	r = openRing(t, dir, m)
	defer r.Close()
	for _, s := range []string{"s1", "s2"} {
		got, err := r.Open(ctx, "acme", s, sealed[s], []byte(s))
		require.NoError(t, err)
		require.Equal(t, []byte("pii of "+s), got)
	}
	_, err = r.Open(ctx, "acme", "s3", sealed["s3"], []byte("s3"))
	require.ErrorIs(t, err, ErrShredded)
	got, err := r.Open(ctx, "beta", "s1", other, nil)
	require.NoError(t, err)
	require.Equal(t, []byte("beta"), got)

	// A tenant without keys gets version 1.
	v, err = r.RotateTenant(ctx, "gamma")
	require.NoError(t, err)
	require.Equal(t, 1, v)
}

func TestInterruptedRotationFinishedOnOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := testMaster(t)
	r := openRing(t, dir, m)
	sealed, err := r.Seal(ctx, "acme", "s1", []byte("pii"), nil)
	require.NoError(t, err)
	// A crash right after the new version was stored.
	mu := r.tenantLock("acme")
	mu.Lock()
	require.NoError(t, r.addTenantVersion(ctx, "acme", 2))
	mu.Unlock()
	require.NoError(t, r.Close())

	r = openRing(t, dir, m)
	defer r.Close()
	vs, err := r.tenantVersions("acme")
	require.NoError(t, err)
	require.Equal(t, []uint32{2}, vs)
	require.Equal(t, uint32(2), binary.BigEndian.Uint32(rawGet(t, r, DataKeyKey("acme", "s1"))[1:]))
	got, err := r.Open(ctx, "acme", "s1", sealed, nil)
	require.NoError(t, err)
	require.Equal(t, []byte("pii"), got)
}

func TestRestartKeepsKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keyPath := filepath.Join(t.TempDir(), "keys", "master.key")
	m, err := FileMaster(keyPath)
	require.NoError(t, err)
	r := openRing(t, dir, m)
	sealed, err := r.Seal(ctx, "acme", "s1", []byte("pii"), nil)
	require.NoError(t, err)
	require.NoError(t, r.Close())

	m2, err := FileMaster(keyPath) // the same key, read back from the file
	require.NoError(t, err)
	require.Equal(t, m.ID(), m2.ID())
	r = openRing(t, dir, m2)
	got, err := r.Open(ctx, "acme", "s1", sealed, nil)
	require.NoError(t, err)
	require.Equal(t, []byte("pii"), got)
	require.NoError(t, r.Close())

	_, err = Open(ctx, dir, testMaster(t))
	require.ErrorIs(t, err, ErrWrongMaster)
}

func TestDataKeyCacheBounded(t *testing.T) {
	ctx := context.Background()
	r := openRing(t, t.TempDir(), testMaster(t), WithDataKeyCache(2), WithTenantKeyCache(0))
	defer r.Close()
	var sealed [][]byte
	for i := range 5 {
		v, err := r.Seal(ctx, "acme", fmt.Sprint(i), []byte{byte(i)}, nil)
		require.NoError(t, err)
		sealed = append(sealed, v)
	}
	require.Equal(t, 2, r.dataKeys.len())
	require.Equal(t, 0, r.tenantKeys.len())
	for i, v := range sealed {
		got, err := r.Open(ctx, "acme", fmt.Sprint(i), v, nil)
		require.NoError(t, err)
		require.Equal(t, []byte{byte(i)}, got)
	}
}

// TestConcurrent: racing first seals of one session must agree on one data
// key, and seals of new sessions racing a rotation must all stay readable.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	r := openRing(t, t.TempDir(), testMaster(t), WithDataKeyCache(0))
	defer r.Close()

	const n = 16
	out := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := r.Seal(ctx, "acme", "same", []byte{byte(i)}, nil)
			if err == nil {
				out[i] = v
			}
		}()
	}
	wg.Wait()
	for i, v := range out {
		require.NotNil(t, v)
		got, err := r.Open(ctx, "acme", "same", v, nil)
		require.NoError(t, err)
		require.Equal(t, []byte{byte(i)}, got)
	}

	sealed := make([][]byte, 64)
	errs := make(chan error, 64+3)
	for i := range sealed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := r.Seal(ctx, "acme", fmt.Sprint("s", i), []byte{byte(i)}, nil)
			sealed[i] = v
			errs <- err
		}()
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.RotateTenant(ctx, "acme")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for i, v := range sealed {
		got, err := r.Open(ctx, "acme", fmt.Sprint("s", i), v, nil)
		require.NoError(t, err)
		require.Equal(t, []byte{byte(i)}, got)
	}
	vs, err := r.tenantVersions("acme")
	require.NoError(t, err)
	require.Equal(t, []uint32{4}, vs)
}

func TestFileMaster(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys", "master.key")
	m, err := FileMaster(path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.Regexp(t, `^file:[0-9a-f]{16}$`, m.ID())

	key := make([]byte, keySize)
	_, err = rand.Read(key)
	require.NoError(t, err)
	w, err := m.Wrap(ctx, key, []byte("a"))
	require.NoError(t, err)
	require.False(t, bytes.Contains(w, key))
	got, err := m.Unwrap(ctx, w, []byte("a"))
	require.NoError(t, err)
	require.Equal(t, key, got)
	_, err = m.Unwrap(ctx, w, []byte("b"))
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = m.Unwrap(ctx, w[:10], []byte("a"))
	require.ErrorIs(t, err, ErrCorrupt)

	other, err := FileMaster(filepath.Join(t.TempDir(), "m.key"))
	require.NoError(t, err)
	require.NotEqual(t, m.ID(), other.ID())
	_, err = other.Unwrap(ctx, w, []byte("a"))
	require.ErrorIs(t, err, ErrCorrupt)

	bad := filepath.Join(t.TempDir(), "short.key")
	require.NoError(t, os.WriteFile(bad, []byte("short"), 0o600))
	_, err = FileMaster(bad)
	require.Error(t, err)
	open := filepath.Join(t.TempDir(), "open.key")
	require.NoError(t, os.WriteFile(open, key, 0o644))
	_, err = FileMaster(open)
	require.Error(t, err)
	_, err = NewMaster(key[:16])
	require.ErrorIs(t, err, ErrInvalidArgument)
}

// TestNoWALRecycling: Pebble keeps obsolete WALs for reuse unless the
// cleaner carries the marker noRecycleCleaner borrows from ArchiveCleaner.
// The control shows that the default cleaner does recycle.
func TestNoWALRecycling(t *testing.T) {
	recycled := func(cleaner pebble.Cleaner) int64 {
		db, err := pebble.Open(t.TempDir(), &pebble.Options{Cleaner: cleaner, FS: scrubFS{FS: vfs.Default}, Logger: quietLogger{}})
		require.NoError(t, err)
		defer db.Close()
		for i := range 4 {
			require.NoError(t, db.Set([]byte{byte(i)}, []byte("v"), pebble.Sync))
			require.NoError(t, db.Flush())
		}
		return db.Metrics().WAL.ObsoleteFiles
	}
	require.Positive(t, recycled(pebble.DeleteCleaner{}), "control: the default cleaner recycles WALs")
	require.Zero(t, recycled(noRecycleCleaner{}))
}

func TestCleanerDeletesAndScrubs(t *testing.T) {
	var c pebble.Cleaner = noRecycleCleaner{}
	require.Equal(t, "delete", fmt.Sprint(c))
	dir := t.TempDir()
	f := filepath.Join(dir, "000001.log")
	require.NoError(t, os.WriteFile(f, []byte("secret"), 0o600))
	// A second link lets the test see the blocks the removed name had.
	require.NoError(t, os.Link(f, filepath.Join(dir, "peek")))
	require.NoError(t, c.Clean(scrubFS{FS: vfs.Default}, 0, f))
	_, err := os.Stat(f)
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = os.Stat(filepath.Join(dir, "archive"))
	require.ErrorIs(t, err, fs.ErrNotExist, "not archived")
	b, err := os.ReadFile(filepath.Join(dir, "peek"))
	require.NoError(t, err)
	require.Equal(t, make([]byte, 6), b, "overwritten with zeros before the unlink")
}

func BenchmarkSealOpen1MiB(b *testing.B) {
	ctx := context.Background()
	r := openRing(b, b.TempDir(), testMaster(b))
	defer r.Close()
	img := make([]byte, 1<<20)
	_, _ = rand.Read(img)
	aad := []byte("selfie-0")
	sealed, err := r.Seal(ctx, "acme", "bench", img, aad)
	require.NoError(b, err)
	b.Run("Seal", func(b *testing.B) {
		b.SetBytes(int64(len(img)))
		for b.Loop() {
			if _, err := r.Seal(ctx, "acme", "bench", img, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Open", func(b *testing.B) {
		b.SetBytes(int64(len(img)))
		for b.Loop() {
			if _, err := r.Open(ctx, "acme", "bench", sealed, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}
