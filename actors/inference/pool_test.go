package inference_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/actors/inference"
	inf "github.com/openekyc/ekyc/inference"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// One actor system for the package's tests.
var system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))

const (
	model  = "lin"
	inDim  = 6
	outDim = 3
)

// linear is a deterministic CPU backend: y = W·x for each item of the batch.
// It records every call's batch size and ctx deadline, can hold calls until
// released, and can be made to fail or panic on its next call.
type linear struct {
	w        []float32 // outDim × inDim
	maxBatch int
	gate     chan struct{} // nil: calls run at once; else they wait until closed (or ctx)

	mu        sync.Mutex
	batches   []int
	deadlines []time.Time
	failNext  error
	panicNext bool

	started    atomic.Int32
	running    atomic.Int32
	maxRunning atomic.Int32
}

func newLinear(maxBatch int, held bool) *linear {
	l := &linear{w: make([]float32, outDim*inDim), maxBatch: maxBatch}
	for i := range l.w {
		l.w[i] = float32(i%7) - 2.5
	}
	if held {
		l.gate = make(chan struct{})
	}
	return l
}

func (l *linear) release() { close(l.gate) }

func (l *linear) Model(_ context.Context, name string) (inf.ModelInfo, error) {
	if name != model {
		return inf.ModelInfo{}, fmt.Errorf("%w: %s", inf.ErrUnknownModel, name)
	}
	return inf.ModelInfo{Name: model,
		Inputs:   []inf.TensorInfo{{Name: "x", Shape: []int64{inDim}}},
		Outputs:  []inf.TensorInfo{{Name: "y", Shape: []int64{outDim}}},
		MaxBatch: l.maxBatch}, nil
}

func (l *linear) Close() error { return nil }

func (l *linear) Infer(ctx context.Context, name string, in []inf.Tensor) ([]inf.Tensor, error) {
	n := l.running.Add(1)
	defer l.running.Add(-1)
	for {
		m := l.maxRunning.Load()
		if n <= m || l.maxRunning.CompareAndSwap(m, n) {
			break
		}
	}
	if len(in) != 1 || len(in[0].Shape) != 2 || in[0].Shape[1] != inDim || in[0].Validate() != nil {
		return nil, fmt.Errorf("%w: %v", inf.ErrBadInput, in)
	}
	b := int(in[0].Shape[0])
	l.mu.Lock()
	l.batches = append(l.batches, b)
	d, _ := ctx.Deadline()
	l.deadlines = append(l.deadlines, d)
	fail, boom := l.failNext, l.panicNext
	l.failNext, l.panicNext = nil, false
	l.mu.Unlock()
	l.started.Add(1)
	if l.gate != nil {
		select {
		case <-l.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if boom {
		panic("linear: boom")
	}
	if fail != nil {
		return nil, fail
	}
	out := make([]float32, 0, b*outDim)
	for i := 0; i < b; i++ {
		out = append(out, apply(l.w, in[0].Data[i*inDim:(i+1)*inDim])...)
	}
	return []inf.Tensor{{Name: "y", Shape: []int64{int64(b), outDim}, Data: out}}, nil
}

func (l *linear) batchSizes() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.batches...)
}

func apply(w, x []float32) []float32 {
	y := make([]float32, outDim)
	for o := 0; o < outDim; o++ {
		var s float32
		for k := 0; k < inDim; k++ {
			s += w[o*inDim+k] * x[k]
		}
		y[o] = s
	}
	return y
}

// item is the input of request i: distinct values per request.
func item(i int) []inf.Tensor {
	x := make([]float32, inDim)
	for k := range x {
		x[k] = float32(i*inDim+k)/8 - 3
	}
	return []inf.Tensor{{Name: "x", Shape: []int64{1, inDim}, Data: x}}
}

type env struct {
	pool    *inference.Pool
	backend *linear
	metrics *inference.Metrics
}

