package ort_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/inference"
	"github.com/openekyc/ekyc/inference/ort"
)

// repoModels is the model repository as committed (configs and manifests).
const repoModels = "../../models"

// modelsDir returns the fetched models directory, or skips the test.
func modelsDir(tb testing.TB) string {
	tb.Helper()
	dir := ort.DefaultDir()
	if _, err := os.Stat(filepath.Join(dir, ort.LibraryPath)); err != nil {
		tb.Skipf("models not fetched into %s: run `make models` (`make test` does it first)", dir)
	}
	return dir
}

func open(tb testing.TB, opts ...ort.Option) *ort.Backend {
	tb.Helper()
	b, err := ort.Open(modelsDir(tb), opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, b.Close()) })
	return b
}

// --- config.pbtxt, the subset the repository uses ---

type pbTensor struct {
	name, dataType string
	dims           []int64
}

type pbConfig struct {
	name, platform  string
	maxBatch        int
	inputs, outputs []pbTensor
}

var (
	reComment = regexp.MustCompile(`#[^\n]*`)
	reName    = regexp.MustCompile(`(?m)^name:\s*"([^"]*)"`)
	rePlat    = regexp.MustCompile(`(?m)^platform:\s*"([^"]*)"`)
	reMaxB    = regexp.MustCompile(`(?m)^max_batch_size:\s*(\d+)`)
	reBlock   = regexp.MustCompile(`(?ms)^(input|output)\s*\[(.*?)^\]`)
	reEntry   = regexp.MustCompile(`(?s)\{(.*?)\}`)
	reTName   = regexp.MustCompile(`name:\s*"([^"]*)"`)
	reTType   = regexp.MustCompile(`data_type:\s*(\w+)`)
	reTDims   = regexp.MustCompile(`dims:\s*\[([^\]]*)\]`)
)

func parseConfig(t *testing.T, file string) pbConfig {
	t.Helper()
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	s := reComment.ReplaceAllString(string(raw), "")
	var c pbConfig
	m := reName.FindStringSubmatch(s)
	require.NotNil(t, m, "%s: no name", file)
	c.name = m[1]
	m = rePlat.FindStringSubmatch(s)
	require.NotNil(t, m, "%s: no platform", file)
	c.platform = m[1]
	m = reMaxB.FindStringSubmatch(s)
	require.NotNil(t, m, "%s: no max_batch_size", file)
	c.maxBatch, err = strconv.Atoi(m[1])
	require.NoError(t, err)
	for _, blk := range reBlock.FindAllStringSubmatch(s, -1) {
		for _, e := range reEntry.FindAllStringSubmatch(blk[2], -1) {
			var tt pbTensor
			n, ty, d := reTName.FindStringSubmatch(e[1]), reTType.FindStringSubmatch(e[1]), reTDims.FindStringSubmatch(e[1])
			require.True(t, n != nil && ty != nil && d != nil, "%s: %s entry without name, data_type or dims: %s", file, blk[1], e[1])
			tt.name, tt.dataType = n[1], ty[1]
			for _, f := range strings.Split(d[1], ",") {
				v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
				require.NoError(t, err, "%s: dims %q", file, d[1])
				tt.dims = append(tt.dims, v)
			}
			if blk[1] == "input" {
				c.inputs = append(c.inputs, tt)
			} else {
				c.outputs = append(c.outputs, tt)
			}
		}
	}
	return c
}

