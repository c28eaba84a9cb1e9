package blobs_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/memblob"

	"github.com/openekyc/ekyc/store/blobs"
	"github.com/openekyc/ekyc/store/keys"
)

// env is a data directory laid out as a node lays it out.
type env struct {
	dataDir string
	master  keys.Master
	ring    *keys.Ring
	store   *blobs.Store
	url     string
}

func (e *env) ringDir() string { return filepath.Join(e.dataDir, "keys", "ring") }

func newEnv(t *testing.T, bucketURL string, opts ...blobs.Option) *env {
	t.Helper()
	e := &env{dataDir: t.TempDir()}
	m, err := keys.FileMaster(filepath.Join(e.dataDir, "keys", "master.key"))
	require.NoError(t, err)
	e.master = m
	if bucketURL == "" {
		bucketURL, err = blobs.FileURL(filepath.Join(e.dataDir, "blobs"))
		require.NoError(t, err)
	}
	e.url = bucketURL
	e.open(t, opts...)
	t.Cleanup(e.close)
	return e
}

func (e *env) open(t *testing.T, opts ...blobs.Option) {
	t.Helper()
	ctx := context.Background()
	r, err := keys.Open(ctx, e.ringDir(), e.master)
	require.NoError(t, err)
	s, err := blobs.Open(ctx, e.url, r, opts...)
	require.NoError(t, err)
	e.ring, e.store = r, s
}

func (e *env) close() {
	if e.store != nil {
		_ = e.store.Close()
		e.store = nil
	}
	if e.ring != nil {
		_ = e.ring.Close()
		e.ring = nil
	}
}

// rawObjects reads every object of the bucket as stored.
func rawObjects(t *testing.T, bucketURL string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, withQuery(bucketURL, "metadata", "skip"))
	require.NoError(t, err)
	defer b.Close()
	out := map[string][]byte{}
	it := b.List(nil)
	for {
		o, err := it.Next(ctx)
		if err != nil {
			break
		}
		if o.IsDir {
			continue
		}
		v, err := b.ReadAll(ctx, o.Key)
		require.NoError(t, err)
		out[o.Key] = v
	}
	return out
}

// withQuery adds k=v to a bucket URL's query unless the scheme has no use
// for it (metadata=skip is fileblob's).
func withQuery(bucketURL, k, v string) string {
	if !strings.HasPrefix(bucketURL, "file://") {
		return bucketURL
	}
	sep := "?"
	if strings.Contains(bucketURL, "?") {
		sep = "&"
	}
	return bucketURL + sep + k + "=" + v
}

// backendURL returns the bucket URL of a test backend: "file" (a directory
// of the test's data dir: ""), "mem", or "s3" — the S3-compatible server
// named by EKYC_TEST_S3 (deploy/local/s3.sh), under a prefix of its own so
// runs never see each other's objects; the subtest is skipped without it.
func backendURL(t *testing.T, backend string) string {
	t.Helper()
	switch backend {
	case "mem":
		return "mem://"
	case "s3":
		u := os.Getenv("EKYC_TEST_S3")
		if u == "" {
			t.Skip("EKYC_TEST_S3 not set: no S3-compatible server; run deploy/local/s3.sh start (make itest)")
		}
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		var rnd [6]byte
		_, _ = rand.Read(rnd[:])
		return u + sep + "prefix=" + url.QueryEscape(fmt.Sprintf("test-%x/", rnd))
	}
	return ""
}

// scan returns, for each needle, the files under dir that contain it.
func scan(t *testing.T, dir string, needles map[string][]byte) map[string][]string {
	t.Helper()
	hits := map[string][]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for what, n := range needles {
			if bytes.Contains(b, n) {
				rel, _ := filepath.Rel(dir, path)
				hits[what] = append(hits[what], rel)
			}
		}
		return nil
	})
	require.NoError(t, err)
	return hits
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func readImage(t testing.TB) []byte {
	t.Helper()
	img, err := os.ReadFile(filepath.Join("..", "..", "testdata", "faces", "obama.jpg"))
	require.NoError(t, err)
	return img
}

