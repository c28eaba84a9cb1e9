// Package inference is the pooled batching layer in front of a model backend
// (inference.Backend): per model, a pool of batcher actors on the node (plain
// Proto.Actor actors, not cluster grains). Callers send single requests with
// Pool.Infer; a batcher gathers them until MaxBatch items are queued or
// MaxDelay has passed since the oldest one arrived, makes one backend call with
// the concatenated batch, and answers each requester with its slice of the
// outputs.
//
// Flow control and failure semantics:
//
//   - The queue of a pool is bounded (QueueSize requests admitted and not yet
//     in a backend call). When it is full Infer fails at once with
//     inference.ErrOverloaded; it never waits for room.
//   - The backend call runs in its own goroutine; the batcher keeps accepting
//     requests into the next batch meanwhile. A batcher has at most
//     MaxInFlight calls in progress (default 1), so a pool of N batchers makes
//     at most N×MaxInFlight concurrent backend calls. When a call finishes, the
//     requests that queued behind it leave as one batch (up to MaxBatch) without
//     waiting any longer: under load, batches grow by themselves.
//   - A request whose ctx is done before its batch leaves is dropped from the
//     batch and answered with ctx.Err(); Infer itself returns ctx.Err() as soon
//     as ctx is done, whatever the batch is doing.
//   - The backend call's ctx carries the LATEST deadline among the members of
//     the batch (none if a member has none), bounded by CallTimeout, and is
//     cancelled by Close. One impatient caller therefore does not fail the
//     others; a caller that stops waiting simply ignores its result.
//   - A backend error is delivered to every requester of the batch; a panic in
//     the backend is recovered and delivered as ErrBackendPanic. The batcher
//     carries on with the next batch.
//   - Close answers every queued request with ErrClosed, cancels the calls in
//     progress (their requesters get an error wrapping ErrClosed) and waits for
//     them to return; Infer after Close fails with ErrClosed.
//
// Metrics (NewMetrics): ekyc_inference_queue_depth{model} is the autoscaling
// signal a deployment scales its GPU pods on; see Metrics.
package inference

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	inf "github.com/openekyc/ekyc/inference"
)

// Errors of the pool, checked with errors.Is. Overload is
// inference.ErrOverloaded, bad inputs inference.ErrBadInput.
var (
	// ErrClosed: the pool was closed before the request was answered.
	ErrClosed = errors.New("inference: pool closed")
	// ErrBackendPanic: the backend panicked during the request's batch.
	ErrBackendPanic = errors.New("inference: backend panicked")
	// ErrBadOutput: the backend returned outputs that do not split into the
	// batch's items (wrong batch dimension or length).
	ErrBadOutput = errors.New("inference: backend returned malformed outputs")
)

// Defaults of PoolConfig.
const (
	DefaultBatchers    = 1
	DefaultMaxDelay    = 2 * time.Millisecond
	DefaultQueueSize   = 256
	DefaultMaxInFlight = 1
	DefaultCallTimeout = 30 * time.Second
	// MaxBatchCap caps the default MaxBatch taken from the backend's ModelInfo.
	MaxBatchCap = 64
)

// NoDelay as PoolConfig.MaxDelay turns batching off: no waiting, every
// request is its own backend call (MaxBatch is forced to 1).
const NoDelay time.Duration = -1

// modelInfoTimeout bounds the ModelInfo lookup of NewPool.
const modelInfoTimeout = 30 * time.Second

// PoolConfig configures the pool of one model.
type PoolConfig struct {
	// Model is the backend's model name.
	Model string
	// Batchers is the number of batcher actors (default 1).
	Batchers int
	// MaxBatch is the largest batch of one backend call. Default: the
	// backend's ModelInfo.MaxBatch capped at MaxBatchCap; a larger value is
	// capped at ModelInfo.MaxBatch. A backend that states no MaxBatch (≤ 0) is
	// taken to accept batches of 1 only unless MaxBatch is set.
	MaxBatch int
	// MaxDelay is how long a batch waits for more items after its first one
	// arrived (default 2ms when zero). NoDelay (any negative value) turns
	// batching off: every request is its own call.
	MaxDelay time.Duration
	// QueueSize bounds the requests admitted and not yet in a backend call,
	// over the whole pool (default 256). Beyond it Infer returns
	// inference.ErrOverloaded at once.
	QueueSize int
	// MaxInFlight is the number of concurrent backend calls per batcher
	// (default 1).
	MaxInFlight int
	// CallTimeout bounds one backend call (default 30s; negative: no bound
	// other than the members' deadlines).
	CallTimeout time.Duration
}

