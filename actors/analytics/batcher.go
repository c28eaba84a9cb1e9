// Package analytics is the analytics actor: it gathers decision rows into
// batches (bounded by size and age) and writes them to an analytics store,
// off the decision path.
//
// The node feeds it from its own consumer group on the decisions topic, so
// the topic is the durable buffer: Add returns only once the row's batch is
// written, the consumer commits the record's offset only then, and a row
// that could not be written yet stays in Kafka and is redelivered. A slow or
// down analytics store therefore never delays a decision (decisions are
// produced by the session actors, which never talk to this actor), and never
// loses one: the batcher retries a failed batch with backoff, the consumer's
// in-flight bound stops fetching when the batcher is full, and a crash
// redelivers what was not committed. Stores are idempotent by decision id,
// so a redelivered row does not count twice.
package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	// ErrOverloaded: the batcher holds MaxBuffered rows already; the caller
	// retries later (the consumer backs off and redelivers).
	ErrOverloaded = errors.New("analytics: batcher full")
	// ErrClosed: the batcher is stopped.
	ErrClosed = errors.New("analytics: batcher closed")
)

// WriteFunc writes one batch. It must be idempotent per row (a batch may be
// written again after a failure that happened after the store applied it).
type WriteFunc[T any] func(ctx context.Context, rows []T) error

// Config bounds the batches. Zero values take the defaults noted.
type Config struct {
	// BatchSize: a batch is written as soon as it has this many rows
	// (default 1000).
	BatchSize int
	// MaxAge: ... or when its oldest row has waited this long (default 1s).
	MaxAge time.Duration
	// MaxBuffered bounds the rows held (pending and being written); Add
	// beyond it fails with ErrOverloaded (default 20000).
	MaxBuffered int
	// WriteTimeout bounds one write attempt (default 30s).
	WriteTimeout time.Duration
	// RetryMin and RetryMax bound the jittered exponential backoff between
	// attempts of a failed batch (defaults 200ms, 30s).
	RetryMin, RetryMax time.Duration
}

func (c *Config) defaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.MaxAge <= 0 {
		c.MaxAge = time.Second
	}
	if c.MaxBuffered <= 0 {
		c.MaxBuffered = 20000
	}
	if c.MaxBuffered < c.BatchSize {
		c.MaxBuffered = c.BatchSize
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.RetryMin <= 0 {
		c.RetryMin = 200 * time.Millisecond
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(30*time.Second, c.RetryMin)
	}
}

// Option configures a Batcher.
type Option func(*options)

type options struct {
	log  *slog.Logger
	reg  prometheus.Registerer
	name string
}

// WithLogger sets the logger (slog.Default by default). Rows are never
// logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithRegisterer registers the batcher's metrics.
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.reg = r } }

// WithName names the store in metrics and logs (label "store").
func WithName(n string) Option { return func(o *options) { o.name = n } }

// Batcher is the handle of a running analytics actor.
type Batcher[T any] struct {
	sys    *actor.ActorSystem
	pid    *actor.PID
	m      *metrics
	closed atomic.Bool
	// stopped is closed when the actor has stopped: an Add racing with
	// Close then ends instead of waiting for a reply that cannot come.
	stopped chan struct{}
}

// Start spawns the analytics actor in sys, writing with write.
func Start[T any](sys *actor.ActorSystem, write WriteFunc[T], cfg Config, opts ...Option) (*Batcher[T], error) {
	if sys == nil || write == nil {
		return nil, errors.New("analytics: Start needs an actor system and a write function")
	}
	cfg.defaults()
	o := options{log: slog.Default(), name: "analytics"}
	for _, opt := range opts {
		opt(&o)
	}
	m, err := newMetrics(o.reg, o.name)
	if err != nil {
		return nil, err
	}
	a := &batchActor[T]{write: write, cfg: cfg, log: o.log.With("component", "analytics", "store", o.name), m: m}
	pid, err := sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return a }), "analytics-"+o.name)
	if err != nil {
		return nil, fmt.Errorf("analytics: spawn: %w", err)
	}
	return &Batcher[T]{sys: sys, pid: pid, m: m, stopped: make(chan struct{})}, nil
}

