package analytics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// memStore is a store that keeps rows by key (idempotent, like the real
// ones) and can be made to fail.
type memStore struct {
	mu      sync.Mutex
	rows    map[int]int // row → times written
	batches []int       // sizes
	down    atomic.Bool
	calls   atomic.Int64
}

func newMemStore() *memStore { return &memStore{rows: map[int]int{}} }

func (s *memStore) write(ctx context.Context, rows []int) error {
	s.calls.Add(1)
	if s.down.Load() {
		return errors.New("store down")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rows {
		s.rows[r]++
	}
	s.batches = append(s.batches, len(rows))
	return nil
}

func (s *memStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows)
}

func start(t *testing.T, s *memStore, cfg Config) (*Batcher[int], *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	sys := actor.NewActorSystem()
	b, err := Start(sys, s.write, cfg, WithRegisterer(reg), WithName("mem"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()); sys.Shutdown() })
	return b, reg
}

func addAll(t *testing.T, b *Batcher[int], from, n int) []error {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			errs[i] = b.Add(ctx, from+i)
		})
	}
	wg.Wait()
	return errs
}

func TestBatchesBySize(t *testing.T) {
	s := newMemStore()
	// MaxAge long: only full batches are written until the last, partial
	// one ages out.
	b, reg := start(t, s, Config{BatchSize: 10, MaxAge: 200 * time.Millisecond})
	for _, err := range addAll(t, b, 0, 95) {
		require.NoError(t, err)
	}
	require.Equal(t, 95, s.count())
	full := 0
	for _, n := range s.batches {
		require.LessOrEqual(t, n, 10)
		if n == 10 {
			full++
		}
	}
	require.GreaterOrEqual(t, full, 5, "batches %v", s.batches)
	require.Equal(t, 95.0, testutil.ToFloat64(b.m.rows))
	require.Equal(t, 0.0, testutil.ToFloat64(b.m.buffered))
	n, err := testutil.GatherAndCount(reg, "ekyc_analytics_rows_written_total")
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestBatchesByAge(t *testing.T) {
	s := newMemStore()
	b, _ := start(t, s, Config{BatchSize: 1000, MaxAge: 20 * time.Millisecond})
	// One row never fills a batch: it is written when it is MaxAge old.
	require.NoError(t, b.Add(context.Background(), 7))
	require.Equal(t, []int{1}, s.batches)
}

// TestStoreDownThenBack: while the store fails, Add does not return (the
// row stays uncommitted in Kafka) and the batch is retried; once the store
// is back every row arrives exactly once in the store's keyed view.
func TestStoreDownThenBack(t *testing.T) {
	s := newMemStore()
	s.down.Store(true)
	b, _ := start(t, s, Config{BatchSize: 8, MaxAge: 5 * time.Millisecond, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
	done := make(chan []error)
	go func() { done <- addAll(t, b, 0, 50) }()
	require.Eventually(t, func() bool { return s.calls.Load() >= 5 }, 10*time.Second, time.Millisecond)
	select {
	case <-done:
		t.Fatal("Add returned while the store was down")
	default:
	}
	require.Equal(t, 0, s.count())
	require.GreaterOrEqual(t, testutil.ToFloat64(b.m.failures), 5.0)
	require.Equal(t, 50.0, testutil.ToFloat64(b.m.buffered))
	s.down.Store(false)
	for _, err := range <-done {
		require.NoError(t, err)
	}
	require.Equal(t, 50, s.count())
	for r, n := range s.rows {
		require.Equal(t, 1, n, "row %d", r)
	}
}

func TestOverloaded(t *testing.T) {
	s := newMemStore()
	s.down.Store(true)
	b, _ := start(t, s, Config{BatchSize: 4, MaxBuffered: 10, MaxAge: time.Millisecond, RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { _ = b.Add(ctx, i) })
	}
	require.Eventually(t, func() bool { return testutil.ToFloat64(b.m.buffered) == 10 }, 10*time.Second, time.Millisecond)
	require.ErrorIs(t, b.Add(context.Background(), 99), ErrOverloaded)
	require.Equal(t, 1.0, testutil.ToFloat64(b.m.overloaded))
	cancel()
	wg.Wait()
}

func TestCloseDrains(t *testing.T) {
	s := newMemStore()
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	b, err := Start(sys, s.write, Config{BatchSize: 1000, MaxAge: time.Hour})
	require.NoError(t, err)
	errs := make(chan error, 3)
	for i := range 3 {
		go func() { errs <- b.Add(context.Background(), i) }()
	}
	require.Eventually(t, func() bool { return testutil.ToFloat64(b.m.buffered) == 3 }, 10*time.Second, time.Millisecond)
	require.NoError(t, b.Close(context.Background()))
	for range 3 {
		require.NoError(t, <-errs)
	}
	require.Equal(t, 3, s.count())
	require.ErrorIs(t, b.Add(context.Background(), 4), ErrClosed)
}

func TestCloseWithStoreDown(t *testing.T) {
	s := newMemStore()
	s.down.Store(true)
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	b, err := Start(sys, s.write, Config{BatchSize: 1000, MaxAge: time.Hour})
	require.NoError(t, err)
	errs := make(chan error, 1)
	go func() { errs <- b.Add(context.Background(), 1) }()
	require.Eventually(t, func() bool { return testutil.ToFloat64(b.m.buffered) == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, b.Close(context.Background()))
	require.ErrorIs(t, <-errs, ErrClosed, "a row not written must not be acknowledged")
}

func BenchmarkAdd(b *testing.B) {
	s := newMemStore()
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	bt, err := Start(sys, func(ctx context.Context, rows []int) error { return nil }, Config{BatchSize: 1000, MaxAge: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	_ = s
	b.SetParallelism(64)
	var i atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := bt.Add(context.Background(), int(i.Add(1))); err != nil {
				panic(fmt.Sprint(err))
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
