package cqlstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeTable is an in-memory table of buckets, each a sorted list of session
// ids, read like the CQL page query (session_id > after LIMIT n).
type fakeTable struct {
	mu      sync.Mutex
	buckets [][]string
	fetches int
	fail    func(bucket int, after string) error
	// outOfOrder makes the next fetch of a bucket return its rows reversed.
	outOfOrder bool
}

func newFakeTable(buckets int) *fakeTable {
	return &fakeTable{buckets: make([][]string, buckets)}
}

func (f *fakeTable) insert(session string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := int(Bucket(session)) % len(f.buckets)
	i, found := slices.BinarySearch(f.buckets[b], session)
	if !found {
		f.buckets[b] = slices.Insert(f.buckets[b], i, session)
	}
}

func (f *fakeTable) fetch(_ context.Context, bucket int, after string, limit int) ([]row, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetches++
	if f.fail != nil {
		if err := f.fail(bucket, after); err != nil {
			return nil, err
		}
	}
	ids := f.buckets[bucket]
	i := sort.SearchStrings(ids, after)
	if i < len(ids) && ids[i] == after {
		i++
	}
	var out []row
	for ; i < len(ids) && len(out) < limit; i++ {
		out = append(out, row{session: ids[i], record: []byte("sealed " + ids[i])})
	}
	if f.outOfOrder && len(out) > 1 {
		slices.Reverse(out)
	}
	return out, nil
}

// drain runs the merger to the end, calling each for every row.
func drain(t *testing.T, m *merger, each func(row)) []string {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, m.prime(ctx, 3))
	var got []string
	for {
		r, ok, err := m.next(ctx)
		require.NoError(t, err)
		if !ok {
			return got
		}
		require.Equal(t, "sealed "+r.session, string(r.record))
		got = append(got, r.session)
		if each != nil {
			each(r)
		}
	}
}

func TestMergerOrderAndPaging(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ buckets, limit, n int }{
		{1, 1, 0}, {1, 1, 5}, {4, 1, 50}, {32, 3, 600}, {32, 64, 600}, {7, 1000, 100}, {32, 2, 1},
	} {
		t.Run(fmt.Sprintf("b%d_l%d_n%d", tc.buckets, tc.limit, tc.n), func(t *testing.T) {
			f := newFakeTable(tc.buckets)
			var want []string
			for len(want) < tc.n {
				id := fmt.Sprintf("s-%d-%x", rng.IntN(1000), rng.Uint32())
				if !slices.Contains(want, id) {
					want = append(want, id)
					f.insert(id)
				}
			}
			slices.Sort(want)
			m := newMerger(tc.buckets, tc.limit, f.fetch)
			maxHeld := 0
			got := drain(t, m, func(row) {
				held := 0
				for _, b := range m.buckets {
					held += len(b.buf)
				}
				maxHeld = max(maxHeld, held)
			})
			if want == nil {
				want = []string{}
			}
			if got == nil {
				got = []string{}
			}
			require.Equal(t, want, got)
			require.LessOrEqual(t, maxHeld, tc.buckets*tc.limit, "at most one page per bucket is held")
			// Every bucket is read once per full page, plus once to find
			// its end (a short page).
			fetches := 0
			for _, ids := range f.buckets {
				fetches += len(ids)/tc.limit + 1
			}
			require.Equal(t, fetches, f.fetches)
		})
	}
}

// TestMergerWritesDuringIteration: rows inserted while the merge runs
// keep the sequence strictly increasing, every row present from the start
// is yielded exactly once, and a late row is yielded exactly when its
// bucket had not been read past its place (nor to its end) when it was
// inserted.
func TestMergerWritesDuringIteration(t *testing.T) {
	const buckets, limit = 8, 2
	f := newFakeTable(buckets)
	var initial []string
	for i := range 200 {
		id := fmt.Sprintf("s-%04d", i)
		initial = append(initial, id)
		f.insert(id)
	}
	m := newMerger(buckets, limit, f.fetch)
	n := 0
	seen, missed := map[string]bool{}, map[string]bool{}
	got := drain(t, m, func(r row) {
		n++
		if n%5 != 0 {
			return
		}
		// Behind, just after and far ahead of the current position.
		for _, id := range []string{"s-0000-early-" + r.session, r.session + "-late", "s-9999-" + r.session} {
			b := m.buckets[int(Bucket(id))%buckets]
			if !b.done && id > b.last {
				seen[id] = true
			} else {
				missed[id] = true
			}
			f.insert(id)
		}
	})
	require.True(t, slices.IsSorted(got))
	require.Len(t, slices.Compact(slices.Clone(got)), len(got), "no row twice")
	for _, id := range initial {
		require.Contains(t, got, id)
	}
	require.NotEmpty(t, seen)
	require.NotEmpty(t, missed)
	for id := range seen {
		require.Contains(t, got, id)
	}
	for id := range missed {
		require.NotContains(t, got, id)
	}
	require.Len(t, got, len(initial)+len(seen))
}

func TestMergerErrors(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")

	f := newFakeTable(4)
	for i := range 40 {
		f.insert(fmt.Sprintf("s-%02d", i))
	}
	f.fail = func(bucket int, after string) error {
		if bucket == 2 {
			return boom
		}
		return nil
	}
	require.ErrorIs(t, newMerger(4, 3, f.fetch).prime(ctx, 2), boom)

	// A failure on a later page stops the merge.
	f.fail = func(bucket int, after string) error {
		if after != "" {
			return boom
		}
		return nil
	}
	m := newMerger(4, 3, f.fetch)
	require.NoError(t, m.prime(ctx, 4))
	var err error
	for i := 0; ; i++ {
		var ok bool
		_, ok, err = m.next(ctx)
		if err != nil || !ok {
			break
		}
		require.Less(t, i, 40)
	}
	require.ErrorIs(t, err, boom)

	// A page out of order is refused, not passed on.
	f.fail = nil
	f.outOfOrder = true
	m = newMerger(4, 3, f.fetch)
	err = m.prime(ctx, 1)
	require.Error(t, err)
	require.Contains(t, err.Error(), "out of order")

	// So is a page longer than asked for.
	long := func(context.Context, int, string, int) ([]row, error) {
		return []row{{session: "a"}, {session: "b"}}, nil
	}
	err = newMerger(1, 1, long).prime(ctx, 1)
	require.Error(t, err)
	require.Contains(t, err.Error(), "asked for 1")
}