// wrappedDataKey reads the random part (nonce and wrapped key) of a
// session's data key record straight from the ring's Pebble directory; the
// ring must be closed.
func wrappedDataKey(t *testing.T, ringDir, tenant, session string) []byte {
	t.Helper()
	db, err := pebble.Open(ringDir, &pebble.Options{ReadOnly: true, Logger: quietLogger{}})
	require.NoError(t, err)
	defer db.Close()
	v, closer, err := db.Get(keys.DataKeyKey(tenant, session))
	require.NoError(t, err)
	defer closer.Close()
	require.Greater(t, len(v), 5)
	return bytes.Clone(v[5:])
}

func TestRoundTrip(t *testing.T) {
	for _, backend := range []string{"file", "mem", "s3"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, backendURL(t, backend))
			img := readImage(t)
			require.NoError(t, e.store.Put(ctx, "acme", "s1", "selfie-0", "image/jpeg", img))
			require.NoError(t, e.store.Put(ctx, "acme", "s1", "document-front", "image/png", []byte("front")))
			require.NoError(t, e.store.Put(ctx, "acme", "s2", "selfie-0", "", nil))

			got, ct, err := e.store.Get(ctx, "acme", "s1", "selfie-0")
			require.NoError(t, err)
			require.Equal(t, img, got)
			require.Equal(t, "image/jpeg", ct)
			got, ct, err = e.store.Get(ctx, "acme", "s2", "selfie-0")
			require.NoError(t, err)
			require.Empty(t, got)
			require.Empty(t, ct)

			require.NoError(t, e.store.Put(ctx, "acme", "s1", "document-front", "image/webp", []byte("front v2")))
			got, ct, err = e.store.Get(ctx, "acme", "s1", "document-front")
			require.NoError(t, err)
			require.Equal(t, []byte("front v2"), got)
			require.Equal(t, "image/webp", ct)

			names, err := e.store.List(ctx, "acme", "s1")
			require.NoError(t, err)
			require.Equal(t, []string{"document-front", "selfie-0"}, names)
			names, err = e.store.List(ctx, "acme", "nobody")
			require.NoError(t, err)
			require.Empty(t, names)

			_, _, err = e.store.Get(ctx, "acme", "s1", "selfie-1")
			require.ErrorIs(t, err, blobs.ErrNotFound)
			_, _, err = e.store.Get(ctx, "other", "s1", "selfie-0")
			require.ErrorIs(t, err, blobs.ErrNotFound)

			// The stored objects are ciphertext under keys without ids.
			if backend != "mem" {
				raw := rawObjects(t, e.url)
				require.Len(t, raw, 3)
				for k, v := range raw {
					require.NotContains(t, k, "acme")
					require.NotContains(t, k, "s1")
					require.False(t, bytes.Contains(v, []byte("front")), k)
					require.False(t, bytes.Contains(v, []byte("image/")), "content type sealed too")
				}
				require.Contains(t, raw, blobs.ObjectKey("acme", "s1", "selfie-0"))
			}
		})
	}
}

func TestRestartKeepsData(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	require.NoError(t, e.store.Put(ctx, "acme", "s1", "selfie-0", "image/jpeg", []byte("jpeg bytes")))
	e.close()
	e.open(t)
	got, ct, err := e.store.Get(ctx, "acme", "s1", "selfie-0")
	require.NoError(t, err)
	require.Equal(t, []byte("jpeg bytes"), got)
	require.Equal(t, "image/jpeg", ct)
}