func newEnv(t *testing.T, backend *linear, cfg inference.PoolConfig) *env {
	t.Helper()
	cfg.Model = model
	m := inference.NewMetrics(prometheus.NewRegistry())
	p, err := inference.NewPool(system, backend, cfg, inference.WithMetrics(m), inference.WithLogger(quiet))
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return &env{pool: p, backend: backend, metrics: m}
}

func (e *env) queueDepth() float64 {
	return testutil.ToFloat64(e.metrics.QueueDepth.WithLabelValues(model))
}

func (e *env) errorsFor(reason string) float64 {
	return testutil.ToFloat64(e.metrics.Errors.WithLabelValues(model, reason))
}

// eventually is bounded polling (not a timing assertion).
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, time.Millisecond, msg)
}

// check asserts that out is the model's output for request i.
func check(t *testing.T, i int, out []inf.Tensor) {
	t.Helper()
	require.Len(t, out, 1)
	require.Equal(t, "y", out[0].Name)
	require.Equal(t, []int64{1, outDim}, out[0].Shape)
	require.Equal(t, apply(newLinear(1, false).w, item(i)[0].Data), out[0].Data, "request %d", i)
}

type answer struct {
	out []inf.Tensor
	err error
}

// fire starts n concurrent requests (ids from first) and returns their
// answers, indexed by id-first, when all are in.
func fire(ctx context.Context, p *inference.Pool, first, n int) func() []answer {
	res := make([]answer, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := p.Infer(ctx, item(first+i))
			res[i] = answer{out, err}
		}()
	}
	return func() []answer { wg.Wait(); return res }
}

func TestEveryRequesterGetsItsOwnOutputs(t *testing.T) {
	e := newEnv(t, newLinear(64, false), inference.PoolConfig{Batchers: 2, MaxBatch: 8, MaxDelay: 5 * time.Millisecond})
	const n = 200
	res := fire(context.Background(), e.pool, 0, n)()
	for i, a := range res {
		require.NoError(t, a.err)
		check(t, i, a.out)
	}
	total := 0
	for _, b := range e.backend.batchSizes() {
		require.LessOrEqual(t, b, 8)
		total += b
	}
	require.Equal(t, n, total, "every request in exactly one batch")
	require.Zero(t, e.queueDepth())
	var h dto.Metric
	require.NoError(t, e.metrics.BatchSize.WithLabelValues(model).(prometheus.Metric).Write(&h))
	require.EqualValues(t, len(e.backend.batchSizes()), h.GetHistogram().GetSampleCount(), "one observation per call")
	require.EqualValues(t, n, h.GetHistogram().GetSampleSum())
}

func TestBatchesFormUpToMaxBatch(t *testing.T) {
	// With a delay far beyond the test, a batch leaves only when MaxBatch
	// requests are queued: 16 requests are exactly four calls of 4.
	e := newEnv(t, newLinear(64, false), inference.PoolConfig{MaxBatch: 4, MaxDelay: time.Hour})
	res := fire(context.Background(), e.pool, 0, 16)()
	for i, a := range res {
		require.NoError(t, a.err)
		check(t, i, a.out)
	}
	require.Equal(t, []int{4, 4, 4, 4}, e.backend.batchSizes())
}

func TestRequestsQueueBehindABusyBackendAndLeaveAsBatches(t *testing.T) {
	// MaxDelay 2ms: while the first call is held, the others queue; when it
	// returns they leave in batches of MaxBatch at once.
	be := newLinear(64, true)
	e := newEnv(t, be, inference.PoolConfig{MaxBatch: 8, MaxDelay: 2 * time.Millisecond})
	first := fire(context.Background(), e.pool, 0, 1)
	eventually(t, func() bool { return be.started.Load() == 1 }, "first call started")
	rest := fire(context.Background(), e.pool, 1, 24)
	eventually(t, func() bool { return e.queueDepth() == 24 }, "24 requests queued behind the held call")
	be.release()
	res := append(first(), rest()...)
	for i, a := range res {
		require.NoError(t, a.err)
		check(t, i, a.out)
	}
	require.Equal(t, []int{1, 8, 8, 8}, be.batchSizes())
	require.EqualValues(t, 1, be.maxRunning.Load(), "one call in flight per batcher")
}

