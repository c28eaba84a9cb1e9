// Package review is the review-queue monitor of a node: an actor that, on
// a fixed interval, sweeps every tenant's review queue. A sweep
//
//   - republishes decided cases whose decision did not reach Kafka (a
//     produce that failed after the case was saved: the case remembers it
//     and the publish is idempotent downstream, by case id), and
//   - measures the queue — waiting cases by state and priority, cases past
//     their SLA, how far past it the most overdue one is — into Prometheus
//     gauges, logging (case counts only, never case data) when a tenant's
//     overdue count for a priority grows.
//
// It holds no domain logic: the SLA arithmetic is services/review's
// (QueueStats), the counts come from the store's queue index and the
// republishing from the console, both through Deps. Store and Kafka calls
// run off the actor's mailbox, one sweep at a time; the actor keeps the
// metrics and the previous sweep's counts.
package review

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	rv "github.com/openekyc/ekyc/services/review"
)

// ErrClosed is returned by Sweep once the monitor is closed.
var ErrClosed = errors.New("review monitor: closed")

// Deps are the monitor's collaborators; all are required but Now.
type Deps struct {
	// Tenants lists the tenants whose queues are swept.
	Tenants func(ctx context.Context) ([]string, error)
	// Stats measures one tenant's queue at now.
	Stats func(ctx context.Context, tenant string, now time.Time) (rv.QueueStats, error)
	// Republish publishes the tenant's decided, unpublished cases and
	// returns how many it published.
	Republish func(ctx context.Context, tenant string) (int, error)
	// Now defaults to time.Now.
	Now func() time.Time
}

// Config times the sweeps. Zero values take the defaults noted.
type Config struct {
	// Interval between the end of a sweep and the start of the next
	// (default 30s).
	Interval time.Duration
	// Timeout bounds one sweep (default 1m).
	Timeout time.Duration
}

// Option configures Start.
type Option func(*options)

type options struct {
	log *slog.Logger
	reg prometheus.Registerer
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithRegisterer registers the monitor's metrics (default: none).
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.reg = r } }

// TenantReport is one tenant's part of a sweep.
type TenantReport struct {
	Tenant      string
	Stats       rv.QueueStats
	Republished int
	// Err is the first error of the tenant's sweep (its stats are then
	// those of the previous sweep in the metrics).
	Err error
}

// Report is one sweep.
type Report struct {
	At      time.Time
	Tenants []TenantReport
	// Err: the tenants could not be listed (no tenant was swept).
	Err error
}

// Monitor is the handle of a running monitor actor.
type Monitor struct {
	m       *metrics
	sys     *actor.ActorSystem
	pid     *actor.PID
	closed  atomic.Bool
	stopped chan struct{}
}

// Start spawns the monitor in sys. The first sweep runs at once.
func Start(sys *actor.ActorSystem, deps Deps, cfg Config, opts ...Option) (*Monitor, error) {
	if sys == nil || deps.Tenants == nil || deps.Stats == nil || deps.Republish == nil {
		return nil, errors.New("review monitor: Start needs an actor system, Tenants, Stats and Republish")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	o := options{log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	m, err := newMetrics(o.reg)
	if err != nil {
		return nil, err
	}
	mon := &Monitor{m: m, sys: sys, stopped: make(chan struct{})}
	a := &monitorActor{deps: deps, cfg: cfg, log: o.log.With("component", "review-monitor"), m: m,
		overdue: map[string]map[rv.Priority]int{}, stopped: mon.stopped}
	mon.pid, err = sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return a }), "review-monitor")
	if err != nil {
		return nil, fmt.Errorf("review monitor: spawn: %w", err)
	}
	return mon, nil
}

// Sweep runs a sweep now (after the one in progress, if any) and returns
// its report, or ctx's error.
func (m *Monitor) Sweep(ctx context.Context) (Report, error) {
	if m.closed.Load() {
		return Report{}, ErrClosed
	}
	reply := make(chan Report, 1)
	m.sys.Root.Send(m.pid, &sweepNow{reply: reply})
	select {
	case r := <-reply:
		return r, nil
	case <-m.stopped:
		return Report{}, ErrClosed
	case <-ctx.Done():
		return Report{}, ctx.Err()
	}
}

// Close stops the monitor; a sweep in progress finishes in the background
// and its result is dropped.
func (m *Monitor) Close() {
	if m.closed.Swap(true) {
		return
	}
	_ = m.sys.Root.StopFuture(m.pid).Wait()
}

// --------------------------------------------------------------- actor ---

type tick struct{ gen uint64 }

type sweepNow struct{ reply chan Report }

type swept struct{ report Report }

