package bench

// Benchmarks of the pooled batching inference actors (actors/inference).
//
// BenchmarkInferenceORT: face embeddings through a pool in front of the
// embedded ONNX Runtime backend (inference/ort, model "face_embed", input
// [1,3,112,112] float32), at concurrency 1, 8 and 32, with batching on
// (MaxDelay 2ms, MaxBatch 32) and off (NoDelay, MaxBatch 1). It skips unless
// the models are fetched (`make models`; $EKYC_MODELS_DIR, default
// ~/.cache/ekyc/models). One embedding takes tens of milliseconds of CPU, so
// give it a fixed count:
//
//	go test -run '^$' -bench InferenceORT -benchtime 64x ./bench/
//
// BenchmarkInferencePool: the pool's own overhead, with in-Go backends that
// need nothing: "linear" (a tiny W·x, so the pool dominates; "direct" calls
// the backend without the pool for comparison) and "fixed1ms" (every call
// costs 1ms whatever its batch, like an accelerator: what batching is for).
//
//	go test -run '^$' -bench InferencePool ./bench/
//
// Both report embeddings/s (requests answered per second) and p50_ms/p99_ms
// (latency of one Infer, queueing included).

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pool "github.com/openekyc/ekyc/actors/inference"
	inf "github.com/openekyc/ekyc/inference"
	"github.com/openekyc/ekyc/inference/ort"
)

var benchConcurrency = []int{1, 8, 32}

type batching struct {
	name string
	cfg  pool.PoolConfig
}

var batchingModes = []batching{
	{"batching=on", pool.PoolConfig{MaxDelay: 2 * time.Millisecond, MaxBatch: 32}},
	{"batching=off", pool.PoolConfig{MaxDelay: pool.NoDelay, MaxBatch: 1}},
}

func newActorSystem() *actor.ActorSystem {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
}