func TestNoDelayMeansOneItemPerCall(t *testing.T) {
	be := newLinear(64, true)
	e := newEnv(t, be, inference.PoolConfig{MaxBatch: 32, MaxDelay: inference.NoDelay})
	require.Equal(t, 1, e.pool.MaxBatch())
	first := fire(context.Background(), e.pool, 0, 1)
	eventually(t, func() bool { return be.started.Load() == 1 }, "first call started")
	rest := fire(context.Background(), e.pool, 1, 15)
	eventually(t, func() bool { return e.queueDepth() == 15 }, "15 requests queued")
	be.release()
	res := append(first(), rest()...)
	for i, a := range res {
		require.NoError(t, a.err)
		check(t, i, a.out)
	}
	sizes := be.batchSizes()
	require.Len(t, sizes, 16)
	for _, s := range sizes {
		require.Equal(t, 1, s)
	}
}

func TestMaxBatchDefaultsToTheBackendAndIsCapped(t *testing.T) {
	require.Equal(t, 16, newEnv(t, newLinear(16, false), inference.PoolConfig{}).pool.MaxBatch())
	require.Equal(t, inference.MaxBatchCap, newEnv(t, newLinear(1000, false), inference.PoolConfig{}).pool.MaxBatch())
	require.Equal(t, 16, newEnv(t, newLinear(16, false), inference.PoolConfig{MaxBatch: 100}).pool.MaxBatch())
	require.Equal(t, 1, newEnv(t, newLinear(0, false), inference.PoolConfig{}).pool.MaxBatch())
}

func TestQueueFullIsOverloaded(t *testing.T) {
	be := newLinear(64, true)
	e := newEnv(t, be, inference.PoolConfig{MaxBatch: 1, QueueSize: 4})
	first := fire(context.Background(), e.pool, 0, 1)
	eventually(t, func() bool { return be.started.Load() == 1 }, "first call started (it left the queue)")
	queued := fire(context.Background(), e.pool, 1, 4)
	eventually(t, func() bool { return e.queueDepth() == 4 }, "queue full")

	_, err := e.pool.Infer(context.Background(), item(99))
	require.ErrorIs(t, err, inf.ErrOverloaded)
	require.Equal(t, 1.0, testutil.ToFloat64(e.metrics.Overloaded.WithLabelValues(model)))

	be.release()
	res := append(first(), queued()...)
	for i, a := range res {
		require.NoError(t, a.err)
		check(t, i, a.out)
	}
	// Room again.
	out, err := e.pool.Infer(context.Background(), item(7))
	require.NoError(t, err)
	check(t, 7, out)
}

func TestExpiredRequestIsDroppedAndOthersAreServed(t *testing.T) {
	be := newLinear(64, true)
	e := newEnv(t, be, inference.PoolConfig{MaxBatch: 4, MaxDelay: time.Millisecond})
	first := fire(context.Background(), e.pool, 0, 1)
	eventually(t, func() bool { return be.started.Load() == 1 }, "first call started")

	impatient, cancel := context.WithCancel(context.Background())
	dropped := fire(impatient, e.pool, 1, 1)
	eventually(t, func() bool { return e.queueDepth() == 1 }, "impatient request queued")
	others := fire(context.Background(), e.pool, 2, 2)
	eventually(t, func() bool { return e.queueDepth() == 3 }, "all queued")
	cancel()
	d := dropped()
	require.ErrorIs(t, d[0].err, context.Canceled, "Infer returns as soon as its ctx is done")

	be.release()
	require.NoError(t, first()[0].err)
	for i, a := range others() {
		require.NoError(t, a.err)
		check(t, 2+i, a.out)
	}
	require.Equal(t, []int{1, 2}, be.batchSizes(), "the expired request is not in the batch")
	require.Equal(t, 1.0, e.errorsFor("expired"))
	require.Zero(t, e.queueDepth())
}