// TestMovedObjectsDoNotOpen swaps stored ciphertext between names,
// sessions and tenants: none of it opens.
func TestMovedObjectsDoNotOpen(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	for _, p := range [][3]string{{"acme", "s1", "selfie-0"}, {"acme", "s1", "selfie-1"}, {"acme", "s2", "selfie-0"}, {"beta", "s1", "selfie-0"}} {
		require.NoError(t, e.store.Put(ctx, p[0], p[1], p[2], "image/jpeg", []byte("data of "+strings.Join(p[:], "/"))))
	}
	b, err := blob.OpenBucket(ctx, withQuery(e.url, "metadata", "skip"))
	require.NoError(t, err)
	defer b.Close()
	src, err := b.ReadAll(ctx, blobs.ObjectKey("acme", "s1", "selfie-0"))
	require.NoError(t, err)
	for _, dst := range [][3]string{{"acme", "s1", "selfie-1"}, {"acme", "s2", "selfie-0"}, {"beta", "s1", "selfie-0"}} {
		require.NoError(t, b.WriteAll(ctx, blobs.ObjectKey(dst[0], dst[1], dst[2]), src, nil))
		_, _, err := e.store.Get(ctx, dst[0], dst[1], dst[2])
		require.ErrorIs(t, err, keys.ErrCorrupt, "%v", dst)
	}
	got, _, err := e.store.Get(ctx, "acme", "s1", "selfie-0")
	require.NoError(t, err)
	require.Equal(t, []byte("data of acme/s1/selfie-0"), got)
}

// TestRotateTenantKeepsCiphertext: rotation changes the tenant key version
// and re-wraps data keys only; the stored objects are byte for byte the
// same, and still open (also after a restart).
func TestRotateTenantKeepsCiphertext(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	img := readImage(t)
	require.NoError(t, e.store.Put(ctx, "acme", "s1", "selfie-0", "image/jpeg", img))
	require.NoError(t, e.store.Put(ctx, "acme", "s2", "document-front", "image/jpeg", img[:1000]))
	before := rawObjects(t, e.url)
	require.Len(t, before, 2)
	v, err := e.ring.TenantVersion(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, 1, v)

	v, err = e.ring.RotateTenant(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, 2, v)
	require.Equal(t, before, rawObjects(t, e.url), "ciphertext untouched")

	e.close()
	e.open(t)
	v, err = e.ring.TenantVersion(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, 2, v)
	got, _, err := e.store.Get(ctx, "acme", "s1", "selfie-0")
	require.NoError(t, err)
	require.Equal(t, img, got)
	got, _, err = e.store.Get(ctx, "acme", "s2", "document-front")
	require.NoError(t, err)
	require.Equal(t, img[:1000], got)
}

// TestNoPlaintextUnderDataDir writes a real image and an applicant's PII,
// then reads every file under the data directory (master key, the ring's
// Pebble WAL, sstables and manifests, the bucket's objects) and finds
// neither the image, nor any 32-byte window of it, nor the name. The
// control shows that the scan does find them when they are there.
func TestNoPlaintextUnderDataDir(t *testing.T) {
	ctx := context.Background()
	img := readImage(t)
	name := []byte("Annika Bergström-Lindqvist")
	needles := map[string][]byte{"image": img, "name": name}
	for off := len(img) / 4; off < 3*len(img)/4; off += 1021 {
		needles[fmt.Sprintf("image[%d:+32]", off)] = img[off : off+32]
	}

	control := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(control, "x"), append(append([]byte("pad"), img...), name...), 0o600))
	hits := scan(t, control, needles)
	require.Len(t, hits, len(needles), "control: the scan finds every needle")

	e := newEnv(t, "")
	pii := []byte(`{"full_name":"` + string(name) + `","date_of_birth":"1984-02-29","document_number":"X1234567"}`)
	require.NoError(t, e.store.Put(ctx, "acme", "s1", "selfie-0", "image/jpeg", img))
	require.NoError(t, e.store.Put(ctx, "acme", "s1", "applicant", "application/json", pii))
	sealed, err := e.ring.Seal(ctx, "acme", "s1", pii, []byte("record"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(e.dataDir, "sealed-record"), sealed, 0o600))
	_, err = e.ring.RotateTenant(ctx, "acme") // writes, flushes and compacts the ring
	require.NoError(t, err)

	require.Empty(t, scan(t, e.dataDir, needles), "while open")
	e.close()
	require.Empty(t, scan(t, e.dataDir, needles), "after close")

	e.open(t)
	got, _, err := e.store.Get(ctx, "acme", "s1", "applicant")
	require.NoError(t, err)
	require.Equal(t, pii, got, "and the data is still there")
}