// Option configures a pool.
type Option func(*options)

type options struct {
	metrics *Metrics
	logger  *slog.Logger
}

// WithMetrics records the pool's metrics on m (shared by the pools of a node).
func WithMetrics(m *Metrics) Option { return func(o *options) { o.metrics = m } }

// WithRegisterer registers the metrics on reg (collectors already registered
// there by another pool are reused). WithMetrics takes precedence.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(o *options) {
		if o.metrics == nil {
			o.metrics = NewMetrics(reg)
		}
	}
}

// WithLogger sets the logger (slog.Default by default). Tensors are never
// logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Pool is the set of batcher actors of one model. It is safe for concurrent
// use.
type Pool struct {
	system  *actor.ActorSystem
	backend inf.Backend
	model   string
	info    inf.ModelInfo
	logger  *slog.Logger
	metrics *modelMetrics

	maxBatch    int
	maxDelay    time.Duration
	queueSize   int64
	maxInFlight int
	callTimeout time.Duration

	batchers []*batcher
	next     atomic.Uint64 // round-robin start of the least-loaded scan
	queued   atomic.Int64  // admitted, not yet in a backend call

	// mu guards closed and every Send into a batcher from outside the actor:
	// once Close holds it, nothing more reaches a batcher's mailbox except
	// the PoisonPill, so nothing is lost in dead letters.
	mu     sync.RWMutex
	closed atomic.Bool
	ctx    context.Context // parent of backend calls, cancelled by Close
	cancel context.CancelFunc
	calls  sync.WaitGroup // backend call goroutines
	once   sync.Once
}

// NewPool looks the model up on the backend and starts cfg.Batchers batcher
// actors on system.
func NewPool(system *actor.ActorSystem, backend inf.Backend, cfg PoolConfig, opts ...Option) (*Pool, error) {
	if system == nil || backend == nil {
		return nil, errors.New("inference: NewPool needs an actor system and a backend")
	}
	if cfg.Model == "" {
		return nil, errors.New("inference: PoolConfig.Model is empty")
	}
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.metrics == nil {
		o.metrics = NewMetrics(nil)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	ictx, icancel := context.WithTimeout(context.Background(), modelInfoTimeout)
	info, err := backend.Model(ictx, cfg.Model)
	icancel()
	if err != nil {
		return nil, fmt.Errorf("inference: model %q: %w", cfg.Model, err)
	}

	if cfg.Batchers <= 0 {
		cfg.Batchers = DefaultBatchers
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	switch {
	case cfg.CallTimeout == 0:
		cfg.CallTimeout = DefaultCallTimeout
	case cfg.CallTimeout < 0:
		cfg.CallTimeout = 0
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = min(max(info.MaxBatch, 1), MaxBatchCap)
	} else if info.MaxBatch > 0 && cfg.MaxBatch > info.MaxBatch {
		cfg.MaxBatch = info.MaxBatch
	}
	switch {
	case cfg.MaxDelay == 0:
		cfg.MaxDelay = DefaultMaxDelay
	case cfg.MaxDelay < 0:
		cfg.MaxDelay, cfg.MaxBatch = 0, 1
	}

	p := &Pool{
		system:      system,
		backend:     backend,
		model:       cfg.Model,
		info:        info,
		logger:      o.logger.With("component", "inference", "model", cfg.Model),
		metrics:     o.metrics.forModel(cfg.Model),
		maxBatch:    cfg.MaxBatch,
		maxDelay:    cfg.MaxDelay,
		queueSize:   int64(cfg.QueueSize),
		maxInFlight: cfg.MaxInFlight,
		callTimeout: cfg.CallTimeout,
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	for i := 0; i < cfg.Batchers; i++ {
		b := &batcher{pool: p}
		// The producer returns the same batcher on restart, so the count of
		// calls in flight survives a (never expected) failure of the actor.
		b.pid = system.Root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return b }), "inference-"+cfg.Model)
		p.batchers = append(p.batchers, b)
	}
	return p, nil
}

// Model is the model's description, as the backend gave it to NewPool.
func (p *Pool) Model() inf.ModelInfo { return p.info }

