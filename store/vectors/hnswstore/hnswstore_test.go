package hnswstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/vectors"
	"github.com/openekyc/ekyc/store/vectors/hnswstore"
	"github.com/openekyc/ekyc/store/vectors/vectorstest"
)

func open(t *testing.T, dir string, opts ...hnswstore.Option) *hnswstore.Store {
	t.Helper()
	s, err := hnswstore.Open(context.Background(), dir, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	vectorstest.Run(t, func(t *testing.T) vectors.Store { return open(t, t.TempDir()) })
}

// The suite's tenants are small enough to be scanned; run it again with
// every tenant on its graph.
func TestConformanceGraphOnly(t *testing.T) {
	vectorstest.Run(t, func(t *testing.T) vectors.Store {
		return open(t, t.TempDir(), hnswstore.WithExactBelow(0), hnswstore.WithM(8), hnswstore.WithEfConstruction(64))
	})
}

func TestOpenArguments(t *testing.T) {
	_, err := hnswstore.Open(context.Background(), "")
	require.ErrorIs(t, err, vectors.ErrInvalidArgument)
	_, err = hnswstore.Open(context.Background(), t.TempDir(), hnswstore.WithM(1))
	require.ErrorIs(t, err, vectors.ErrInvalidArgument)
	_, err = hnswstore.Open(context.Background(), t.TempDir(), hnswstore.WithSnapshotBytes(0))
	require.ErrorIs(t, err, vectors.ErrInvalidArgument)
}

func TestDirectoryIsLocked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	_, err := hnswstore.Open(context.Background(), dir)
	require.Error(t, err, "a second store on the same directory")
	require.NoError(t, s.Close())
	s2 := open(t, dir)
	require.NoError(t, s2.Close())
}

// fixture inserts embeddings into tenants t1 and t2 and deletes some.
type fixture struct {
	vecs map[string][]float32 // tenant|session -> vector
}

func populate(t *testing.T, s vectors.Store, n int, seed uint64) fixture {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 1))
	f := fixture{vecs: map[string][]float32{}}
	for i := range n {
		tn := fmt.Sprintf("t%d", 1+i%2)
		sess := fmt.Sprintf("s-%04d", i)
		v := vectorstest.RandomUnit(r)
		require.NoError(t, s.Insert(ctx, vectorstest.Emb(tn, sess, fmt.Sprintf("a-%d", i%10), v)))
		f.vecs[tn+"|"+sess] = v
	}
	// Replace one, delete a session and an applicant.
	v := vectorstest.RandomUnit(r)
	require.NoError(t, s.Insert(ctx, vectorstest.Emb("t1", "s-0000", "a-0", v)))
	f.vecs["t1|s-0000"] = v
	require.NoError(t, s.DeleteSession(ctx, "t2", "s-0001"))
	delete(f.vecs, "t2|s-0001")
	require.NoError(t, s.DeleteApplicant(ctx, "t1", "a-4"))
	for k := range f.vecs {
		var i int
		fmt.Sscanf(strings.Split(k, "|")[1], "s-%d", &i)
		if strings.HasPrefix(k, "t1|") && i%10 == 4 {
			delete(f.vecs, k)
		}
	}
	return f
}

// check verifies that s holds exactly f's embeddings.
func (f fixture) check(t *testing.T, s vectors.Store) {
	t.Helper()
	ctx := context.Background()
	all := vectorstest.All(ctx, t, s, "t1", "t2")
	var got []string
	for _, m := range all {
		got = append(got, m.Tenant+"|"+m.Session)
	}
	var want []string
	for k := range f.vecs {
		want = append(want, k)
	}
	require.ElementsMatch(t, want, got)
	for k, v := range f.vecs {
		tn, sess, _ := strings.Cut(k, "|")
		m, err := s.Search(ctx, vectors.Query{Tenants: []string{tn}, Vector: v, K: 1, MinScore: 0.999})
		require.NoError(t, err)
		require.Len(t, m, 1, k)
		require.Equal(t, sess, m[0].Session)
	}
}

func TestSurvivesReopen(t *testing.T) {
	for _, onClose := range []bool{true, false} {
		t.Run(fmt.Sprintf("snapshotOnClose=%v", onClose), func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, hnswstore.WithSnapshotOnClose(onClose))
			f := populate(t, s, 300, 1)
			f.check(t, s)
			require.NoError(t, s.Close())
			snaps, _ := filepath.Glob(filepath.Join(dir, "snapshot-*.snap"))
			if onClose {
				require.Len(t, snaps, 1, "Close wrote a snapshot")
			} else {
				require.Empty(t, snaps, "everything is in the log")
			}
			s = open(t, dir, hnswstore.WithSnapshotOnClose(onClose))
			f.check(t, s)
			// And again after more writes on top of the snapshot.
			ctx := context.Background()
			v := vectorstest.RandomUnit(rand.New(rand.NewPCG(9, 9)))
			require.NoError(t, s.Insert(ctx, vectorstest.Emb("t2", "late", "z", v)))
			f.vecs["t2|late"] = v
			require.NoError(t, s.DeleteSession(ctx, "t2", "s-0003"))
			delete(f.vecs, "t2|s-0003")
			require.NoError(t, s.Close())
			s = open(t, dir)
			f.check(t, s)
		})
	}
}

