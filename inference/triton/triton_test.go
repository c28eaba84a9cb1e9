package triton

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/openekyc/ekyc/inference"
	inferencev1 "github.com/openekyc/ekyc/proto/inference"
)

// Tests against a real Triton server. Start one with
//
//	deploy/local/triton.sh start
//	EKYC_TEST_TRITON=127.0.0.1:28001 go test ./inference/triton
//
// EKYC_TEST_TRITON_MODEL names the model (default face_embed: [1,3,112,112] →
// [1,512]); EKYC_MODELS_DIR is the model repository the server was started
// from (default ~/.cache/ekyc/models), read to compare the metadata with
// config.pbtxt.

func tritonAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("EKYC_TEST_TRITON")
	if addr == "" {
		t.Skip("EKYC_TEST_TRITON not set: start a Triton server with deploy/local/triton.sh start and set EKYC_TEST_TRITON=127.0.0.1:28001")
	}
	return addr
}

func testModel() string {
	if m := os.Getenv("EKYC_TEST_TRITON_MODEL"); m != "" {
		return m
	}
	return "face_embed"
}

func modelsDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("EKYC_MODELS_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	require.NoError(t, err)
	base := os.Getenv("EKYC_CACHE_DIR")
	if base == "" {
		base = filepath.Join(home, ".cache", "ekyc")
	}
	return filepath.Join(base, "models")
}

func dialTest(t *testing.T) (*Backend, context.Context) {
	t.Helper()
	addr := tritonAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	b, err := Dial(ctx, addr)
	require.NoError(t, err, "Triton at %s (deploy/local/triton.sh status)", addr)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b, ctx
}

// randomBatch makes inputs for every model input with values in [-1, 1).
func randomBatch(info inference.ModelInfo, batch int, seed uint64) []inference.Tensor {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	in := make([]inference.Tensor, len(info.Inputs))
	for i, ti := range info.Inputs {
		shape := append([]int64{int64(batch)}, ti.Shape...)
		t := inference.Tensor{Name: ti.Name, Shape: shape}
		t.Data = make([]float32, t.Elements())
		for k := range t.Data {
			t.Data[k] = r.Float32()*2 - 1
		}
		in[i] = t
	}
	return in
}

func TestTritonServerLiveReady(t *testing.T) {
	b, ctx := dialTest(t)
	live, err := b.ServerLive(ctx)
	require.NoError(t, err)
	require.True(t, live)
	ready, err := b.ServerReady(ctx)
	require.NoError(t, err)
	require.True(t, ready)
	ready, err = b.ModelReady(ctx, testModel())
	require.NoError(t, err)
	require.True(t, ready)
}

func TestTritonModelMetadataMatchesConfig(t *testing.T) {
	b, ctx := dialTest(t)
	path := filepath.Join(modelsDir(t), testModel(), "config.pbtxt")
	text, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("no %s here (set EKYC_MODELS_DIR to the repository the server serves)", path)
	}
	require.NoError(t, err)
	var cfg inferencev1.ModelConfig
	require.NoError(t, prototext.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(text, &cfg), path)

	md, err := b.ModelMetadata(ctx, testModel())
	require.NoError(t, err)
	require.Equal(t, testModel(), md.GetName())
	batchDim := func(dims []int64) []int64 {
		if cfg.GetMaxBatchSize() > 0 {
			return append([]int64{-1}, dims...)
		}
		return dims
	}
	require.Len(t, md.GetInputs(), len(cfg.GetInput()))
	for i, in := range cfg.GetInput() {
		require.Equal(t, in.GetName(), md.GetInputs()[i].GetName())
		require.Equal(t, "FP32", md.GetInputs()[i].GetDatatype())
		require.Equal(t, inferencev1.DataType_TYPE_FP32, in.GetDataType())
		require.Equal(t, batchDim(in.GetDims()), md.GetInputs()[i].GetShape(), "input %s", in.GetName())
	}
	require.Len(t, md.GetOutputs(), len(cfg.GetOutput()))
	for i, out := range cfg.GetOutput() {
		require.Equal(t, out.GetName(), md.GetOutputs()[i].GetName())
		require.Equal(t, "FP32", md.GetOutputs()[i].GetDatatype())
		require.Equal(t, batchDim(out.GetDims()), md.GetOutputs()[i].GetShape(), "output %s", out.GetName())
	}

	info, err := b.Model(ctx, testModel())
	require.NoError(t, err)
	require.Equal(t, testModel(), info.Name)
	require.Len(t, info.Inputs, len(cfg.GetInput()))
	if cfg.GetMaxBatchSize() > 0 {
		require.Equal(t, int(cfg.GetMaxBatchSize()), info.MaxBatch)
	} else {
		require.Equal(t, DefaultMaxSplit, info.MaxBatch, "fixed batch of 1: split up to %d items", DefaultMaxSplit)
	}
	for i, in := range cfg.GetInput() {
		want := in.GetDims()
		if cfg.GetMaxBatchSize() == 0 {
			want = want[1:]
		}
		require.Equal(t, want, info.Inputs[i].Shape)
	}
}