// MaxBatch is the effective largest batch.
func (p *Pool) MaxBatch() int { return p.maxBatch }

// QueueDepth is the number of requests admitted and not yet in a backend call.
func (p *Pool) QueueDepth() int { return int(p.queued.Load()) }

// Infer runs the model on one item: every input has batch dimension 1, in
// the order of ModelInfo.Inputs. It returns the outputs in the order of
// ModelInfo.Outputs, each with batch dimension 1. It fails at once with
// inference.ErrOverloaded when the pool's queue is full, and returns ctx.Err()
// when ctx is done first. The input tensors must not be modified until Infer
// returns.
func (p *Pool) Infer(ctx context.Context, inputs []inf.Tensor) ([]inf.Tensor, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	if err := p.validate(inputs); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Admission: a slot in the bounded queue, or ErrOverloaded now.
	for {
		q := p.queued.Load()
		if q >= p.queueSize {
			p.metrics.overloaded.Inc()
			return nil, fmt.Errorf("%w: model %q has %d requests queued", inf.ErrOverloaded, p.model, q)
		}
		if p.queued.CompareAndSwap(q, q+1) {
			break
		}
	}
	p.metrics.queueDepth.Inc()

	start := time.Now()
	r := &request{ctx: ctx, inputs: inputs, enqueued: start, reply: make(chan result, 1)}
	b := p.pick()
	b.load.Add(1)
	r.batcher = b
	p.mu.RLock()
	if p.closed.Load() {
		p.mu.RUnlock()
		p.leaveQueue(1)
		b.load.Add(-1)
		return nil, ErrClosed
	}
	p.system.Root.Send(b.pid, r)
	p.mu.RUnlock()

	select {
	case res := <-r.reply:
		p.metrics.requestDuration.Observe(time.Since(start).Seconds())
		return res.outputs, res.err
	case <-ctx.Done():
		// The batcher drops the request if its batch has not left yet, or
		// discards its result.
		p.metrics.requestDuration.Observe(time.Since(start).Seconds())
		return nil, ctx.Err()
	}
}

// Close stops the batchers. Queued requests are answered with ErrClosed;
// backend calls in progress are cancelled and Close waits for them to return.
// It does not close the backend. Close is idempotent.
func (p *Pool) Close() {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed.Store(true)
		p.mu.Unlock()
		p.cancel()
		for _, b := range p.batchers {
			// The PoisonPill queues behind the requests already sent: the
			// batcher answers them with ErrClosed, then stops.
			_ = p.system.Root.PoisonFuture(b.pid).Wait()
		}
		p.calls.Wait()
	})
}