// copyDir copies the files of a live store's directory: what a crash at
// this moment would leave on disk (every acknowledged write was fsynced).
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600))
	}
	return dst
}

func TestAcknowledgedWritesSurviveACrash(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	f := populate(t, s, 200, 2)
	// A snapshot in the middle, then more writes in the log after it.
	require.NoError(t, s.Snapshot(ctx))
	r := rand.New(rand.NewPCG(3, 3))
	for i := range 50 {
		v := vectorstest.RandomUnit(r)
		k := fmt.Sprintf("after-%d", i)
		require.NoError(t, s.Insert(ctx, vectorstest.Emb("t2", k, "b", v)))
		f.vecs["t2|"+k] = v
	}
	require.NoError(t, s.DeleteApplicant(ctx, "t2", "a-3"))
	for k := range f.vecs {
		var i int
		if _, err := fmt.Sscanf(strings.TrimPrefix(k, "t2|"), "s-%d", &i); err == nil && strings.HasPrefix(k, "t2|") && i%10 == 3 {
			delete(f.vecs, k)
		}
	}
	crashed := copyDir(t, dir)
	c := open(t, crashed)
	f.check(t, c)
	require.NoError(t, c.Close())

	// A torn record at the end of the log (a write cut by the crash) was
	// never acknowledged: it is dropped, the rest is kept.
	crashed = copyDir(t, dir)
	segs, _ := filepath.Glob(filepath.Join(crashed, "wal-*.log"))
	require.NotEmpty(t, segs)
	last := segs[len(segs)-1]
	fh, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	hdr := binary.LittleEndian.AppendUint32(nil, 2100)
	hdr = binary.LittleEndian.AppendUint32(hdr, 12345)
	_, err = fh.Write(append(hdr, make([]byte, 700)...))
	require.NoError(t, err)
	require.NoError(t, fh.Close())
	c = open(t, crashed)
	f.check(t, c)
	require.NoError(t, c.Close())
}

func TestCorruptDataIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	populate(t, s, 50, 4)
	require.NoError(t, s.Snapshot(context.Background()))
	require.NoError(t, s.Insert(context.Background(), vectorstest.Emb("t1", "x", "y", vectorstest.RandomUnit(rand.New(rand.NewPCG(1, 2))))))

	// A flipped byte in the snapshot.
	bad := copyDir(t, dir)
	snaps, _ := filepath.Glob(filepath.Join(bad, "snapshot-*.snap"))
	require.Len(t, snaps, 1)
	b, err := os.ReadFile(snaps[0])
	require.NoError(t, err)
	b[len(b)/2] ^= 0x40
	require.NoError(t, os.WriteFile(snaps[0], b, 0o600))
	_, err = hnswstore.Open(context.Background(), bad)
	require.ErrorIs(t, err, vectors.ErrCorrupt)

	// A damaged record that is not the last one of the log.
	bad = copyDir(t, dir)
	require.NoError(t, s.Insert(context.Background(), vectorstest.Emb("t1", "x2", "y", vectorstest.RandomUnit(rand.New(rand.NewPCG(1, 3))))))
	segs, _ := filepath.Glob(filepath.Join(dir, "wal-*.log"))
	last := segs[len(segs)-1]
	b, err = os.ReadFile(last)
	require.NoError(t, err)
	b[20] ^= 0x01 // inside the first record's payload
	require.NoError(t, os.WriteFile(filepath.Join(bad, filepath.Base(last)), b, 0o600))
	_, err = hnswstore.Open(context.Background(), bad)
	require.ErrorIs(t, err, vectors.ErrCorrupt)

	// Another M than the snapshot was written with.
	good := copyDir(t, dir)
	_, err = hnswstore.Open(context.Background(), good, hnswstore.WithM(24))
	require.ErrorIs(t, err, vectors.ErrCorrupt)
}

// vectorBytes is how a vector is laid out on disk (little-endian float32).
func vectorBytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, f := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

// onDisk reports whether any file of dir contains the vector's bytes.
func onDisk(t *testing.T, dir string, v []float32) bool {
	t.Helper()
	needle := vectorBytes(v)[:256]
	found := false
	require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		fh, err := os.Open(p)
		if err != nil {
			return err
		}
		defer fh.Close()
		b, err := io.ReadAll(fh)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			found = true
		}
		return nil
	}))
	return found
}