// TestDeleteSessionErasure: after DeleteSession the objects are gone, a
// copy of their ciphertext kept aside cannot be decrypted by the ring, and
// the session's wrapped data key is in no file under the data directory.
func TestDeleteSessionErasure(t *testing.T) {
	for _, backend := range []string{"file", "s3"} {
		t.Run(backend, func(t *testing.T) { deleteSessionErasure(t, backendURL(t, backend)) })
	}
}

func deleteSessionErasure(t *testing.T, bucketURL string) {
	ctx := context.Background()
	e := newEnv(t, bucketURL)
	img := readImage(t)
	require.NoError(t, e.store.Put(ctx, "acme", "s1", "selfie-0", "image/jpeg", img))
	require.NoError(t, e.store.Put(ctx, "acme", "s1", "applicant", "application/json", []byte(`{"full_name":"Annika"}`)))
	require.NoError(t, e.store.Put(ctx, "acme", "s2", "selfie-0", "image/jpeg", img[:500]))
	kept := rawObjects(t, e.url)[blobs.ObjectKey("acme", "s1", "selfie-0")]
	require.NotEmpty(t, kept)

	e.close()
	wrapped := wrappedDataKey(t, e.ringDir(), "acme", "s1")
	other := wrappedDataKey(t, e.ringDir(), "acme", "s2")
	require.NotEmpty(t, scan(t, e.dataDir, map[string][]byte{"key": wrapped}), "control: the wrapped key is on disk")
	e.open(t)

	require.NoError(t, e.store.DeleteSession(ctx, "acme", "s1"))
	require.NoError(t, e.store.DeleteSession(ctx, "acme", "s1"), "idempotent")
	_, _, err := e.store.Get(ctx, "acme", "s1", "selfie-0")
	require.ErrorIs(t, err, keys.ErrShredded)
	names, err := e.store.List(ctx, "acme", "s1")
	require.NoError(t, err)
	require.Empty(t, names)
	_, err = e.ring.Open(ctx, "acme", "s1", kept, nil)
	require.ErrorIs(t, err, keys.ErrShredded)
	_, err = e.ring.Open(ctx, "acme", "s1", kept, []byte("ekyc/blob/v1/selfie-0"))
	require.ErrorIs(t, err, keys.ErrShredded)
	require.ErrorIs(t, e.store.Put(ctx, "acme", "s1", "selfie-1", "image/jpeg", img), keys.ErrShredded)

	// Restoring the ciphertext (say, from an S3 object version) does not help.
	b, err := blob.OpenBucket(ctx, withQuery(e.url, "metadata", "skip"))
	require.NoError(t, err)
	require.NoError(t, b.WriteAll(ctx, blobs.ObjectKey("acme", "s1", "selfie-0"), kept, nil))
	require.NoError(t, b.Close())
	_, _, err = e.store.Get(ctx, "acme", "s1", "selfie-0")
	require.ErrorIs(t, err, keys.ErrShredded)

	got, _, err := e.store.Get(ctx, "acme", "s2", "selfie-0")
	require.NoError(t, err)
	require.Equal(t, img[:500], got, "other sessions untouched")

	e.close()
	hits := scan(t, e.dataDir, map[string][]byte{"s1 key": wrapped, "s2 key": other})
	require.NotContains(t, hits, "s1 key")
	require.Contains(t, hits, "s2 key", "control: the other session's key is still found")
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "", blobs.WithMaxSize(10))
	for _, n := range []string{"", ".hidden", "../x", "a/b", "a..b", "-x", "sp ace", strings.Repeat("a", blobs.MaxNameLen+1), "a\x00"} {
		require.ErrorIs(t, e.store.Put(ctx, "acme", "s1", n, "", nil), blobs.ErrInvalidArgument, "%q", n)
		_, _, err := e.store.Get(ctx, "acme", "s1", n)
		require.ErrorIs(t, err, blobs.ErrInvalidArgument, "%q", n)
	}
	require.ErrorIs(t, e.store.Put(ctx, "", "s1", "selfie-0", "", nil), blobs.ErrInvalidArgument)
	require.ErrorIs(t, e.store.Put(ctx, "acme", "", "selfie-0", "", nil), blobs.ErrInvalidArgument)
	_, err := e.store.List(ctx, "acme", strings.Repeat("s", keys.MaxIDLen+1))
	require.ErrorIs(t, err, blobs.ErrInvalidArgument)
	require.ErrorIs(t, e.store.Put(ctx, "acme", "s1", "selfie-0", strings.Repeat("t", 256), nil), blobs.ErrInvalidArgument)
	require.ErrorIs(t, e.store.Put(ctx, "acme", "s1", "selfie-0", "", make([]byte, 11)), blobs.ErrTooLarge)
	require.NoError(t, e.store.Put(ctx, "acme", "s1", "selfie-0", "", make([]byte, 10)))

	// A stored object over the limit is refused on read.
	b, err := blob.OpenBucket(ctx, withQuery(e.url, "metadata", "skip"))
	require.NoError(t, err)
	require.NoError(t, b.WriteAll(ctx, blobs.ObjectKey("acme", "s1", "big"), make([]byte, 1<<20), nil))
	require.NoError(t, b.Close())
	_, _, err = e.store.Get(ctx, "acme", "s1", "big")
	require.ErrorIs(t, err, blobs.ErrTooLarge)

	_, err = blobs.Open(ctx, e.url, nil)
	require.ErrorIs(t, err, blobs.ErrInvalidArgument)
	_, err = blobs.Open(ctx, "no-scheme", e.ring)
	require.ErrorIs(t, err, blobs.ErrInvalidArgument)
	_, err = blobs.Open(ctx, e.url, e.ring, blobs.WithMaxSize(0))
	require.ErrorIs(t, err, blobs.ErrInvalidArgument)

	require.NoError(t, e.store.Close())
	require.ErrorIs(t, e.store.Put(ctx, "acme", "s1", "selfie-0", "", nil), blobs.ErrClosed)
}

