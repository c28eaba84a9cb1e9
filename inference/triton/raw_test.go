package triton

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/openekyc/ekyc/inference"
	inferencev1 "github.com/openekyc/ekyc/proto/inference"
)

// Tests here need no server.

func TestEncodeFloat32LittleEndian(t *testing.T) {
	got := EncodeFloat32([]float32{1, -2, 0.5, float32(math.Inf(1))})
	require.Equal(t, []byte{
		0x00, 0x00, 0x80, 0x3f, // 1
		0x00, 0x00, 0x00, 0xc0, // -2
		0x00, 0x00, 0x00, 0x3f, // 0.5
		0x00, 0x00, 0x80, 0x7f, // +Inf
	}, got)
	require.Empty(t, EncodeFloat32(nil))
}

func TestDecodeFloat32RoundTrip(t *testing.T) {
	in := []float32{0, float32(math.Copysign(0, -1)), 1e-38, -3.4028235e38, 3.14159, float32(math.Inf(-1)), math.SmallestNonzeroFloat32}
	out, err := DecodeFloat32(EncodeFloat32(in))
	require.NoError(t, err)
	require.Len(t, out, len(in))
	for i := range in {
		require.Equal(t, math.Float32bits(in[i]), math.Float32bits(out[i]), "value %d", i)
	}
	nan, err := DecodeFloat32(EncodeFloat32([]float32{float32(math.NaN())}))
	require.NoError(t, err)
	require.True(t, math.IsNaN(float64(nan[0])))

	_, err = DecodeFloat32([]byte{1, 2, 3})
	require.Error(t, err)
	empty, err := DecodeFloat32(nil)
	require.NoError(t, err)
	require.Empty(t, empty)
}

func fixedSpec(t *testing.T) *modelSpec {
	t.Helper()
	md := &inferencev1.ModelMetadataResponse{
		Name: "face_embed",
		Inputs: []*inferencev1.ModelMetadataResponse_TensorMetadata{
			{Name: "input", Datatype: "FP32", Shape: []int64{1, 3, 2, 2}},
		},
		Outputs: []*inferencev1.ModelMetadataResponse_TensorMetadata{
			{Name: "output", Datatype: "FP32", Shape: []int64{1, 4}},
		},
	}
	s, err := newModelSpec("face_embed", md, 0, 32)
	require.NoError(t, err)
	return s
}

func TestModelSpecModes(t *testing.T) {
	s := fixedSpec(t)
	require.Equal(t, modeSplit, s.mode)
	require.Equal(t, inference.ModelInfo{
		Name:     "face_embed",
		Inputs:   []inference.TensorInfo{{Name: "input", Shape: []int64{3, 2, 2}}},
		Outputs:  []inference.TensorInfo{{Name: "output", Shape: []int64{4}}},
		MaxBatch: 32,
	}, s.info())

	batched := &inferencev1.ModelMetadataResponse{
		Inputs:  []*inferencev1.ModelMetadataResponse_TensorMetadata{{Name: "x", Datatype: "FP32", Shape: []int64{-1, 8}}},
		Outputs: []*inferencev1.ModelMetadataResponse_TensorMetadata{{Name: "y", Datatype: "FP32", Shape: []int64{-1, 2}}},
	}
	s, err := newModelSpec("m", batched, 16, 32)
	require.NoError(t, err)
	require.Equal(t, modeNative, s.mode)
	require.Equal(t, 16, s.maxBatch)
	require.Equal(t, []int64{8}, s.inputs[0].shape)

	s, err = newModelSpec("m", batched, 0, 32) // dynamic first dim, no Triton batching
	require.NoError(t, err)
	require.Equal(t, modeWhole, s.mode)
	require.Equal(t, 32, s.maxBatch)

	s, err = newModelSpec("m", batched, -1, 32) // config unknown (not Triton)
	require.NoError(t, err)
	require.Equal(t, modeNative, s.mode)

	noBatch := &inferencev1.ModelMetadataResponse{
		Inputs:  []*inferencev1.ModelMetadataResponse_TensorMetadata{{Name: "x", Datatype: "FP32", Shape: []int64{3, 8}}},
		Outputs: []*inferencev1.ModelMetadataResponse_TensorMetadata{{Name: "y", Datatype: "FP32", Shape: []int64{2}}},
	}
	_, err = newModelSpec("m", noBatch, 0, 32)
	require.Error(t, err)
}