func TestErasureLeavesNoVectorOnDisk(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 5))
	keep := vectorstest.RandomUnit(r)
	erase1, erase2 := vectorstest.RandomUnit(r), vectorstest.RandomUnit(r)
	// Stored normalised: these are already unit vectors, so the bytes
	// match.
	stored := func(v []float32) []float32 {
		n, err := vectors.Normalize(v)
		require.NoError(t, err)
		return n
	}
	require.NoError(t, s.Insert(ctx, vectorstest.Emb("t1", "s-keep", "bob", keep)))
	require.NoError(t, s.Insert(ctx, vectorstest.Emb("t1", "s-1", "anna", erase1)))
	require.NoError(t, s.Snapshot(ctx))
	require.NoError(t, s.Insert(ctx, vectorstest.Emb("t1", "s-2", "anna", erase2)))
	require.True(t, onDisk(t, dir, stored(erase1)), "in the snapshot")
	require.True(t, onDisk(t, dir, stored(erase2)), "in the log")
	require.NoError(t, s.DeleteApplicant(ctx, "t1", "anna"))
	require.NoError(t, s.Snapshot(ctx))
	require.False(t, onDisk(t, dir, stored(erase1)), "erased from the snapshot")
	require.False(t, onDisk(t, dir, stored(erase2)), "erased from the log")
	require.True(t, onDisk(t, dir, stored(keep)))
	require.Len(t, vectorstest.All(ctx, t, s, "t1"), 1)
	require.NoError(t, s.Close())
	s = open(t, dir)
	require.Equal(t, []string{"t1|s-keep"}, vectorstest.Sessions(vectorstest.All(ctx, t, s, "t1")))
}

func TestErasureDelayTriggersSnapshot(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, hnswstore.WithErasureDelay(time.Millisecond))
	ctx := context.Background()
	r := rand.New(rand.NewPCG(6, 6))
	v, err := vectors.Normalize(vectorstest.RandomUnit(r))
	require.NoError(t, err)
	require.NoError(t, s.Insert(ctx, vectorstest.Emb("t1", "s-1", "anna", v)))
	require.NoError(t, s.DeleteSession(ctx, "t1", "s-1"))
	// The background loop consolidates and snapshots without a call.
	require.Eventually(t, func() bool { return !onDisk(t, dir, v) }, time.Minute, 20*time.Millisecond)
	require.Empty(t, vectorstest.All(ctx, t, s, "t1"))
}

func TestLogSizeTriggersSnapshot(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, hnswstore.WithSnapshotBytes(10_000))
	f := populate(t, s, 40, 7)
	require.Eventually(t, func() bool {
		snaps, _ := filepath.Glob(filepath.Join(dir, "snapshot-*.snap"))
		return len(snaps) == 1
	}, time.Minute, 20*time.Millisecond)
	f.check(t, s)
	require.NoError(t, s.Close())
	s = open(t, dir)
	f.check(t, s)
}

func TestStats(t *testing.T) {
	s := open(t, t.TempDir())
	f := populate(t, s, 30, 8)
	st := s.Stats()
	require.Len(t, st, 2)
	require.Equal(t, "t1", st[0].Tenant)
	live := 0
	for k := range f.vecs {
		if strings.HasPrefix(k, "t1|") {
			live++
		}
	}
	require.Equal(t, 12, live, "15 inserted, 3 of applicant a-4 erased")
	require.Equal(t, live, st[0].Live)
	require.Equal(t, 4, st[0].Deleted, "the replaced node and the erased ones are tombstones")
	require.Positive(t, st[0].Bytes)
}

// BenchmarkInsert measures a synced insert (log append + fsync + graph
// insert) into a tenant that grows during the run.
func BenchmarkInsert(b *testing.B) {
	s, err := hnswstore.Open(context.Background(), b.TempDir(), hnswstore.WithSnapshotOnClose(false))
	require.NoError(b, err)
	defer s.Close()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 1))
	vs := make([][]float32, 1024)
	for i := range vs {
		vs[i] = vectorstest.RandomUnit(r)
	}
	i := 0
	for b.Loop() {
		require.NoError(b, s.Insert(ctx, vectorstest.Emb("t1", fmt.Sprintf("s-%d", i), "a", vs[i%len(vs)])))
		i++
	}
}

// BenchmarkSearch measures one search of a 5,000-embedding tenant on its
// graph (ExactBelow 0) and by exhaustive scan.
func BenchmarkSearch(b *testing.B) {
	for _, exact := range []bool{false, true} {
		b.Run(fmt.Sprintf("exact=%v", exact), func(b *testing.B) {
			below := 0
			if exact {
				below = 1 << 20
			}
			s, err := hnswstore.Open(context.Background(), b.TempDir(), hnswstore.WithExactBelow(below), hnswstore.WithSnapshotOnClose(false))
			require.NoError(b, err)
			defer s.Close()
			ctx := context.Background()
			r := rand.New(rand.NewPCG(2, 2))
			for i := range 5000 {
				require.NoError(b, s.Insert(ctx, vectorstest.Emb("t1", fmt.Sprintf("s-%d", i), "a", vectorstest.RandomUnit(r))))
			}
			q := vectors.Query{Tenants: []string{"t1"}, Vector: vectorstest.RandomUnit(r), K: 10, MinScore: -1}
			for b.Loop() {
				_, err := s.Search(ctx, q)
				require.NoError(b, err)
			}
		})
	}
}

func TestOpenGivesUpWithContext(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, hnswstore.WithSnapshotOnClose(false))
	f := populate(t, s, 20, 9)
	require.NoError(t, s.Close())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := hnswstore.Open(ctx, dir)
	require.ErrorIs(t, err, context.Canceled)
	s = open(t, dir) // the failed open released the directory
	f.check(t, s)
}