func TestURI(t *testing.T) {
	for _, c := range [][3]string{
		{"acme", "7f1c2b9e-3a4d-4e5f-8a9b-0c1d2e3f4a5b", "selfie-0"},
		{"acme corp/eu", "s?1#x", "document-front"},
		{"café", "%2F", "doc.v2"},
	} {
		u := blobs.URI(c[0], c[1], c[2])
		require.Equal(t, u, (*blobs.Store)(nil).URI(c[0], c[1], c[2]))
		require.True(t, strings.HasPrefix(u, "blob:///"))
		require.Equal(t, 5, strings.Count(u, "/"), u)
		tenant, session, name, err := blobs.ParseURI(u)
		require.NoError(t, err, u)
		require.Equal(t, c, [3]string{tenant, session, name})
	}
	for _, u := range []string{
		"", "blob://", "blob:///", "http:///a/b/c", "blob://host/a/b/c", "blob:///a/b",
		"blob:///a/b/c/d", "blob:///a//c", "blob:////b/c", "blob:///a/b/", "blob:///%zz/b/c",
		"blob:///a/b/..", "blob:///a/b/x%2Fy", "blob:///a/b/.hidden",
	} {
		_, _, _, err := blobs.ParseURI(u)
		require.ErrorIs(t, err, blobs.ErrInvalidArgument, "%q", u)
	}
}

func BenchmarkPutGet1MiB(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	m, err := keys.FileMaster(filepath.Join(dir, "keys", "master.key"))
	require.NoError(b, err)
	r, err := keys.Open(ctx, filepath.Join(dir, "keys", "ring"), m)
	require.NoError(b, err)
	defer r.Close()
	url, err := blobs.FileURL(filepath.Join(dir, "blobs"))
	require.NoError(b, err)
	s, err := blobs.Open(ctx, url, r)
	require.NoError(b, err)
	defer s.Close()
	img := bytes.Repeat(readImage(b), 4)[:1<<20]
	b.Run("Put", func(b *testing.B) {
		b.SetBytes(int64(len(img)))
		for b.Loop() {
			if err := s.Put(ctx, "acme", "bench", "selfie-0", "image/jpeg", img); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		b.SetBytes(int64(len(img)))
		for b.Loop() {
			if _, _, err := s.Get(ctx, "acme", "bench", "selfie-0"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