func manifestField(t *testing.T, file, key string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^` + key + `:\s*(\S+)\s*$`).FindStringSubmatch(string(raw))
	require.NotNil(t, m, "%s: no %s", file, key)
	return m[1]
}

func sha256File(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// TestModelsMatchConfig keeps the repository and the graphs in step: every
// model of models/ loads, and its inputs and outputs (from the ONNX graph)
// are those of its config.pbtxt; the fetched files are the manifest's.
func TestModelsMatchConfig(t *testing.T) {
	dir := modelsDir(t)
	b := open(t)
	ctx := context.Background()

	configs, err := filepath.Glob(filepath.Join(repoModels, "*", "config.pbtxt"))
	require.NoError(t, err)
	var names []string
	for _, f := range configs {
		names = append(names, filepath.Base(filepath.Dir(f)))
	}
	sort.Strings(names)
	require.Equal(t, []string{"face_detect", "face_embed", "face_landmark", "face_liveness", "ocr_det", "ocr_rec"}, names)

	require.Equal(t, manifestField(t, filepath.Join(repoModels, "onnxruntime.yaml"), "sha256"),
		sha256File(t, filepath.Join(dir, ort.LibraryPath)), "library differs from models/onnxruntime.yaml: run `make models`")

	for _, f := range configs {
		name := filepath.Base(filepath.Dir(f))
		t.Run(name, func(t *testing.T) {
			c := parseConfig(t, f)
			require.Equal(t, name, c.name, "config name must be the folder name")
			require.Equal(t, "onnxruntime_onnx", c.platform)
			// The face graphs have a fixed batch of 1 (max_batch_size 0, dims
			// with the leading 1); the OCR graphs a dynamic batch
			// (max_batch_size > 0, dims without the batch dimension).
			batched := strings.HasPrefix(name, "ocr_")
			if batched {
				require.Positive(t, c.maxBatch, "the graph has a dynamic batch")
			} else {
				require.Equal(t, 0, c.maxBatch, "the graphs have a fixed batch of 1")
			}
			require.NotEmpty(t, c.inputs)
			require.NotEmpty(t, c.outputs)

			manifest := filepath.Join(repoModels, name, "manifest.yaml")
			require.Equal(t, manifestField(t, manifest, "sha256"), sha256File(t, filepath.Join(dir, name, "1", "model.onnx")),
				"fetched model differs from its manifest: run `make models`")
			fetched, err := os.ReadFile(filepath.Join(dir, name, "config.pbtxt"))
			require.NoError(t, err)
			committed, err := os.ReadFile(f)
			require.NoError(t, err)
			require.Equal(t, string(committed), string(fetched), "config.pbtxt in %s is stale: run `make models`", dir)

			info, err := b.Model(ctx, name)
			require.NoError(t, err)
			require.Equal(t, name, info.Name)
			require.Equal(t, ort.DefaultMaxBatch, info.MaxBatch)
			check := func(kind string, want []pbTensor, got []inference.TensorInfo) {
				require.Len(t, got, len(want), kind)
				for i, w := range want {
					require.Equal(t, "TYPE_FP32", w.dataType)
					require.Equal(t, w.name, got[i].Name, "%s %d", kind, i)
					if batched {
						require.Equal(t, w.dims, got[i].Shape, "%s %s", kind, w.name)
						continue
					}
					require.Equal(t, int64(1), w.dims[0], "%s %s: leading dim is the graph's fixed batch", kind, w.name)
					require.Equal(t, w.dims[1:], got[i].Shape, "%s %s", kind, w.name)
				}
			}
			check("input", c.inputs, info.Inputs)
			check("output", c.outputs, info.Outputs)
		})
	}
}

// randomBatch makes a batch for the model's (single) input, values in [-1, 1).
func randomBatch(info inference.ModelInfo, batch int, seed uint64) []inference.Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	var ins []inference.Tensor
	for _, in := range info.Inputs {
		t := inference.Tensor{Name: in.Name, Shape: append([]int64{int64(batch)}, in.Shape...)}
		t.Data = make([]float32, t.Elements())
		for i := range t.Data {
			t.Data[i] = r.Float32()*2 - 1
		}
		ins = append(ins, t)
	}
	return ins
}

// item returns item i of a batch tensor as a batch of 1.
func item(t inference.Tensor, i int) inference.Tensor {
	n := t.Elements() / t.Shape[0]
	return inference.Tensor{
		Name:  t.Name,
		Shape: append([]int64{1}, t.Shape[1:]...),
		Data:  t.Data[int64(i)*n : int64(i+1)*n],
	}
}

func TestEmbedBatchEqualsSingleCalls(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	info, err := b.Model(ctx, "face_embed")
	require.NoError(t, err)
	ins := randomBatch(info, 3, 1)

	outs, err := b.Infer(ctx, "face_embed", ins)
	require.NoError(t, err)
	require.Len(t, outs, 1)
	require.Equal(t, "output", outs[0].Name)
	require.Equal(t, []int64{3, 512}, outs[0].Shape)
	require.Len(t, outs[0].Data, 3*512)

	for i := 0; i < 3; i++ {
		single, err := b.Infer(ctx, "face_embed", []inference.Tensor{item(ins[0], i)})
		require.NoError(t, err)
		require.Equal(t, []int64{1, 512}, single[0].Shape)
		require.Equal(t, single[0].Data, item(outs[0], i).Data, "item %d of the batch differs from its single call", i)
	}
	// The items are different faces: their embeddings must differ, or the
	// batch could be the first item repeated.
	for i := 0; i < 3; i++ {
		var norm float64
		for _, v := range item(outs[0], i).Data {
			require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0))
			norm += float64(v) * float64(v)
		}
		require.Greater(t, norm, 0.0)
		for j := i + 1; j < 3; j++ {
			require.NotEqual(t, item(outs[0], i).Data, item(outs[0], j).Data, "items %d and %d", i, j)
		}
	}
}

func TestEveryModelRuns(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	for _, name := range []string{"face_detect", "face_landmark", "face_embed", "face_liveness"} {
		t.Run(name, func(t *testing.T) {
			info, err := b.Model(ctx, name)
			require.NoError(t, err)
			outs, err := b.Infer(ctx, name, randomBatch(info, 2, 2))
			require.NoError(t, err)
			require.Len(t, outs, len(info.Outputs))
			for j, o := range outs {
				require.Equal(t, info.Outputs[j].Name, o.Name)
				require.Equal(t, append([]int64{2}, info.Outputs[j].Shape...), o.Shape)
				require.NoError(t, o.Validate())
				for _, v := range o.Data {
					require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0), "%s %s", name, o.Name)
				}
			}
			if name == "face_detect" {
				// scores are per-anchor [background, face] probabilities.
				s := outs[0].Data
				for a := 0; a < len(s); a += 2 {
					require.InDelta(t, 1.0, s[a]+s[a+1], 1e-4, "anchor %d", a/2)
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	b := open(t, ort.WithMaxBatch(4))
	ctx := context.Background()
	info, err := b.Model(ctx, "face_embed")
	require.NoError(t, err)
	require.Equal(t, 4, info.MaxBatch)
	good := randomBatch(info, 2, 3)[0]

	with := func(f func(*inference.Tensor)) []inference.Tensor {
		t := good
		t.Shape = append([]int64(nil), good.Shape...)
		f(&t)
		return []inference.Tensor{t}
	}
	cases := map[string][]inference.Tensor{
		"no inputs":       nil,
		"two inputs":      {good, good},
		"wrong name":      with(func(t *inference.Tensor) { t.Name = "pixels" }),
		"wrong item dims": with(func(t *inference.Tensor) { t.Shape = []int64{2, 3, 112, 113}; t.Data = make([]float32, 2*3*112*113) }),
		"channels last":   with(func(t *inference.Tensor) { t.Shape = []int64{2, 112, 112, 3} }),
		"no batch dim":    with(func(t *inference.Tensor) { t.Shape = []int64{3, 112, 112}; t.Data = t.Data[:3*112*112] }),
		"short data":      with(func(t *inference.Tensor) { t.Data = t.Data[:len(t.Data)-1] }),
		"long data":       with(func(t *inference.Tensor) { t.Data = append(append([]float32(nil), t.Data...), 0) }),
		"batch 0":         with(func(t *inference.Tensor) { t.Shape[0] = 0; t.Data = nil }),
		"batch over max":  randomBatch(info, 5, 4),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := b.Infer(ctx, "face_embed", in)
			require.ErrorIs(t, err, inference.ErrBadInput)
		})
	}
	// The backend is still fine, and the full batch is accepted.
	outs, err := b.Infer(ctx, "face_embed", randomBatch(info, 4, 4))
	require.NoError(t, err)
	require.Equal(t, []int64{4, 512}, outs[0].Shape)
}

func TestUnknownModel(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	for _, name := range []string{"nope", "", ".", "..", "lib", "../models/face_embed", "face_embed/1"} {
		_, err := b.Model(ctx, name)
		require.ErrorIs(t, err, inference.ErrUnknownModel, "%q", name)
		_, err = b.Infer(ctx, name, nil)
		require.ErrorIs(t, err, inference.ErrUnknownModel, "%q", name)
	}
	_, err := ort.Open(modelsDir(t), ort.WithModels("face_embed", "nope"))
	require.ErrorIs(t, err, inference.ErrUnknownModel)
}

func TestOpenErrors(t *testing.T) {
	_, err := ort.Open(filepath.Join(t.TempDir(), "absent"))
	require.ErrorIs(t, err, inference.ErrUnavailable)
	dir := modelsDir(t)
	_, err = ort.Open(dir, ort.WithIntraOpThreads(-1))
	require.Error(t, err)
	_, err = ort.Open(dir, ort.WithMaxBatch(0))
	require.Error(t, err)
}

// stopAfter is a context whose Err turns to Canceled after n calls.
type stopAfter struct {
	context.Context
	n, calls atomic.Int32
}

func (c *stopAfter) Err() error {
	if c.calls.Add(1) > c.n.Load() {
		return context.Canceled
	}
	return nil
}

func TestContextBetweenItems(t *testing.T) {
	b := open(t)
	info, err := b.Model(context.Background(), "face_embed")
	require.NoError(t, err)
	in := randomBatch(info, 8, 5)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = b.Infer(ctx, "face_embed", in)
	require.ErrorIs(t, err, context.Canceled)

	// Err is asked once on entry and once before each item: let two items run.
	c := &stopAfter{Context: context.Background()}
	c.n.Store(3)
	_, err = b.Infer(c, "face_embed", in)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, int32(4), c.calls.Load(), "Infer must stop at the first item after the cancel")
}

// TestConcurrentBackends runs two backends of one process (the second Open
// reuses the environment) from several goroutines at once; every result must
// be the sequential one, and closing one backend leaves the other working.
func TestConcurrentBackends(t *testing.T) {
	b1 := open(t)
	dir := modelsDir(t)
	b2, err := ort.Open(dir, ort.WithModels("face_embed", "face_liveness"), ort.WithIntraOpThreads(2))
	require.NoError(t, err)

	ctx := context.Background()
	info, err := b1.Model(ctx, "face_embed")
	require.NoError(t, err)
	const jobs = 6
	ins := make([][]inference.Tensor, jobs)
	want := make([][]float32, jobs)
	for i := range ins {
		ins[i] = randomBatch(info, 1+i%3, uint64(10+i))
		out, err := b1.Infer(ctx, "face_embed", ins[i])
		require.NoError(t, err)
		want[i] = out[0].Data
	}

	var wg sync.WaitGroup
	errs := make(chan error, 4*jobs*2)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 2; round++ {
				for i := range ins {
					be := b1
					if (g+i+round)%2 == 1 {
						be = b2
					}
					out, err := be.Infer(ctx, "face_embed", ins[i])
					if err != nil {
						errs <- err
						continue
					}
					// intra-op threading may reorder float sums: allow 1e-6.
					for k, v := range out[0].Data {
						if math.Abs(float64(v-want[i][k])) > 1e-6 {
							errs <- fmt.Errorf("job %d value %d: %v, want %v", i, k, v, want[i][k])
							break
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	require.NoError(t, b2.Close())
	require.NoError(t, b2.Close(), "Close twice")
	_, err = b2.Infer(ctx, "face_embed", ins[0])
	require.ErrorIs(t, err, inference.ErrUnavailable)
	_, err = b2.Model(ctx, "face_embed")
	require.ErrorIs(t, err, inference.ErrUnavailable)

	out, err := b1.Infer(ctx, "face_embed", ins[0])
	require.NoError(t, err)
	require.Equal(t, want[0], out[0].Data)
}

func BenchmarkEmbed(b *testing.B) {
	be := open(b)
	ctx := context.Background()
	info, err := be.Model(ctx, "face_embed")
	require.NoError(b, err)
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			in := randomBatch(info, batch, 42)
			for b.Loop() {
				if _, err := be.Infer(ctx, "face_embed", in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch)/1e6, "ms/item")
		})
	}
}