func TestBuildRequest(t *testing.T) {
	s := fixedSpec(t)
	in := []inference.Tensor{{Name: "input", Shape: []int64{1, 3, 2, 2}, Data: make([]float32, 12)}}
	in[0].Data[0], in[0].Data[11] = 1, -2
	req, err := buildRequest("face_embed", "3", in, s.outputs)
	require.NoError(t, err)
	require.Equal(t, "face_embed", req.GetModelName())
	require.Equal(t, "3", req.GetModelVersion())
	require.Len(t, req.GetInputs(), 1)
	require.Equal(t, "input", req.GetInputs()[0].GetName())
	require.Equal(t, "FP32", req.GetInputs()[0].GetDatatype())
	require.Equal(t, []int64{1, 3, 2, 2}, req.GetInputs()[0].GetShape())
	require.Nil(t, req.GetInputs()[0].GetContents(), "raw_input_contents excludes typed contents")
	require.Len(t, req.GetRawInputContents(), 1)
	require.Len(t, req.GetRawInputContents()[0], 48)
	require.Equal(t, []byte{0, 0, 0x80, 0x3f}, req.GetRawInputContents()[0][:4])
	require.Equal(t, []byte{0, 0, 0, 0xc0}, req.GetRawInputContents()[0][44:])
	require.Len(t, req.GetOutputs(), 1)
	require.Equal(t, "output", req.GetOutputs()[0].GetName())

	_, err = buildRequest("face_embed", "", []inference.Tensor{{Name: "input", Shape: []int64{1, 3}, Data: make([]float32, 2)}}, s.outputs)
	require.ErrorIs(t, err, inference.ErrBadInput)
}

func TestArrange(t *testing.T) {
	s := fixedSpec(t)
	ok := inference.Tensor{Name: "input", Shape: []int64{4, 3, 2, 2}, Data: make([]float32, 48)}
	got, batch, err := s.arrange([]inference.Tensor{ok})
	require.NoError(t, err)
	require.Equal(t, 4, batch)
	require.Equal(t, "input", got[0].Name)

	unnamed := ok
	unnamed.Name = ""
	got, _, err = s.arrange([]inference.Tensor{unnamed})
	require.NoError(t, err)
	require.Equal(t, "input", got[0].Name, "an unnamed input takes the model input at its position")

	for name, in := range map[string][]inference.Tensor{
		"no inputs":      nil,
		"unknown name":   {{Name: "nope", Shape: ok.Shape, Data: ok.Data}},
		"wrong dims":     {{Name: "input", Shape: []int64{4, 3, 2, 3}, Data: make([]float32, 72)}},
		"no batch dim":   {{Name: "input", Shape: []int64{3, 2, 2}, Data: make([]float32, 12)}},
		"data too short": {{Name: "input", Shape: ok.Shape, Data: make([]float32, 47)}},
		"batch 0":        {{Name: "input", Shape: []int64{0, 3, 2, 2}}},
		"batch > max":    {{Name: "input", Shape: []int64{33, 3, 2, 2}, Data: make([]float32, 33*12)}},
	} {
		_, _, err := s.arrange(in)
		require.ErrorIs(t, err, inference.ErrBadInput, name)
	}
}

