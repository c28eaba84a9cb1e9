package streams

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

func rec(key string, off int64) *kgo.Record {
	return &kgo.Record{Key: []byte(key), Offset: off, LeaderEpoch: 1}
}

func TestTrackerPerKeyOrderAndWatermark(t *testing.T) {
	tr := newPartTracker()
	_, _, ok := tr.watermark()
	require.False(t, ok, "no watermark before any record")

	for i, k := range []string{"a", "b", "a", "c", "b"} {
		require.True(t, tr.add(rec(k, int64(i))))
	}
	require.False(t, tr.add(rec("a", 3)), "re-fetched offset is ignored")
	require.Equal(t, 5, tr.backlog)

	// Ready: a@0, b@1, c@3; a@2 and b@4 wait behind their keys.
	var started []*entry
	for e := tr.next(10); e != nil; e = tr.next(10) {
		started = append(started, e)
	}
	require.Len(t, started, 3)
	require.Equal(t, []int64{0, 1, 3}, []int64{started[0].rec.Offset, started[1].rec.Offset, started[2].rec.Offset})
	require.Equal(t, 2, tr.backlog)

	off, _, ok := tr.watermark()
	require.True(t, ok)
	require.Equal(t, int64(0), off)

	// c@3 completes: watermark stays at 0, nothing new is ready.
	tr.complete(started[2])
	off, _, _ = tr.watermark()
	require.Equal(t, int64(0), off)
	require.Nil(t, tr.next(10))

	// a@0 completes: a@2 becomes ready; watermark moves to 1.
	tr.complete(started[0])
	off, epoch, _ := tr.watermark()
	require.Equal(t, int64(1), off)
	require.Equal(t, int32(1), epoch)
	a2 := tr.next(10)
	require.NotNil(t, a2)
	require.Equal(t, int64(2), a2.rec.Offset)

	tr.complete(started[1]) // b@1 -> b@4 ready
	b4 := tr.next(10)
	require.NotNil(t, b4)
	require.Equal(t, int64(4), b4.rec.Offset)
	off, _, _ = tr.watermark()
	require.Equal(t, int64(2), off)

	tr.complete(b4)
	off, _, _ = tr.watermark()
	require.Equal(t, int64(2), off, "never past the incomplete a@2")
	tr.complete(a2)
	off, _, _ = tr.watermark()
	require.Equal(t, int64(5), off)
	require.Empty(t, tr.keys)
	require.Zero(t, tr.inFlight)
	require.Zero(t, tr.backlog)
}

func TestTrackerGapsAndInFlightBound(t *testing.T) {
	tr := newPartTracker()
	for _, o := range []int64{10, 11, 15, 20} { // gaps: compaction, txn markers
		require.True(t, tr.add(rec(fmt.Sprint(o), o)))
	}
	e1 := tr.next(2)
	e2 := tr.next(2)
	require.NotNil(t, e1)
	require.NotNil(t, e2)
	require.Nil(t, tr.next(2), "in-flight bound")
	tr.complete(e1)
	tr.complete(e2)
	off, _, _ := tr.watermark()
	require.Equal(t, int64(15), off, "the first incomplete record, across the gap")
	e3 := tr.next(2)
	e4 := tr.next(2)
	tr.complete(e4)
	off, _, _ = tr.watermark()
	require.Equal(t, int64(15), off)
	tr.abandon(e3)
	off, _, _ = tr.watermark()
	require.Equal(t, int64(15), off, "an abandoned record holds the watermark")
	require.Contains(t, tr.keys, "15", "an abandoned record keeps its key busy")
}

// TestTrackerModel checks the tracker against a brute-force model with many
// records completed in random order.
func TestTrackerModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	tr := newPartTracker()
	const n = 3000
	const maxInFlight = 7
	done := make(map[int64]bool)
	lastStartedPerKey := make(map[string]int64)
	keyBusy := make(map[string]bool)
	var inFlight []*entry
	var dispatched []int64
	var off int64
	for off < n || len(inFlight) > 0 || tr.backlog > 0 {
		// Add a few records (with occasional gaps).
		for i := rng.IntN(4); i > 0 && off < n; i-- {
			off += 1 + int64(rng.IntN(2))
			require.True(t, tr.add(rec(fmt.Sprint(rng.IntN(25)), off)))
			dispatched = append(dispatched, off)
		}
		for e := tr.next(maxInFlight); e != nil; e = tr.next(maxInFlight) {
			require.False(t, keyBusy[e.key], "two records of a key in flight")
			if last, ok := lastStartedPerKey[e.key]; ok {
				require.Greater(t, e.rec.Offset, last, "per-key order")
			}
			lastStartedPerKey[e.key] = e.rec.Offset
			keyBusy[e.key] = true
			inFlight = append(inFlight, e)
		}
		require.LessOrEqual(t, len(inFlight), maxInFlight)
		// Complete a random in-flight record.
		if len(inFlight) > 0 {
			i := rng.IntN(len(inFlight))
			e := inFlight[i]
			inFlight = append(inFlight[:i], inFlight[i+1:]...)
			tr.complete(e)
			done[e.rec.Offset] = true
			keyBusy[e.key] = false
		}
		// Model watermark: lowest dispatched offset not done, else one
		// past the last dispatched.
		got, _, ok := tr.watermark()
		if len(dispatched) == 0 {
			require.False(t, ok)
			continue
		}
		require.True(t, ok)
		want := dispatched[len(dispatched)-1] + 1
		for _, o := range dispatched {
			if !done[o] {
				want = o
				break
			}
		}
		require.Equal(t, want, got)
	}
	got, _, _ := tr.watermark()
	require.Equal(t, off+1, got)
	require.Len(t, done, len(dispatched))
	require.Empty(t, tr.window[tr.head:])
}

func TestBackoffBounds(t *testing.T) {
	lo, hi := 10*time.Millisecond, 200*time.Millisecond
	for attempt := range 70 {
		d := backoff(attempt, lo, hi)
		ceil := min(lo<<min(attempt, 30), hi)
		require.GreaterOrEqual(t, d, ceil/2, "attempt %d", attempt)
		require.LessOrEqual(t, d, ceil, "attempt %d", attempt)
	}
}
