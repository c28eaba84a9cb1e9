// Package inference is the model-serving interface of ekyc: one Backend
// interface with two implementations, the embedded ONNX Runtime on CPU
// (inference/ort) and Triton over the KServe v2 gRPC protocol
// (inference/triton). Callers do not use backends directly: they send
// single requests to the pooled batching actors (actors/inference), which
// gather a batch and make one backend call.
package inference

import (
	"context"
	"errors"
	"fmt"
)

// Typed errors, checked with errors.Is.
var (
	// ErrUnknownModel: the backend does not serve the model.
	ErrUnknownModel = errors.New("inference: unknown model")
	// ErrOverloaded: the request queue of the model is full; retry later.
	ErrOverloaded = errors.New("inference: overloaded")
	// ErrBadInput: tensors do not match the model's inputs.
	ErrBadInput = errors.New("inference: bad input")
	// ErrUnavailable: the backend cannot be reached or is not ready.
	ErrUnavailable = errors.New("inference: backend unavailable")
)

// Tensor is a dense float32 tensor. For a batch, the first dimension is the
// batch size.
type Tensor struct {
	Name  string
	Shape []int64
	Data  []float32
}

// Elements is the number of elements the shape describes.
func (t Tensor) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Validate checks that the data length matches the shape.
func (t Tensor) Validate() error {
	if int64(len(t.Data)) != t.Elements() {
		return fmt.Errorf("%w: tensor %q has %d values for shape %v", ErrBadInput, t.Name, len(t.Data), t.Shape)
	}
	return nil
}

// TensorInfo describes one model input or output, without the batch
// dimension. -1 marks a dynamic dimension.
type TensorInfo struct {
	Name  string
	Shape []int64
}

// ModelInfo describes a served model.
type ModelInfo struct {
	Name    string
	Inputs  []TensorInfo
	Outputs []TensorInfo
	// MaxBatch is the largest batch one backend call accepts. Models whose
	// graph has a fixed batch of 1 still accept batches: the backend runs them
	// item by item (see the backend's docs).
	MaxBatch int
}

// Backend runs models. Infer takes a batch (inputs with the batch dimension
// first, all with the same batch size) and returns the outputs in the order of
// ModelInfo.Outputs, batch dimension first. Implementations are safe for
// concurrent use.
type Backend interface {
	Infer(ctx context.Context, model string, inputs []Tensor) ([]Tensor, error)
	Model(ctx context.Context, model string) (ModelInfo, error)
	Close() error
}
