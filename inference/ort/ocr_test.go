package ort_test

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/inference"
	"github.com/openekyc/ekyc/inference/ort"
)

// openOCR opens the backend, or skips when the OCR models are not fetched
// (a models directory from before they were added).
func openOCR(tb testing.TB) *ort.Backend {
	tb.Helper()
	dir := modelsDir(tb)
	for _, m := range []string{"ocr_det", "ocr_rec"} {
		if _, err := os.Stat(filepath.Join(dir, m, "1", "model.onnx")); err != nil {
			tb.Skipf("%s not fetched into %s: run `make models`", m, dir)
		}
	}
	return open(tb)
}

func randomTensor(name string, shape []int64, seed uint64) inference.Tensor {
	r := rand.New(rand.NewPCG(seed, 11))
	t := inference.Tensor{Name: name, Shape: shape}
	t.Data = make([]float32, t.Elements())
	for i := range t.Data {
		t.Data[i] = r.Float32()*2 - 1
	}
	return t
}

// TestOCRModelInfo: the OCR graphs report their dynamic dims as -1.
func TestOCRModelInfo(t *testing.T) {
	b := openOCR(t)
	ctx := context.Background()
	det, err := b.Model(ctx, "ocr_det")
	require.NoError(t, err)
	require.Equal(t, []inference.TensorInfo{{Name: "x", Shape: []int64{3, -1, -1}}}, det.Inputs)
	require.Equal(t, []inference.TensorInfo{{Name: "sigmoid_0.tmp_0", Shape: []int64{1, -1, -1}}}, det.Outputs)
	rec, err := b.Model(ctx, "ocr_rec")
	require.NoError(t, err)
	require.Equal(t, []inference.TensorInfo{{Name: "x", Shape: []int64{3, 48, -1}}}, rec.Inputs)
	require.Equal(t, []inference.TensorInfo{{Name: "softmax_11.tmp_0", Shape: []int64{-1, 6625}}}, rec.Outputs)
}

func TestOCRDetRuns(t *testing.T) {
	b := openOCR(t)
	in := randomTensor("x", []int64{1, 3, 64, 96}, 1)
	outs, err := b.Infer(context.Background(), "ocr_det", []inference.Tensor{in})
	require.NoError(t, err)
	require.Len(t, outs, 1)
	require.Equal(t, "sigmoid_0.tmp_0", outs[0].Name)
	require.Equal(t, []int64{1, 1, 64, 96}, outs[0].Shape)
	require.NoError(t, outs[0].Validate())
	for _, v := range outs[0].Data {
		require.True(t, v >= 0 && v <= 1, "probability %v", v)
	}
}

// TestOCRRecBatch: a real batch is one Run, and its items equal single calls
// (to rounding: batched kernels may sum in another order).
func TestOCRRecBatch(t *testing.T) {
	b := openOCR(t)
	ctx := context.Background()
	in := randomTensor("x", []int64{3, 3, 48, 160}, 2)
	outs, err := b.Infer(ctx, "ocr_rec", []inference.Tensor{in})
	require.NoError(t, err)
	require.Len(t, outs, 1)
	require.Equal(t, []int64{3, 20, 6625}, outs[0].Shape)
	require.NoError(t, outs[0].Validate())
	for i := 0; i < 3; i++ {
		single, err := b.Infer(ctx, "ocr_rec", []inference.Tensor{item(in, i)})
		require.NoError(t, err)
		require.Equal(t, []int64{1, 20, 6625}, single[0].Shape)
		got := item(outs[0], i).Data
		for k, v := range single[0].Data {
			require.InDelta(t, v, got[k], 1e-4, "item %d value %d", i, k)
		}
		// each time step is a probability distribution
		for s := 0; s < 20; s++ {
			var sum float64
			for _, v := range got[s*6625 : (s+1)*6625] {
				require.False(t, math.IsNaN(float64(v)))
				sum += float64(v)
			}
			require.InDelta(t, 1.0, sum, 1e-3)
		}
	}
}

func TestOCRBadInput(t *testing.T) {
	b := openOCR(t)
	ctx := context.Background()
	for name, in := range map[string]inference.Tensor{
		"fixed dim differs": randomTensor("x", []int64{1, 3, 32, 64}, 3),
		"zero width":        {Name: "x", Shape: []int64{1, 3, 48, 0}},
		"rank":              randomTensor("x", []int64{1, 3, 48}, 3),
		"batch too large":   randomTensor("x", []int64{33, 3, 48, 8}, 3),
	} {
		_, err := b.Infer(ctx, "ocr_rec", []inference.Tensor{in})
		require.ErrorIs(t, err, inference.ErrBadInput, name)
	}
}