func TestBatchDeadlineIsTheLatestOfItsMembers(t *testing.T) {
	be := newLinear(64, true)
	e := newEnv(t, be, inference.PoolConfig{MaxBatch: 4, MaxDelay: time.Millisecond, CallTimeout: 100 * time.Hour})
	first := fire(context.Background(), e.pool, 0, 1)
	eventually(t, func() bool { return be.started.Load() == 1 }, "first call started")

	soon := time.Now().Add(time.Hour)
	later := soon.Add(time.Hour)
	ctxSoon, c1 := context.WithDeadline(context.Background(), soon)
	defer c1()
	ctxLater, c2 := context.WithDeadline(context.Background(), later)
	defer c2()
	a := fire(ctxSoon, e.pool, 1, 1)
	b := fire(ctxLater, e.pool, 2, 1)
	eventually(t, func() bool { return e.queueDepth() == 2 }, "both queued")
	be.release()
	require.NoError(t, first()[0].err)
	check(t, 1, a()[0].out)
	check(t, 2, b()[0].out)

	require.Equal(t, []int{1, 2}, be.batchSizes())
	be.mu.Lock()
	defer be.mu.Unlock()
	require.True(t, be.deadlines[1].Equal(later), "batch deadline %v, want the latest member's %v", be.deadlines[1], later)
}

func TestBackendErrorReachesTheWholeBatch(t *testing.T) {
	be := newLinear(64, false)
	e := newEnv(t, be, inference.PoolConfig{MaxBatch: 4, MaxDelay: time.Hour})
	boom := errors.New("gpu on fire")
	be.failNext = boom
	for _, a := range fire(context.Background(), e.pool, 0, 4)() {
		require.ErrorIs(t, a.err, boom)
	}
	require.Equal(t, 4.0, e.errorsFor("backend"))
	for i, a := range fire(context.Background(), e.pool, 4, 4)() {
		require.NoError(t, a.err, "the pool keeps working")
		check(t, 4+i, a.out)
	}
	require.Equal(t, []int{4, 4}, be.batchSizes())
}

func TestBackendPanicIsAnErrorAndThePoolSurvives(t *testing.T) {
	be := newLinear(64, false)
	e := newEnv(t, be, inference.PoolConfig{MaxBatch: 4, MaxDelay: time.Hour})
	be.panicNext = true
	for _, a := range fire(context.Background(), e.pool, 0, 4)() {
		require.ErrorIs(t, a.err, inference.ErrBackendPanic)
	}
	require.Equal(t, 4.0, e.errorsFor("panic"))
	for i, a := range fire(context.Background(), e.pool, 4, 4)() {
		require.NoError(t, a.err, "the batcher survived")
		check(t, 4+i, a.out)
	}
}

func TestMalformedOutputsAreAnError(t *testing.T) {
	bad := &badOutputs{newLinear(64, false)}
	p, err := inference.NewPool(system, bad, inference.PoolConfig{Model: model, MaxBatch: 2, MaxDelay: time.Hour}, inference.WithLogger(quiet))
	require.NoError(t, err)
	defer p.Close()
	for _, a := range fire(context.Background(), p, 0, 2)() {
		require.ErrorIs(t, a.err, inference.ErrBadOutput)
	}
}

// badOutputs drops the last item of every output.
type badOutputs struct{ *linear }

func (b *badOutputs) Infer(ctx context.Context, name string, in []inf.Tensor) ([]inf.Tensor, error) {
	out, err := b.linear.Infer(ctx, name, in)
	if err != nil {
		return nil, err
	}
	out[0].Shape[0]--
	out[0].Data = out[0].Data[:len(out[0].Data)-outDim]
	return out, nil
}

func TestBatchersCallTheBackendConcurrently(t *testing.T) {
	be := newLinear(64, true)
	e := newEnv(t, be, inference.PoolConfig{Batchers: 3, MaxBatch: 1})
	// One at a time, so that the least-loaded choice is deterministic.
	var waits []func() []answer
	for i := 0; i < 3; i++ {
		waits = append(waits, fire(context.Background(), e.pool, i, 1))
		eventually(t, func() bool { return be.running.Load() == int32(i+1) }, "a call per batcher in flight")
	}
	be.release()
	for i, w := range waits {
		a := w()[0]
		require.NoError(t, a.err)
		check(t, i, a.out)
	}
	require.EqualValues(t, 3, be.maxRunning.Load())
}

