package triton

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/inference/ort"
)

// The same random inputs through Triton and through the embedded ONNX
// Runtime backend (inference/ort, on the same model repository): every
// output of every item must point the same way (cosine >= 0.999). Needs
// EKYC_TEST_TRITON and `make models` (the ONNX Runtime library in the models
// directory).
func TestTritonMatchesEmbeddedORT(t *testing.T) {
	tb, ctx := dialTest(t)
	dir := ort.DefaultDir()
	if _, err := os.Stat(filepath.Join(dir, ort.LibraryPath)); err != nil {
		t.Skipf("models not fetched into %s: run `make models`", dir)
	}
	ob, err := ort.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ob.Close()) })

	models := []string{"face_embed", "face_detect", "face_landmark", "face_liveness"}
	if m := os.Getenv("EKYC_TEST_TRITON_MODEL"); m != "" {
		models = []string{m}
	}
	const batch = 4
	for i, model := range models {
		t.Run(model, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, model, "config.pbtxt")); err != nil {
				t.Skipf("%s not in %s", model, dir)
			}
			tInfo, err := tb.Model(ctx, model)
			require.NoError(t, err)
			oInfo, err := ob.Model(ctx, model)
			require.NoError(t, err)
			require.Equal(t, oInfo.Inputs, tInfo.Inputs)
			require.Equal(t, oInfo.Outputs, tInfo.Outputs)

			in := randomBatch(tInfo, batch, uint64(1000+i))
			tOut, err := tb.Infer(ctx, model, in)
			require.NoError(t, err)
			oOut, err := ob.Infer(ctx, model, in)
			require.NoError(t, err)
			require.Len(t, tOut, len(oOut))
			for k := range oOut {
				require.Equal(t, oOut[k].Name, tOut[k].Name)
				require.Equal(t, oOut[k].Shape, tOut[k].Shape)
				per := len(oOut[k].Data) / batch
				for item := range batch {
					a := tOut[k].Data[item*per : (item+1)*per]
					b := oOut[k].Data[item*per : (item+1)*per]
					cos := cosine(a, b)
					t.Logf("%s item %d output %s: cosine %.7f, max |diff| %.3g", model, item, oOut[k].Name, cos, maxAbsDiff(a, b))
					require.GreaterOrEqual(t, cos, 0.999, "%s item %d output %s", model, item, oOut[k].Name)
				}
			}
		})
	}
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 && nb == 0 {
		return 1
	}
	return dot / math.Sqrt(na*nb)
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}