func (tick) IgnoreDeadLetterLogging()   {}
func (*swept) IgnoreDeadLetterLogging() {}

type monitorActor struct {
	deps    Deps
	cfg     Config
	log     *slog.Logger
	m       *metrics
	stopped chan struct{}

	sweeping bool
	// waiting: Sweep callers for the sweep in progress; next: for the one
	// after it (they asked while one was running).
	waiting, next []chan Report
	timerGen      uint64
	// overdue is the previous sweep's overdue counts, per tenant.
	overdue map[string]map[rv.Priority]int
	tenants map[string]bool
}

func (a *monitorActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case tick:
		if msg.gen == a.timerGen && !a.sweeping {
			a.start(ctx)
		}
	case *sweepNow:
		if a.sweeping {
			a.next = append(a.next, msg.reply)
			return
		}
		a.waiting = append(a.waiting, msg.reply)
		a.start(ctx)
	case *swept:
		a.finish(msg.report)
		for _, w := range a.waiting {
			w <- msg.report
		}
		a.waiting, a.next = a.next, nil
		a.sweeping = false
		if len(a.waiting) > 0 {
			a.start(ctx)
			return
		}
		a.arm(ctx)
	case *actor.Stopped:
		close(a.stopped)
	}
}

// start runs one sweep off the mailbox.
func (a *monitorActor) start(ctx actor.Context) {
	a.sweeping = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Timeout)
		defer cancel()
		root.Send(self, &swept{report: sweep(sctx, a.deps)})
	}()
}

func (a *monitorActor) arm(ctx actor.Context) {
	a.timerGen++
	gen := a.timerGen
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(a.cfg.Interval, func() { root.Send(self, tick{gen: gen}) })
}

// sweep measures and republishes every tenant's queue. A tenant's failure
// does not stop the others.
func sweep(ctx context.Context, d Deps) Report {
	r := Report{At: d.Now()}
	ts, err := d.Tenants(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	for _, t := range ts {
		tr := TenantReport{Tenant: t}
		tr.Republished, tr.Err = d.Republish(ctx, t)
		st, err := d.Stats(ctx, t, r.At)
		if err != nil {
			tr.Err = errors.Join(tr.Err, err)
		} else {
			tr.Stats = st
		}
		r.Tenants = append(r.Tenants, tr)
	}
	return r
}

// finish records a sweep: metrics, and a warning per tenant and priority
// whose overdue count grew.
func (a *monitorActor) finish(r Report) {
	a.m.sweeps.Inc()
	if r.Err != nil {
		a.m.errors.WithLabelValues("").Inc()
		a.log.Warn("review queues not swept: tenants not listed", "err", r.Err)
		return
	}
	seen := map[string]bool{}
	for _, tr := range r.Tenants {
		seen[tr.Tenant] = true
		// Counters exist at 0 from the first sweep: rate() and alerts see
		// the series before the first event.
		a.m.republished.WithLabelValues(tr.Tenant)
		a.m.errors.WithLabelValues(tr.Tenant)
		if tr.Republished > 0 {
			a.m.republished.WithLabelValues(tr.Tenant).Add(float64(tr.Republished))
			a.log.Info("review decisions republished", "tenant", tr.Tenant, "count", tr.Republished)
		}
		if tr.Err != nil {
			a.m.errors.WithLabelValues(tr.Tenant).Inc()
			a.log.Warn("review queue sweep failed", "tenant", tr.Tenant, "err", tr.Err)
		}
		if tr.Stats.Waiting == nil { // stats failed: keep the last values
			continue
		}
		prev := a.overdue[tr.Tenant]
		cur := map[rv.Priority]int{}
		for st, byPrio := range tr.Stats.Waiting {
			for p, n := range byPrio {
				a.m.waiting.WithLabelValues(tr.Tenant, string(st), p.String()).Set(float64(n))
			}
		}
		for p, n := range tr.Stats.Overdue {
			cur[p] = n
			a.m.overdue.WithLabelValues(tr.Tenant, p.String()).Set(float64(n))
			a.m.mostOverdue.WithLabelValues(tr.Tenant, p.String()).Set(tr.Stats.MostOverdue[p].Seconds())
			if n > prev[p] {
				a.log.Warn("review cases past their SLA", "tenant", tr.Tenant, "priority", p.String(), "overdue", n,
					"most_overdue", tr.Stats.MostOverdue[p].Round(time.Second).String())
			}
		}
		a.overdue[tr.Tenant] = cur
	}
	// A tenant that is gone takes its series with it.
	for t := range a.tenants {
		if !seen[t] {
			a.m.forget(t)
			delete(a.overdue, t)
		}
	}
	a.tenants = seen
	a.m.lastSweep.Set(float64(r.At.Unix()))
}
