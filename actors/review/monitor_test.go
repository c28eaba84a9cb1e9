package review

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	rv "github.com/openekyc/ekyc/services/review"
)

// queues is an in-memory stand-in for the store and the console: per
// tenant, the due times of waiting cases (all open) and a count of
// unpublished decisions; either can be made to fail.
type queues struct {
	mu          sync.Mutex
	due         map[string][]time.Time
	unpublished map[string]int
	failStats   map[string]bool
	failList    bool
	republishes int
}

func (q *queues) tenants(context.Context) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failList {
		return nil, errors.New("tenants store down")
	}
	var out []string
	for t := range q.due {
		out = append(out, t)
	}
	return out, nil
}

func (q *queues) stats(_ context.Context, tenant string, now time.Time) (rv.QueueStats, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failStats[tenant] {
		return rv.QueueStats{}, errors.New("review store down")
	}
	s := rv.NewQueueStats(now)
	for _, d := range q.due[tenant] {
		s.Add(rv.StateOpen, rv.PrioritySanctions, d)
	}
	return s, nil
}

func (q *queues) republish(_ context.Context, tenant string) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.republishes++
	n := q.unpublished[tenant]
	q.unpublished[tenant] = 0
	return n, nil
}

func (q *queues) set(f func()) { q.mu.Lock(); defer q.mu.Unlock(); f() }

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestMonitorSweeps(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	q := &queues{
		due:         map[string][]time.Time{"acme": {now.Add(-2 * time.Minute), now.Add(time.Minute)}, "globex": {}},
		unpublished: map[string]int{"acme": 2},
		failStats:   map[string]bool{},
	}
	reg := prometheus.NewRegistry()
	logs := &syncBuf{}
	sys := actor.NewActorSystem()
	m, err := Start(sys, Deps{Tenants: q.tenants, Stats: q.stats, Republish: q.republish, Now: func() time.Time { return now }},
		Config{Interval: time.Hour}, WithRegisterer(reg), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	require.NoError(t, err)
	defer m.Close()

	r, err := m.Sweep(ctx)
	require.NoError(t, err)
	require.NoError(t, r.Err)
	require.Len(t, r.Tenants, 2)
	g := func(name string, labels ...string) float64 {
		t.Helper()
		switch name {
		case "waiting":
			return testutil.ToFloat64(m.m.waiting.WithLabelValues(labels...))
		case "overdue":
			return testutil.ToFloat64(m.m.overdue.WithLabelValues(labels...))
		case "most":
			return testutil.ToFloat64(m.m.mostOverdue.WithLabelValues(labels...))
		case "republished":
			return testutil.ToFloat64(m.m.republished.WithLabelValues(labels...))
		case "errors":
			return testutil.ToFloat64(m.m.errors.WithLabelValues(labels...))
		}
		t.Fatalf("unknown metric %s", name)
		return 0
	}
	require.Equal(t, 2.0, g("waiting", "acme", "open", "sanctions"))
	require.Equal(t, 0.0, g("waiting", "globex", "open", "sanctions"), "an empty queue reads 0, not absent")
	require.Equal(t, 1.0, g("overdue", "acme", "sanctions"))
	require.Equal(t, 120.0, g("most", "acme", "sanctions"))
	require.Equal(t, 2.0, g("republished", "acme"))
	require.Contains(t, logs.String(), "review cases past their SLA")
	require.Equal(t, 1, strings.Count(logs.String(), "past their SLA"))

	// Same counts again: no new warning; a second overdue case: one more.
	_, err = m.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(logs.String(), "past their SLA"), "an unchanged overdue count is not logged again")
	require.Equal(t, 2.0, g("republished", "acme"), "nothing left to republish")
	now = now.Add(2 * time.Minute)
	_, err = m.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 2.0, g("overdue", "acme", "sanctions"))
	require.Equal(t, 2, strings.Count(logs.String(), "past their SLA"))

	// One tenant's failure does not stop the other's sweep; its gauges keep
	// the last values.
	q.set(func() {
		q.failStats["acme"] = true
		q.due["globex"] = []time.Time{now.Add(-time.Hour)}
	})
	r, err = m.Sweep(ctx)
	require.NoError(t, err)
	var failed int
	for _, tr := range r.Tenants {
		if tr.Err != nil {
			failed++
			require.Equal(t, "acme", tr.Tenant)
		}
	}
	require.Equal(t, 1, failed)
	require.Equal(t, 1.0, g("overdue", "globex", "sanctions"))
	require.Equal(t, 2.0, g("overdue", "acme", "sanctions"))
	require.Equal(t, 1.0, g("errors", "acme"))

	// A tenant that is gone takes its series with it.
	q.set(func() { delete(q.due, "acme") })
	_, err = m.Sweep(ctx)
	require.NoError(t, err)
	n, err := testutil.GatherAndCount(reg, "ekyc_review_cases_overdue")
	require.NoError(t, err)
	require.Equal(t, len(rv.Priorities), n, "only globex's series are left")

	// Tenants not listed: the sweep reports it and changes nothing.
	q.set(func() { q.failList = true })
	r, err = m.Sweep(ctx)
	require.NoError(t, err)
	require.Error(t, r.Err)
	require.Equal(t, 1.0, g("overdue", "globex", "sanctions"))
	require.Equal(t, 1.0, g("errors", ""))
}

func TestMonitorRunsOnItsInterval(t *testing.T) {
	q := &queues{due: map[string][]time.Time{"acme": nil}, unpublished: map[string]int{}, failStats: map[string]bool{}}
	sys := actor.NewActorSystem()
	m, err := Start(sys, Deps{Tenants: q.tenants, Stats: q.stats, Republish: q.republish}, Config{Interval: 10 * time.Millisecond})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.republishes >= 3
	}, 10*time.Second, 5*time.Millisecond, "sweeps repeat without being asked")
	m.Close()
	_, err = m.Sweep(context.Background())
	require.ErrorIs(t, err, ErrClosed)
	m.Close() // idempotent
}

func TestStartNeedsDeps(t *testing.T) {
	_, err := Start(actor.NewActorSystem(), Deps{}, Config{})
	require.Error(t, err)
}
