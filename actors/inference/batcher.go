package inference

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	inf "github.com/openekyc/ekyc/inference"
)

// request is one Infer call on its way through a batcher. Messages between
// the pool and its batchers are local only (they carry channels and
// contexts) and are never logged, not even as dead letters: they carry
// biometric data.
type request struct {
	ctx      context.Context
	inputs   []inf.Tensor
	enqueued time.Time
	batcher  *batcher
	reply    chan result // buffered (1): answered exactly once, never blocks
}

type result struct {
	outputs []inf.Tensor
	err     error
}

// flush is the MaxDelay timer of the oldest pending request; gen tells a
// current timer from a superseded one.
type flush struct{ gen uint64 }

// callDone: a backend call of this batcher returned (its requesters are
// already answered).
type callDone struct{}

func (*request) IgnoreDeadLetterLogging() {}
func (flush) IgnoreDeadLetterLogging()    {}
func (callDone) IgnoreDeadLetterLogging() {}

// batcher is the actor that gathers requests into batches. Its state is
// touched only by the actor, except load (read by Pool.pick).
type batcher struct {
	pool *Pool
	pid  *actor.PID
	// load: requests sent to this batcher and not yet answered.
	load atomic.Int64

	pending  []*request // FIFO, oldest first
	inFlight int        // backend calls in progress
	timerGen uint64
	timerAt  time.Time // deadline of the armed timer; zero: none
}

func (b *batcher) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *request:
		if b.pool.closed.Load() {
			b.reject(m, ErrClosed, reasonClosed)
			return
		}
		b.pending = append(b.pending, m)
		b.dispatch(ctx)
	case flush:
		if m.gen == b.timerGen {
			b.timerAt = time.Time{}
			b.dispatch(ctx)
		}
	case callDone:
		b.inFlight--
		b.dispatch(ctx)
	case *actor.Restarting, *actor.Stopping:
		// A restart (never expected: the actor does not call the backend)
		// would lose the pending requests; answer them rather than leave
		// their callers waiting. On stop, they get ErrClosed.
		for _, r := range b.pending {
			b.reject(r, ErrClosed, reasonClosed)
		}
		b.pending = nil
		b.timerGen++
		b.timerAt = time.Time{}
	}
}

// dispatch starts every batch that is due while a call slot is free, and arms
// the MaxDelay timer for the oldest request left waiting.
func (b *batcher) dispatch(ctx actor.Context) {
	p := b.pool
	if p.closed.Load() {
		for _, r := range b.pending {
			b.reject(r, ErrClosed, reasonClosed)
		}
		b.pending = b.pending[:0]
		return
	}
	for b.inFlight < p.maxInFlight {
		b.dropExpiredHead()
		if len(b.pending) == 0 {
			return
		}
		now := time.Now()
		if len(b.pending) < p.maxBatch && now.Sub(b.pending[0].enqueued) < p.maxDelay {
			b.arm(ctx, b.pending[0].enqueued.Add(p.maxDelay), now)
			return
		}
		batch := b.take()
		if len(batch) == 0 {
			continue // all the candidates had expired
		}
		p.leaveQueue(len(batch))
		b.inFlight++
		p.calls.Add(1)
		go p.call(b, batch)
	}
}

// dropExpiredHead answers and removes the expired requests at the front, so
// that the age of the batch is that of a live request.
func (b *batcher) dropExpiredHead() {
	i := 0
	for i < len(b.pending) && b.pending[i].ctx.Err() != nil {
		b.reject(b.pending[i], b.pending[i].ctx.Err(), reasonExpired)
		i++
	}
	if i > 0 {
		b.pending = slices.Delete(b.pending, 0, i)
	}
}

// take removes the next batch from pending: the oldest request and, in
// arrival order, the following ones whose input shapes match it, up to
// MaxBatch. Expired requests met on the way are dropped and answered.
func (b *batcher) take() []*request {
	p := b.pool
	head := b.pending[0]
	batch := make([]*request, 0, min(p.maxBatch, len(b.pending)))
	rest := b.pending[:0]
	for _, r := range b.pending {
		switch {
		case len(batch) == p.maxBatch:
			rest = append(rest, r)
		case r.ctx.Err() != nil:
			b.reject(r, r.ctx.Err(), reasonExpired)
		case r == head || sameShapes(head.inputs, r.inputs):
			batch = append(batch, r)
		default:
			rest = append(rest, r)
		}
	}
	clear(b.pending[len(rest):])
	b.pending = rest
	return batch
}

// reject answers a request that never reached a backend call; it leaves the
// queue.
func (b *batcher) reject(r *request, err error, reason string) {
	b.pool.leaveQueue(1)
	b.pool.answer(r, result{err: err}, reason)
}

// arm makes sure a timer fires at or before at.
func (b *batcher) arm(ctx actor.Context, at, now time.Time) {
	if !b.timerAt.IsZero() && !b.timerAt.After(at) {
		return
	}
	b.timerGen++
	b.timerAt = at
	gen, pid, p := b.timerGen, ctx.Self(), b.pool
	time.AfterFunc(at.Sub(now), func() { p.send(pid, flush{gen: gen}) })
}

func sameShapes(a, b []inf.Tensor) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.Equal(a[i].Shape, b[i].Shape) {
			return false
		}
	}
	return true
}