func BenchmarkInferenceORT(b *testing.B) {
	dir := ort.DefaultDir()
	if _, err := os.Stat(filepath.Join(dir, ort.LibraryPath)); err != nil {
		b.Skipf("ONNX Runtime models not fetched into %s: run `make models`", dir)
	}
	backend, err := ort.Open(dir, ort.WithModels("face_embed"))
	if err != nil {
		b.Skipf("ONNX Runtime backend unavailable (%v): run `make models`", err)
	}
	defer backend.Close()
	info, err := backend.Model(context.Background(), "face_embed")
	if err != nil {
		b.Fatal(err)
	}
	inputs := make([][]inf.Tensor, 8)
	for i := range inputs {
		inputs[i] = randomItem(info, uint64(i))
	}
	// Warm the session up (first runs allocate) outside the measurements.
	for i := 0; i < 4; i++ {
		if _, err := backend.Infer(context.Background(), "face_embed", inputs[i]); err != nil {
			b.Fatal(err)
		}
	}
	system := newActorSystem()
	// One ONNX Runtime thread per call (the backend's default): one batcher
	// per core keeps every core busy.
	batchers := runtime.GOMAXPROCS(0)
	for _, mode := range batchingModes {
		for _, conc := range benchConcurrency {
			b.Run(fmt.Sprintf("%s/concurrency=%d", mode.name, conc), func(b *testing.B) {
				cfg := mode.cfg
				cfg.Model, cfg.Batchers = "face_embed", batchers
				p, err := pool.NewPool(system, backend, cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				runLoad(b, p.Infer, conc, inputs)
			})
		}
	}
}

func BenchmarkInferencePool(b *testing.B) {
	system := newActorSystem()
	batchers := runtime.GOMAXPROCS(0)
	lin := newBenchLinear(128, 16, 0)
	fixed := newBenchLinear(128, 16, time.Millisecond)
	info, _ := lin.Model(context.Background(), "lin")
	inputs := make([][]inf.Tensor, 8)
	for i := range inputs {
		inputs[i] = randomItem(info, uint64(i))
	}
	for _, be := range []struct {
		name string
		lin  *benchLinear
	}{{"linear", lin}, {"fixed1ms", fixed}} {
		for _, mode := range batchingModes {
			for _, conc := range benchConcurrency {
				b.Run(fmt.Sprintf("backend=%s/%s/concurrency=%d", be.name, mode.name, conc), func(b *testing.B) {
					cfg := mode.cfg
					cfg.Model, cfg.Batchers = "lin", batchers
					p, err := pool.NewPool(system, be.lin, cfg)
					if err != nil {
						b.Fatal(err)
					}
					defer p.Close()
					runLoad(b, p.Infer, conc, inputs)
				})
			}
		}
	}
	for _, conc := range benchConcurrency {
		b.Run(fmt.Sprintf("backend=linear/direct/concurrency=%d", conc), func(b *testing.B) {
			runLoad(b, func(ctx context.Context, in []inf.Tensor) ([]inf.Tensor, error) {
				return lin.Infer(ctx, "lin", in)
			}, conc, inputs)
		})
	}
}

// runLoad answers b.N requests with conc concurrent callers and reports
// embeddings/s and the p50/p99 latency of one request.
func runLoad(b *testing.B, infer func(context.Context, []inf.Tensor) ([]inf.Tensor, error), conc int, inputs [][]inf.Tensor) {
	ctx := context.Background()
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				t0 := time.Now()
				out, err := infer(ctx, inputs[i%len(inputs)])
				lat[i] = time.Since(t0)
				if err != nil || len(out) == 0 {
					failed.CompareAndSwap(nil, fmt.Sprintf("request %d: %v", i, err))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f != nil {
		b.Fatal(f)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "embeddings/s")
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50_ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99_ms")
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// randomItem is one request for the model: every input with batch
// dimension 1, deterministic values in [-1, 1).
func randomItem(info inf.ModelInfo, seed uint64) []inf.Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]inf.Tensor, len(info.Inputs))
	for j, in := range info.Inputs {
		t := inf.Tensor{Name: in.Name, Shape: append([]int64{1}, in.Shape...)}
		t.Data = make([]float32, t.Elements())
		for k := range t.Data {
			t.Data[k] = r.Float32()*2 - 1
		}
		out[j] = t
	}
	return out
}

// benchLinear is an in-Go backend: y = W·x per item, plus a fixed cost per
// call (0: none).
type benchLinear struct {
	in, out int
	w       []float32
	perCall time.Duration
}

func newBenchLinear(in, out int, perCall time.Duration) *benchLinear {
	l := &benchLinear{in: in, out: out, w: make([]float32, in*out), perCall: perCall}
	for i := range l.w {
		l.w[i] = float32(i%13)/13 - 0.5
	}
	return l
}

func (l *benchLinear) Model(_ context.Context, name string) (inf.ModelInfo, error) {
	return inf.ModelInfo{Name: name,
		Inputs:   []inf.TensorInfo{{Name: "x", Shape: []int64{int64(l.in)}}},
		Outputs:  []inf.TensorInfo{{Name: "y", Shape: []int64{int64(l.out)}}},
		MaxBatch: 64}, nil
}

func (l *benchLinear) Close() error { return nil }

func (l *benchLinear) Infer(ctx context.Context, _ string, in []inf.Tensor) ([]inf.Tensor, error) {
	if l.perCall > 0 {
		select {
		case <-time.After(l.perCall):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	n := int(in[0].Shape[0])
	y := make([]float32, n*l.out)
	for i := 0; i < n; i++ {
		x := in[0].Data[i*l.in : (i+1)*l.in]
		for o := 0; o < l.out; o++ {
			var s float32
			row := l.w[o*l.in : (o+1)*l.in]
			for k, v := range x {
				s += row[k] * v
			}
			y[i*l.out+o] = s
		}
	}
	return []inf.Tensor{{Name: "y", Shape: []int64{int64(n), int64(l.out)}, Data: y}}, nil
}