func TestTritonInferFaceEmbed(t *testing.T) {
	b, ctx := dialTest(t)
	info, err := b.Model(ctx, testModel())
	require.NoError(t, err)
	require.Len(t, info.Outputs, 1)
	for _, batch := range []int{1, 3} {
		out, err := b.Infer(ctx, testModel(), randomBatch(info, batch, uint64(batch)))
		require.NoError(t, err)
		require.Len(t, out, 1)
		require.Equal(t, info.Outputs[0].Name, out[0].Name)
		if testModel() == "face_embed" {
			require.Equal(t, []int64{int64(batch), 512}, out[0].Shape)
		}
		require.Len(t, out[0].Data, int(out[0].Elements()))
		per := len(out[0].Data) / batch
		for i := range batch {
			var norm float64
			for _, v := range out[0].Data[i*per : (i+1)*per] {
				require.False(t, math.IsNaN(float64(v)) || math.IsInf(float64(v), 0))
				norm += float64(v) * float64(v)
			}
			require.Greater(t, norm, 0.0, "item %d is all zeros", i)
		}
	}
}

func TestTritonBatchEqualsSingles(t *testing.T) {
	b, ctx := dialTest(t)
	info, err := b.Model(ctx, testModel())
	require.NoError(t, err)
	const n = 4
	in := randomBatch(info, n, 42)
	batched, err := b.Infer(ctx, testModel(), in)
	require.NoError(t, err)
	for i := range n {
		single, err := b.Infer(ctx, testModel(), sliceItem(in, i))
		require.NoError(t, err)
		for k := range single {
			require.Equal(t, int64(1), single[k].Shape[0])
			per := len(single[k].Data)
			got := batched[k].Data[i*per : (i+1)*per]
			for j := range per {
				require.InDelta(t, single[k].Data[j], got[j], 1e-5, "item %d output %s[%d]", i, single[k].Name, j)
			}
		}
	}
}

func TestTritonConcurrentInfer(t *testing.T) {
	b, ctx := dialTest(t)
	info, err := b.Model(ctx, testModel())
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.Infer(ctx, testModel(), randomBatch(info, 2, uint64(100+g)))
			if err == nil && out[0].Shape[0] != 2 {
				err = inference.ErrBadInput
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestTritonErrors(t *testing.T) {
	b, ctx := dialTest(t)
	_, err := b.Model(ctx, "no_such_model")
	require.ErrorIs(t, err, inference.ErrUnknownModel)
	_, err = b.Infer(ctx, "no_such_model", nil)
	require.ErrorIs(t, err, inference.ErrUnknownModel)

	info, err := b.Model(ctx, testModel())
	require.NoError(t, err)
	bad := randomBatch(info, 1, 1)
	bad[0].Shape[len(bad[0].Shape)-1]++
	bad[0].Data = make([]float32, bad[0].Elements())
	_, err = b.Infer(ctx, testModel(), bad)
	require.ErrorIs(t, err, inference.ErrBadInput)

	// The server's own validation: a raw request with a wrong shape.
	req, err := buildRequest(testModel(), "", bad, nil)
	require.NoError(t, err)
	_, err = b.client.ModelInfer(ctx, req)
	require.ErrorIs(t, b.wrap(ctx, "ModelInfer", testModel(), err), inference.ErrBadInput)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = b.Infer(cctx, testModel(), randomBatch(info, 4, 2))
	require.ErrorIs(t, err, context.Canceled)
}

// go test -run '^$' -bench Triton ./inference/triton (with EKYC_TEST_TRITON).
func BenchmarkTritonInfer(b *testing.B) {
	for _, batch := range []int{1, 8, 32} {
		b.Run("batch="+itoa(batch), func(b *testing.B) {
			addr := os.Getenv("EKYC_TEST_TRITON")
			if addr == "" {
				b.Skip("EKYC_TEST_TRITON not set: deploy/local/triton.sh start")
			}
			ctx := context.Background()
			be, err := Dial(ctx, addr)
			require.NoError(b, err)
			defer be.Close()
			info, err := be.Model(ctx, testModel())
			require.NoError(b, err)
			in := randomBatch(info, batch, 7)
			b.ResetTimer()
			for b.Loop() {
				if _, err := be.Infer(ctx, testModel(), in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(batch)/1000, "ms/item")
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