func TestSliceAndStack(t *testing.T) {
	in := []inference.Tensor{{Name: "input", Shape: []int64{3, 2}, Data: []float32{1, 2, 3, 4, 5, 6}}}
	item := sliceItem(in, 1)
	require.Equal(t, []int64{1, 2}, item[0].Shape)
	require.Equal(t, []float32{3, 4}, item[0].Data)

	out := stack([][]inference.Tensor{
		{{Name: "o", Shape: []int64{1, 2}, Data: []float32{1, 2}}},
		{{Name: "o", Shape: []int64{1, 2}, Data: []float32{3, 4}}},
	})
	require.Equal(t, []inference.Tensor{{Name: "o", Shape: []int64{2, 2}, Data: []float32{1, 2, 3, 4}}}, out)
}

func TestParseResponse(t *testing.T) {
	s := fixedSpec(t)
	resp := &inferencev1.ModelInferResponse{
		ModelName: "face_embed",
		Outputs: []*inferencev1.ModelInferResponse_InferOutputTensor{
			{Name: "output", Datatype: "FP32", Shape: []int64{1, 4}},
		},
		RawOutputContents: [][]byte{EncodeFloat32([]float32{1, 2, 3, 4})},
	}
	out, err := parseResponse(s, resp, 1)
	require.NoError(t, err)
	require.Equal(t, []inference.Tensor{{Name: "output", Shape: []int64{1, 4}, Data: []float32{1, 2, 3, 4}}}, out)

	typed := &inferencev1.ModelInferResponse{Outputs: []*inferencev1.ModelInferResponse_InferOutputTensor{
		{Name: "output", Datatype: "FP32", Shape: []int64{1, 4}, Contents: &inferencev1.InferTensorContents{Fp32Contents: []float32{4, 3, 2, 1}}},
	}}
	out, err = parseResponse(s, typed, 1)
	require.NoError(t, err)
	require.Equal(t, []float32{4, 3, 2, 1}, out[0].Data)

	_, err = parseResponse(s, resp, 2)
	require.Error(t, err, "batch mismatch")
	resp.RawOutputContents[0] = resp.RawOutputContents[0][:12]
	_, err = parseResponse(s, resp, 1)
	require.Error(t, err, "short data")
	_, err = parseResponse(s, &inferencev1.ModelInferResponse{}, 1)
	require.Error(t, err, "missing output")
}

func TestErrorMapping(t *testing.T) {
	b := &Backend{addr: "x"}
	ctx := context.Background()
	for code, want := range map[codes.Code]error{
		codes.NotFound:          inference.ErrUnknownModel,
		codes.Unavailable:       inference.ErrUnavailable,
		codes.InvalidArgument:   inference.ErrBadInput,
		codes.ResourceExhausted: inference.ErrOverloaded,
		codes.DeadlineExceeded:  context.DeadlineExceeded,
	} {
		err := b.wrap(ctx, "ModelInfer", "m", status.Error(code, "boom"))
		require.ErrorIs(t, err, want, code.String())
		st, ok := status.FromError(err)
		require.True(t, ok)
		require.Equal(t, code, st.Code(), "the gRPC status stays in the chain")
	}
	err := b.wrap(ctx, "ModelInfer", "m", status.Error(codes.Unavailable, "Exceeds maximum queue size"))
	require.ErrorIs(t, err, inference.ErrOverloaded)
	err = b.wrap(ctx, "ModelInfer", "m", status.Error(codes.Internal, "boom"))
	require.False(t, errors.Is(err, inference.ErrUnavailable))

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = b.wrap(cctx, "ModelInfer", "m", status.Error(codes.Canceled, "context canceled"))
	require.ErrorIs(t, err, context.Canceled)
}

// Dial against a port nobody listens on: the real gRPC stack answers
// UNAVAILABLE, which Dial reports as inference.ErrUnavailable.
func TestDialUnreachableIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, "127.0.0.1:1")
	require.ErrorIs(t, err, inference.ErrUnavailable)

	b, err := Dial(ctx, "127.0.0.1:1", WithoutReadyCheck())
	require.NoError(t, err)
	_, err = b.Model(ctx, "face_embed")
	require.ErrorIs(t, err, inference.ErrUnavailable)
	require.NoError(t, b.Close())
}