// Add hands one row to the actor and waits until the batch holding it is
// written (nil), ctx ends, or the row is refused (ErrOverloaded,
// ErrClosed). On a ctx error the row may still be written later: writes
// are idempotent, so the caller may simply retry.
func (b *Batcher[T]) Add(ctx context.Context, row T) error {
	if b.closed.Load() {
		return ErrClosed
	}
	reply := make(chan error, 1)
	b.sys.Root.Send(b.pid, &add[T]{row: row, reply: reply})
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stopped:
		select {
		case err := <-reply:
			return err
		default:
			return ErrClosed
		}
	}
}

// Close flushes what is pending (one attempt, bounded by ctx) and stops
// the actor. Rows whose write fails here get ErrClosed: their records are
// not committed and will be redelivered.
func (b *Batcher[T]) Close(ctx context.Context) error {
	if b.closed.Swap(true) {
		<-b.stopped
		return nil
	}
	defer close(b.stopped)
	f := b.sys.Root.RequestFuture(b.pid, &drain{ctx: ctx}, time.Hour)
	_, _ = f.Result()
	return b.sys.Root.StopFuture(b.pid).Wait()
}

// ------------------------------------------------------------ the actor ---

type add[T any] struct {
	row   T
	reply chan error // buffered (1): answered exactly once
}

// flushAt is the MaxAge timer of the oldest pending row; retryAt the
// backoff timer of a failed batch. gen tells current timers from old ones.
type flushAt struct{ gen uint64 }
type retryAt struct{}
type written struct {
	err error
	dur time.Duration
}
type drain struct{ ctx context.Context }

// Messages carry rows (tenant and session ids, no PII, but still data): never
// logged as dead letters.
func (*add[T]) IgnoreDeadLetterLogging()  {}
func (flushAt) IgnoreDeadLetterLogging()  {}
func (retryAt) IgnoreDeadLetterLogging()  {}
func (*written) IgnoreDeadLetterLogging() {}
func (*drain) IgnoreDeadLetterLogging()   {}

type batchActor[T any] struct {
	write WriteFunc[T]
	cfg   Config
	log   *slog.Logger
	m     *metrics

	pending  []*add[T] // not yet in a write, oldest first
	inFlight []*add[T] // the batch being written (or waiting to be retried)
	writing  bool
	failures int // consecutive failures of inFlight
	// nextRetry: when the failed inFlight batch may be written again.
	nextRetry time.Time
	oldest    time.Time
	timerGen  uint64
	closed    bool
}

func (a *batchActor[T]) buffered() int { return len(a.pending) + len(a.inFlight) }

func (a *batchActor[T]) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *add[T]:
		switch {
		case a.closed:
			m.reply <- ErrClosed
			return
		case a.buffered() >= a.cfg.MaxBuffered:
			a.m.overloaded.Inc()
			m.reply <- ErrOverloaded
			return
		}
		if len(a.pending) == 0 {
			a.oldest = time.Now()
			a.armFlush(ctx, a.cfg.MaxAge)
		}
		a.pending = append(a.pending, m)
		a.m.buffered.Set(float64(a.buffered()))
		a.dispatch(ctx, false)
	case flushAt:
		if m.gen == a.timerGen {
			a.dispatch(ctx, true)
		}
	case retryAt:
		a.dispatch(ctx, false)
	case *written:
		a.done(ctx, m)
	case *drain:
		a.closed = true
		a.drainAll(m.ctx)
		ctx.Respond(true)
	case *actor.Stopping:
		a.closed = true
		a.fail(a.inFlight, ErrClosed)
		a.fail(a.pending, ErrClosed)
		a.inFlight, a.pending = nil, nil
	}
}