func TestMaxInFlightPerBatcher(t *testing.T) {
	be := newLinear(64, true)
	e := newEnv(t, be, inference.PoolConfig{MaxInFlight: 2, MaxBatch: 1})
	res := fire(context.Background(), e.pool, 0, 3)
	eventually(t, func() bool { return be.running.Load() == 2 && e.queueDepth() == 1 }, "two calls in flight, one queued")
	be.release()
	for i, a := range res() {
		require.NoError(t, a.err)
		check(t, i, a.out)
	}
	require.EqualValues(t, 2, be.maxRunning.Load())
}

func TestCloseAnswersPendingRequests(t *testing.T) {
	be := newLinear(64, true)
	m := inference.NewMetrics(nil)
	p, err := inference.NewPool(system, be, inference.PoolConfig{Model: model, MaxBatch: 1}, inference.WithMetrics(m), inference.WithLogger(quiet))
	require.NoError(t, err)
	inFlight := fire(context.Background(), p, 0, 1)
	eventually(t, func() bool { return be.started.Load() == 1 }, "first call started")
	queued := fire(context.Background(), p, 1, 3)
	eventually(t, func() bool { return p.QueueDepth() == 3 }, "three queued")

	p.Close()
	for _, a := range append(inFlight(), queued()...) {
		require.ErrorIs(t, a.err, inference.ErrClosed)
	}
	_, err = p.Infer(context.Background(), item(0))
	require.ErrorIs(t, err, inference.ErrClosed)
	require.Zero(t, p.QueueDepth())
	require.Equal(t, 4.0, testutil.ToFloat64(m.Errors.WithLabelValues(model, "closed")))
	p.Close() // idempotent
}

func TestBadInputs(t *testing.T) {
	e := newEnv(t, newLinear(64, false), inference.PoolConfig{})
	ctx := context.Background()
	_, err := e.pool.Infer(ctx, nil)
	require.ErrorIs(t, err, inf.ErrBadInput)
	two := inf.Tensor{Name: "x", Shape: []int64{2, inDim}, Data: make([]float32, 2*inDim)}
	_, err = e.pool.Infer(ctx, []inf.Tensor{two})
	require.ErrorIs(t, err, inf.ErrBadInput, "batch dimension must be 1")
	short := inf.Tensor{Name: "x", Shape: []int64{1, inDim}, Data: make([]float32, inDim-1)}
	_, err = e.pool.Infer(ctx, []inf.Tensor{short})
	require.ErrorIs(t, err, inf.ErrBadInput)
	_, err = e.pool.Infer(ctx, append(item(0), item(1)...))
	require.ErrorIs(t, err, inf.ErrBadInput, "wrong number of inputs")
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.pool.Infer(done, item(0))
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, e.queueDepth())
}

func TestUnknownModel(t *testing.T) {
	_, err := inference.NewPool(system, newLinear(4, false), inference.PoolConfig{Model: "nope"})
	require.ErrorIs(t, err, inf.ErrUnknownModel)
}

func TestMetricsShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	be := newLinear(8, false)
	p1, err := inference.NewPool(system, be, inference.PoolConfig{Model: model}, inference.WithRegisterer(reg), inference.WithLogger(quiet))
	require.NoError(t, err)
	defer p1.Close()
	p2, err := inference.NewPool(system, be, inference.PoolConfig{Model: model}, inference.WithRegisterer(reg), inference.WithLogger(quiet))
	require.NoError(t, err, "a second pool on the same registerer reuses the collectors")
	defer p2.Close()
	_, err = p1.Infer(context.Background(), item(0))
	require.NoError(t, err)
	_, err = p2.Infer(context.Background(), item(1))
	require.NoError(t, err)
	n, err := testutil.GatherAndCount(reg, "ekyc_inference_request_duration_seconds", "ekyc_inference_queue_depth")
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