func (p *Pool) validate(inputs []inf.Tensor) error {
	if len(inputs) == 0 {
		return fmt.Errorf("%w: no input tensors", inf.ErrBadInput)
	}
	if n := len(p.info.Inputs); n > 0 && len(inputs) != n {
		return fmt.Errorf("%w: model %q takes %d inputs, got %d", inf.ErrBadInput, p.model, n, len(inputs))
	}
	for _, t := range inputs {
		if len(t.Shape) == 0 || t.Shape[0] != 1 {
			return fmt.Errorf("%w: tensor %q has shape %v; a request is one item (batch dimension 1)", inf.ErrBadInput, t.Name, t.Shape)
		}
		if err := t.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// pick is the least-loaded batcher, scanning from a rotating start so ties
// are spread round-robin.
func (p *Pool) pick() *batcher {
	n := len(p.batchers)
	if n == 1 {
		return p.batchers[0]
	}
	start := int(p.next.Add(1) % uint64(n))
	best := p.batchers[start]
	bestLoad := best.load.Load()
	for i := 1; i < n && bestLoad > 0; i++ {
		b := p.batchers[(start+i)%n]
		if l := b.load.Load(); l < bestLoad {
			best, bestLoad = b, l
		}
	}
	return best
}

// leaveQueue records that n requests left the queue (into a call, or
// answered).
func (p *Pool) leaveQueue(n int) {
	p.queued.Add(-int64(n))
	p.metrics.queueDepth.Sub(float64(n))
}

// send delivers msg to a batcher unless the pool is closed (then the batcher
// is stopping and does not need it). It reports whether msg was sent.
func (p *Pool) send(pid *actor.PID, msg any) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed.Load() {
		return false
	}
	p.system.Root.Send(pid, msg)
	return true
}

// batchContext is the context of a backend call: the latest deadline among
// the members (none if one has none), bounded by the call timeout, cancelled
// by Close.
func (p *Pool) batchContext(batch []*request) (context.Context, context.CancelFunc) {
	var latest time.Time
	bounded := true
	for _, r := range batch {
		d, ok := r.ctx.Deadline()
		if !ok {
			bounded = false
			break
		}
		if d.After(latest) {
			latest = d
		}
	}
	if p.callTimeout > 0 {
		if t := time.Now().Add(p.callTimeout); !bounded || t.Before(latest) {
			latest, bounded = t, true
		}
	}
	if !bounded {
		return context.WithCancel(p.ctx)
	}
	return context.WithDeadline(p.ctx, latest)
}

// call runs one backend call for batch and answers its requesters. It runs in
// its own goroutine; b is told when it is over.
func (p *Pool) call(b *batcher, batch []*request) {
	defer p.calls.Done()
	p.metrics.inFlight.Inc()
	p.metrics.batchSize.Observe(float64(len(batch)))

	ctx, cancel := p.batchContext(batch)
	start := time.Now()
	outputs, err := p.safeInfer(ctx, concat(batch))
	cancel()
	p.metrics.backendDuration.Observe(time.Since(start).Seconds())
	p.metrics.inFlight.Dec()

	reason := ""
	var items [][]inf.Tensor
	switch {
	case err != nil && p.closed.Load():
		reason, err = reasonClosed, fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.Is(err, ErrBackendPanic):
		reason = reasonPanic
	case err != nil:
		reason = reasonBackend
	default:
		if items, err = split(outputs, len(batch)); err != nil {
			reason = reasonBadOutput
		}
	}
	for i, r := range batch {
		if err != nil {
			p.answer(r, result{err: err}, reason)
		} else {
			p.answer(r, result{outputs: items[i]}, "")
		}
	}
	p.send(b.pid, callDone{})
}

func (p *Pool) safeInfer(ctx context.Context, inputs []inf.Tensor) (out []inf.Tensor, err error) {
	defer func() {
		if v := recover(); v != nil {
			p.logger.Error("backend panicked; the batch is answered with an error", "panic", fmt.Sprint(v))
			out, err = nil, fmt.Errorf("%w: %v", ErrBackendPanic, v)
		}
	}()
	return p.backend.Infer(ctx, p.model, inputs)
}

// answer delivers the result of r (exactly once per request; reply is
// buffered) and counts an error under reason.
func (p *Pool) answer(r *request, res result, reason string) {
	if res.err != nil {
		p.metrics.errors[reason].Inc()
	}
	r.batcher.load.Add(-1)
	r.reply <- res
}

// concat builds the batch inputs: each input of every member, concatenated
// along the batch dimension. A batch of one is passed through.
func concat(batch []*request) []inf.Tensor {
	if len(batch) == 1 {
		return batch[0].inputs
	}
	head := batch[0].inputs
	out := make([]inf.Tensor, len(head))
	for j, t := range head {
		per := len(t.Data)
		data := make([]float32, 0, per*len(batch))
		for _, r := range batch {
			data = append(data, r.inputs[j].Data...)
		}
		shape := slices.Clone(t.Shape)
		shape[0] = int64(len(batch))
		out[j] = inf.Tensor{Name: t.Name, Shape: shape, Data: data}
	}
	return out
}

// split cuts each output along the batch dimension into n items.
func split(outputs []inf.Tensor, n int) ([][]inf.Tensor, error) {
	items := make([][]inf.Tensor, n)
	for i := range items {
		items[i] = make([]inf.Tensor, len(outputs))
	}
	for j, o := range outputs {
		if len(o.Shape) == 0 || o.Shape[0] != int64(n) || o.Validate() != nil {
			return nil, fmt.Errorf("%w: output %q has shape %v and %d values for a batch of %d", ErrBadOutput, o.Name, o.Shape, len(o.Data), n)
		}
		per := len(o.Data) / n
		for i := range items {
			shape := slices.Clone(o.Shape)
			shape[0] = 1
			lo, hi := i*per, (i+1)*per
			items[i][j] = inf.Tensor{Name: o.Name, Shape: shape, Data: o.Data[lo:hi:hi]}
		}
	}
	return items, nil
}