// dispatch starts a write when none is running and there is a batch to
// write: the failed batch first (when its backoff is over), else a full
// batch, else (when due) the aged pending rows.
func (a *batchActor[T]) dispatch(ctx actor.Context, due bool) {
	if a.writing || a.closed {
		return
	}
	if len(a.inFlight) > 0 {
		if a.failures > 0 && !a.retryDue() {
			return
		}
	} else {
		switch {
		case len(a.pending) >= a.cfg.BatchSize:
		case len(a.pending) > 0 && (due || time.Since(a.oldest) >= a.cfg.MaxAge):
		default:
			return
		}
		n := min(len(a.pending), a.cfg.BatchSize)
		a.inFlight = a.pending[:n:n]
		a.pending = append([]*add[T](nil), a.pending[n:]...)
		if len(a.pending) > 0 {
			a.oldest = time.Now()
			a.armFlush(ctx, a.cfg.MaxAge)
		}
	}
	a.writing = true
	rows := make([]T, len(a.inFlight))
	for i, r := range a.inFlight {
		rows[i] = r.row
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		wctx, cancel := context.WithTimeout(context.Background(), a.cfg.WriteTimeout)
		defer cancel()
		t := time.Now()
		err := a.write(wctx, rows)
		root.Send(self, &written{err: err, dur: time.Since(t)})
	}()
}

func (a *batchActor[T]) retryDue() bool { return !time.Now().Before(a.nextRetry) }

func (a *batchActor[T]) done(ctx actor.Context, w *written) {
	a.writing = false
	a.m.writeSeconds.Observe(w.dur.Seconds())
	if w.err != nil {
		a.failures++
		a.m.failures.Inc()
		d := backoff(a.failures, a.cfg.RetryMin, a.cfg.RetryMax)
		a.nextRetry = time.Now().Add(d)
		if a.failures == 1 || a.failures%20 == 0 {
			a.log.Warn("analytics write failed; rows stay buffered (and uncommitted in Kafka) and are retried",
				"rows", len(a.inFlight), "attempt", a.failures, "retry_in", d.Round(time.Millisecond), "err", w.err)
		}
		self, root := ctx.Self(), ctx.ActorSystem().Root
		time.AfterFunc(d, func() { root.Send(self, retryAt{}) })
		return
	}
	if a.failures > 0 {
		a.log.Info("analytics writes recovered", "after_attempts", a.failures+1)
	}
	a.failures = 0
	a.nextRetry = time.Time{}
	a.m.rows.Add(float64(len(a.inFlight)))
	a.m.batches.Inc()
	a.fail(a.inFlight, nil)
	a.inFlight = nil
	a.m.buffered.Set(float64(a.buffered()))
	a.dispatch(ctx, false)
}

// drainAll writes what is held, one attempt per batch, synchronously: the
// actor is stopping.
func (a *batchActor[T]) drainAll(ctx context.Context) {
	for len(a.inFlight) > 0 || len(a.pending) > 0 {
		if len(a.inFlight) == 0 {
			n := min(len(a.pending), a.cfg.BatchSize)
			a.inFlight, a.pending = a.pending[:n:n], a.pending[n:]
		}
		rows := make([]T, len(a.inFlight))
		for i, r := range a.inFlight {
			rows[i] = r.row
		}
		wctx, cancel := context.WithTimeout(ctx, a.cfg.WriteTimeout)
		err := a.write(wctx, rows)
		cancel()
		if err != nil {
			a.m.failures.Inc()
			a.log.Warn("analytics write failed while closing; the rows stay in Kafka", "rows", a.buffered(), "err", err)
			a.fail(a.inFlight, ErrClosed)
			a.fail(a.pending, ErrClosed)
			a.inFlight, a.pending = nil, nil
			break
		}
		a.m.rows.Add(float64(len(a.inFlight)))
		a.m.batches.Inc()
		a.fail(a.inFlight, nil)
		a.inFlight = nil
	}
	a.m.buffered.Set(0)
}

func (a *batchActor[T]) fail(rs []*add[T], err error) {
	for _, r := range rs {
		r.reply <- err
	}
}

func (a *batchActor[T]) armFlush(ctx actor.Context, d time.Duration) {
	a.timerGen++
	gen := a.timerGen
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(d, func() { root.Send(self, flushAt{gen: gen}) })
}

func backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo << min(attempt-1, 20)
	if d > hi || d <= 0 {
		d = hi
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
