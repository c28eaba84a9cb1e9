package streams

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// testCtx returns a context bounding the whole test.
func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitUntil polls cond every few milliseconds until it holds, failing the
// test when ctx expires first.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			require.FailNow(t, "condition not reached before deadline", what)
		case <-tick.C:
		}
	}
}

type testEnv struct {
	t     *testing.T
	emb   *Embedded
	addrs []string
	cl    *kgo.Client // admin and producing, manual partitioner
	adm   *kadm.Client
}

func newTestEnv(t *testing.T, partitions int32, topics ...string) *testEnv {
	t.Helper()
	emb, err := StartEmbedded(EmbeddedSeedTopics(partitions, topics...))
	require.NoError(t, err)
	t.Cleanup(emb.Close)
	addrs := emb.Addrs()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addrs...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return &testEnv{t: t, emb: emb, addrs: addrs, cl: cl, adm: kadm.NewClient(cl)}
}

// produce writes recs (each with Topic and Partition set) synchronously and
// returns them with their offsets filled in.
func (e *testEnv) produce(ctx context.Context, recs ...*kgo.Record) []*kgo.Record {
	e.t.Helper()
	require.NoError(e.t, e.cl.ProduceSync(ctx, recs...).FirstErr())
	return recs
}

// committed returns the group's committed offset per partition of topic
// (partitions without a commit are absent).
func (e *testEnv) committed(ctx context.Context, group, topic string) map[int32]int64 {
	e.t.Helper()
	out := make(map[int32]int64)
	resp, err := e.adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return out // nothing committed yet
	}
	require.NoError(e.t, err)
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out
}

// ends returns the end offset per partition of topic.
func (e *testEnv) ends(ctx context.Context, topic string) map[int32]int64 {
	e.t.Helper()
	lo, err := e.adm.ListEndOffsets(ctx, topic)
	require.NoError(e.t, err)
	out := make(map[int32]int64)
	lo.Each(func(o kadm.ListedOffset) {
		require.NoError(e.t, o.Err)
		out[o.Partition] = o.Offset
	})
	return out
}

// waitCommittedEnds waits until the group committed the end of every
// partition of topic.
func (e *testEnv) waitCommittedEnds(ctx context.Context, group, topic string) {
	e.t.Helper()
	want := e.ends(ctx, topic)
	for p, o := range want {
		if o == 0 {
			delete(want, p)
		}
	}
	waitUntil(e.t, ctx, "committed offsets reach the end offsets", func() bool {
		got := e.committed(ctx, group, topic)
		for p, o := range want {
			if got[p] != o {
				return false
			}
		}
		return true
	})
}

// testConfig is a consumer config with short intervals for tests.
func (e *testEnv) testConfig(group, topic, dlq string) ConsumerConfig {
	return ConsumerConfig{
		Brokers:         e.addrs,
		Group:           group,
		Topic:           topic,
		DLQTopic:        dlq,
		CommitInterval:  30 * time.Millisecond,
		RetryBackoffMin: 2 * time.Millisecond,
		RetryBackoffMax: 20 * time.Millisecond,
	}
}

func testKgoOpts() ConsumerOption {
	return WithKgoOpts(
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.HeartbeatInterval(100*time.Millisecond),
	)
}

// runConsumer creates a consumer and runs it in the background; the
// returned channel yields Run's result. The consumer is closed gracefully
// at cleanup if the test did not close it.
func (e *testEnv) runConsumer(ctx context.Context, cfg ConsumerConfig, h Handler, opts ...ConsumerOption) (*Consumer, <-chan error) {
	e.t.Helper()
	opts = append([]ConsumerOption{testKgoOpts(), WithDrainTimeout(5 * time.Second)}, opts...)
	c, err := NewConsumer(cfg, h, opts...)
	require.NoError(e.t, err)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	// Close waits for Run to return.
	e.t.Cleanup(func() { c.Close(true) })
	return c, done
}

// counter is a concurrency-safe set of handled records.
type recordSet struct {
	mu sync.Mutex
	m  map[[2]int64]int // (partition, offset) -> times
}

func newRecordSet() *recordSet { return &recordSet{m: make(map[[2]int64]int)} }

func (s *recordSet) add(r *kgo.Record) {
	s.mu.Lock()
	s.m[[2]int64{int64(r.Partition), r.Offset}]++
	s.mu.Unlock()
}

func (s *recordSet) has(p int32, o int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[[2]int64{int64(p), o}] > 0
}

func (s *recordSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *recordSet) snapshot() map[[2]int64]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[[2]int64]int, len(s.m))
	for k, v := range s.m {
		out[k] = v
	}
	return out
}

// metricValue returns the value of the metric name (with the given label
// values among its labels) gathered from reg, 0 if absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// blockUntil waits for ch or ctx; it returns ctx.Err() if ctx ended first.
func blockUntil(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errTransient = errors.New("transient failure")

// logBuffer collects log output of a test logger.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
