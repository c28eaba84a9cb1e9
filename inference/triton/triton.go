// Package triton is the inference.Backend over Triton Inference Server (or any
// KServe v2 server) through its gRPC API, inference.GRPCInferenceService
// (proto/inference).
//
// Tensors travel as raw_input_contents / raw_output_contents: flattened,
// row-major, little-endian FP32. Only FP32 inputs and outputs are supported.
//
// Batching. Model reads the model's metadata and configuration:
//   - max_batch_size > 0 (Triton batches): shapes carry a leading -1 batch
//     dimension, MaxBatch is max_batch_size and one Infer is one request.
//   - max_batch_size 0 and every input's first dimension is 1 (a graph with a
//     fixed batch of 1, e.g. inputs [1,3,112,112]): MaxBatch is the split
//     limit (32, WithMaxSplit) and Infer sends one request per item,
//     concurrently (WithConcurrency), and stacks the outputs.
//   - max_batch_size 0 and every input's first dimension is -1 (a dynamic
//     batch dimension in the graph): one request with the whole batch;
//     MaxBatch is the split limit.
//
// In every case ModelInfo's shapes are without the batch dimension.
//
// Errors: NOT_FOUND is inference.ErrUnknownModel, UNAVAILABLE is
// inference.ErrUnavailable (Triton's "Exceeds maximum queue size" is
// inference.ErrOverloaded), INVALID_ARGUMENT is inference.ErrBadInput,
// RESOURCE_EXHAUSTED is inference.ErrOverloaded; the gRPC status stays in the
// chain (status.FromError, errors.As). A call ended by its context returns an
// error that also matches the context's error.
package triton

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/openekyc/ekyc/inference"
	inferencev1 "github.com/openekyc/ekyc/proto/inference"
)

// Defaults of the options.
const (
	DefaultMaxSplit    = 32
	DefaultConcurrency = 32
	// DefaultMaxMessageBytes bounds gRPC messages both ways (a batch of 32
	// 3x240x320 FP32 images is 29 MiB).
	DefaultMaxMessageBytes = 64 << 20
)

// Option configures Dial.
type Option func(*options)

type options struct {
	dialOpts       []grpc.DialOption
	maxSplit       int
	concurrency    int
	maxMsg         int
	version        string
	skipReadyCheck bool
}

// WithDialOptions adds gRPC dial options (credentials, interceptors, ...).
// Without credentials among them the connection is plaintext.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOpts = append(o.dialOpts, opts...) }
}

// WithMaxSplit sets MaxBatch of fixed-batch models: the largest batch Infer
// splits into per-item requests (default 32).
func WithMaxSplit(n int) Option { return func(o *options) { o.maxSplit = n } }

// WithConcurrency bounds the per-item requests of one Infer in flight at once
// (default 32).
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

// WithMaxMessageBytes sets the gRPC send and receive message limit (default
// 64 MiB).
func WithMaxMessageBytes(n int) Option { return func(o *options) { o.maxMsg = n } }

// WithModelVersion pins the model version of every call (default: the
// server's choice).
func WithModelVersion(v string) Option { return func(o *options) { o.version = v } }

// WithoutReadyCheck makes Dial return without asking ServerReady.
func WithoutReadyCheck() Option { return func(o *options) { o.skipReadyCheck = true } }

// Backend is an inference.Backend on a Triton server. Safe for concurrent use.
type Backend struct {
	addr   string
	conn   *grpc.ClientConn
	client inferencev1.GRPCInferenceServiceClient
	opts   options

	mu     sync.Mutex
	models map[string]*modelSpec
}

var _ inference.Backend = (*Backend)(nil)

// Dial connects to the KServe v2 gRPC endpoint at addr (host:port) and, unless
// WithoutReadyCheck, checks ServerReady within ctx: a server that cannot be
// reached or is not ready is inference.ErrUnavailable.
func Dial(ctx context.Context, addr string, opts ...Option) (*Backend, error) {
	o := options{maxSplit: DefaultMaxSplit, concurrency: DefaultConcurrency, maxMsg: DefaultMaxMessageBytes}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxSplit < 1 || o.concurrency < 1 || o.maxMsg < 1 {
		return nil, fmt.Errorf("triton: max split, concurrency and max message size must be positive")
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(o.maxMsg), grpc.MaxCallSendMsgSize(o.maxMsg)),
	}
	dialOpts = append(dialOpts, o.dialOpts...)
	conn, err := grpc.NewClient(addr, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("triton: dial %s: %w", addr, err)
	}
	b := &Backend{
		addr:   addr,
		conn:   conn,
		client: inferencev1.NewGRPCInferenceServiceClient(conn),
		opts:   o,
		models: make(map[string]*modelSpec),
	}
	if !o.skipReadyCheck {
		ready, err := b.ServerReady(ctx)
		if err == nil && !ready {
			err = fmt.Errorf("triton: server %s is live but not ready: %w", addr, inference.ErrUnavailable)
		}
		if err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return b, nil
}

// Close closes the connection.
func (b *Backend) Close() error { return b.conn.Close() }

// Addr is the address Dial was given.
func (b *Backend) Addr() string { return b.addr }

// ServerLive asks the server whether it is live.
func (b *Backend) ServerLive(ctx context.Context) (bool, error) {
	resp, err := b.client.ServerLive(ctx, &inferencev1.ServerLiveRequest{})
	if err != nil {
		return false, b.wrap(ctx, "ServerLive", "", err)
	}
	return resp.GetLive(), nil
}

// ServerReady asks the server whether it is ready (with Triton's default
// strict readiness: every model loaded).
func (b *Backend) ServerReady(ctx context.Context) (bool, error) {
	resp, err := b.client.ServerReady(ctx, &inferencev1.ServerReadyRequest{})
	if err != nil {
		return false, b.wrap(ctx, "ServerReady", "", err)
	}
	return resp.GetReady(), nil
}

// ModelReady asks whether the model is ready. A model the server does not
// know is inference.ErrUnknownModel (or false, depending on the server).
func (b *Backend) ModelReady(ctx context.Context, model string) (bool, error) {
	resp, err := b.client.ModelReady(ctx, &inferencev1.ModelReadyRequest{Name: model, Version: b.opts.version})
	if err != nil {
		return false, b.wrap(ctx, "ModelReady", model, err)
	}
	return resp.GetReady(), nil
}

// ModelMetadata returns the server's metadata of the model as is.
func (b *Backend) ModelMetadata(ctx context.Context, model string) (*inferencev1.ModelMetadataResponse, error) {
	resp, err := b.client.ModelMetadata(ctx, &inferencev1.ModelMetadataRequest{Name: model, Version: b.opts.version})
	if err != nil {
		return nil, b.wrap(ctx, "ModelMetadata", model, err)
	}
	return resp, nil
}

// Model describes the model (cached after the first successful call).
func (b *Backend) Model(ctx context.Context, model string) (inference.ModelInfo, error) {
	spec, err := b.spec(ctx, model)
	if err != nil {
		return inference.ModelInfo{}, err
	}
	return spec.info(), nil
}

// batchMode is how a model takes a batch.
type batchMode int

const (
	// modeNative: max_batch_size > 0, the server batches.
	modeNative batchMode = iota
	// modeSplit: fixed batch of 1, one request per item.
	modeSplit
	// modeWhole: dynamic first dimension without Triton batching, one request.
	modeWhole
)

type tensorSpec struct {
	name     string
	datatype string
	shape    []int64 // without the batch dimension
}

type modelSpec struct {
	name     string
	mode     batchMode
	maxBatch int
	inputs   []tensorSpec
	outputs  []tensorSpec
}

func (m *modelSpec) info() inference.ModelInfo {
	conv := func(ts []tensorSpec) []inference.TensorInfo {
		out := make([]inference.TensorInfo, len(ts))
		for i, t := range ts {
			out[i] = inference.TensorInfo{Name: t.name, Shape: append([]int64(nil), t.shape...)}
		}
		return out
	}
	return inference.ModelInfo{Name: m.name, Inputs: conv(m.inputs), Outputs: conv(m.outputs), MaxBatch: m.maxBatch}
}

func (b *Backend) spec(ctx context.Context, model string) (*modelSpec, error) {
	b.mu.Lock()
	s, ok := b.models[model]
	b.mu.Unlock()
	if ok {
		return s, nil
	}
	md, err := b.ModelMetadata(ctx, model)
	if err != nil {
		return nil, err
	}
	// ModelConfig is a Triton extension: other KServe v2 servers answer
	// UNIMPLEMENTED, and the batch mode then comes from the shapes alone.
	maxBatchSize := int32(-1)
	cfg, err := b.client.ModelConfig(ctx, &inferencev1.ModelConfigRequest{Name: model, Version: b.opts.version})
	switch {
	case err == nil:
		maxBatchSize = cfg.GetConfig().GetMaxBatchSize()
	case status.Code(err) == codes.Unimplemented:
	default:
		return nil, b.wrap(ctx, "ModelConfig", model, err)
	}
	s, err = newModelSpec(model, md, maxBatchSize, b.opts.maxSplit)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.models[model] = s
	b.mu.Unlock()
	return s, nil
}

// newModelSpec maps metadata (+ max_batch_size, -1 when unknown) to a spec.
func newModelSpec(model string, md *inferencev1.ModelMetadataResponse, maxBatchSize int32, maxSplit int) (*modelSpec, error) {
	if len(md.GetInputs()) == 0 || len(md.GetOutputs()) == 0 {
		return nil, fmt.Errorf("triton: model %q: metadata lists no inputs or no outputs", model)
	}
	s := &modelSpec{name: model}
	first := make([]int64, 0, len(md.GetInputs()))
	for _, t := range md.GetInputs() {
		if len(t.GetShape()) == 0 {
			return nil, fmt.Errorf("triton: model %q: input %q is a scalar: no batch dimension", model, t.GetName())
		}
		first = append(first, t.GetShape()[0])
	}
	allEq := func(v int64) bool {
		for _, d := range first {
			if d != v {
				return false
			}
		}
		return true
	}
	switch {
	case maxBatchSize > 0:
		s.mode, s.maxBatch = modeNative, int(maxBatchSize)
	case allEq(1):
		s.mode, s.maxBatch = modeSplit, maxSplit
	case allEq(-1):
		s.mode, s.maxBatch = modeWhole, maxSplit
		if maxBatchSize < 0 { // unknown config: a leading -1 is most likely Triton's batch dimension
			s.mode = modeNative
		}
	default:
		return nil, fmt.Errorf("triton: model %q: input first dimensions %v are neither all 1 (fixed batch) nor all -1 (batch dimension)", model, first)
	}
	conv := func(kind string, ts []*inferencev1.ModelMetadataResponse_TensorMetadata) ([]tensorSpec, error) {
		out := make([]tensorSpec, 0, len(ts))
		for _, t := range ts {
			shape := t.GetShape()
			if len(shape) == 0 {
				return nil, fmt.Errorf("triton: model %q: %s %q is a scalar: no batch dimension", model, kind, t.GetName())
			}
			out = append(out, tensorSpec{name: t.GetName(), datatype: t.GetDatatype(), shape: append([]int64(nil), shape[1:]...)})
		}
		return out, nil
	}
	var err error
	if s.inputs, err = conv("input", md.GetInputs()); err != nil {
		return nil, err
	}
	if s.outputs, err = conv("output", md.GetOutputs()); err != nil {
		return nil, err
	}
	return s, nil
}

// Infer runs a batch. Inputs are matched to the model's inputs by name (an
// empty name takes the model input at the same position); outputs come back in
// the order of ModelInfo.Outputs with the batch dimension first.
func (b *Backend) Infer(ctx context.Context, model string, inputs []inference.Tensor) ([]inference.Tensor, error) {
	spec, err := b.spec(ctx, model)
	if err != nil {
		return nil, err
	}
	ordered, batch, err := spec.arrange(inputs)
	if err != nil {
		return nil, err
	}
	switch spec.mode {
	case modeSplit:
		return b.inferSplit(ctx, spec, ordered, batch)
	default:
		req, err := buildRequest(model, b.opts.version, ordered, spec.outputs)
		if err != nil {
			return nil, err
		}
		return b.call(ctx, spec, req, batch)
	}
}

// arrange validates the inputs against the spec and orders them like the
// model's inputs; it returns the batch size.
func (s *modelSpec) arrange(inputs []inference.Tensor) ([]inference.Tensor, int, error) {
	if len(inputs) != len(s.inputs) {
		return nil, 0, fmt.Errorf("%w: model %q takes %d inputs, got %d", inference.ErrBadInput, s.name, len(s.inputs), len(inputs))
	}
	ordered := make([]inference.Tensor, len(s.inputs))
	seen := make([]bool, len(s.inputs))
	for i, t := range inputs {
		idx := -1
		if t.Name == "" {
			idx = i
		} else {
			for j, in := range s.inputs {
				if in.name == t.Name {
					idx = j
					break
				}
			}
		}
		if idx < 0 {
			return nil, 0, fmt.Errorf("%w: model %q has no input %q", inference.ErrBadInput, s.name, t.Name)
		}
		if seen[idx] {
			return nil, 0, fmt.Errorf("%w: model %q: input %q given twice", inference.ErrBadInput, s.name, s.inputs[idx].name)
		}
		seen[idx] = true
		t.Name = s.inputs[idx].name
		ordered[idx] = t
	}
	batch := -1
	for i, t := range ordered {
		in := s.inputs[i]
		if in.datatype != "FP32" {
			return nil, 0, fmt.Errorf("%w: model %q input %q is %s; only FP32 is supported", inference.ErrBadInput, s.name, in.name, in.datatype)
		}
		if err := t.Validate(); err != nil {
			return nil, 0, err
		}
		if len(t.Shape) != len(in.shape)+1 {
			return nil, 0, fmt.Errorf("%w: model %q input %q: shape %v, want [batch %v]", inference.ErrBadInput, s.name, in.name, t.Shape, in.shape)
		}
		for k, d := range in.shape {
			if d >= 0 && t.Shape[k+1] != d {
				return nil, 0, fmt.Errorf("%w: model %q input %q: shape %v, want [batch %v]", inference.ErrBadInput, s.name, in.name, t.Shape, in.shape)
			}
		}
		n := int(t.Shape[0])
		if batch >= 0 && n != batch {
			return nil, 0, fmt.Errorf("%w: model %q: inputs have different batch sizes (%d, %d)", inference.ErrBadInput, s.name, batch, n)
		}
		batch = n
	}
	if batch < 1 || batch > s.maxBatch {
		return nil, 0, fmt.Errorf("%w: model %q: batch %d outside 1..%d", inference.ErrBadInput, s.name, batch, s.maxBatch)
	}
	return ordered, batch, nil
}

// inferSplit sends one request per batch item, concurrently, and stacks the
// outputs. The first error cancels the rest.
func (b *Backend) inferSplit(ctx context.Context, spec *modelSpec, inputs []inference.Tensor, batch int) ([]inference.Tensor, error) {
	if batch == 1 {
		req, err := buildRequest(spec.name, b.opts.version, inputs, spec.outputs)
		if err != nil {
			return nil, err
		}
		return b.call(ctx, spec, req, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([][]inference.Tensor, batch)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		sem      = make(chan struct{}, b.opts.concurrency)
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for i := range batch {
		req, err := buildRequest(spec.name, b.opts.version, sliceItem(inputs, i), spec.outputs)
		if err != nil {
			fail(err)
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out, err := b.call(ctx, spec, req, 1)
			if err != nil {
				fail(fmt.Errorf("item %d: %w", i, err))
				return
			}
			results[i] = out
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if ctx.Err() != nil {
		return nil, b.wrap(ctx, "ModelInfer", spec.name, ctx.Err())
	}
	return stack(results), nil
}

// sliceItem returns item i of every input, with a batch dimension of 1. The
// data is shared, not copied.
func sliceItem(inputs []inference.Tensor, i int) []inference.Tensor {
	out := make([]inference.Tensor, len(inputs))
	for k, t := range inputs {
		per := len(t.Data) / int(t.Shape[0])
		shape := append([]int64{1}, t.Shape[1:]...)
		out[k] = inference.Tensor{Name: t.Name, Shape: shape, Data: t.Data[i*per : (i+1)*per]}
	}
	return out
}

// stack concatenates per-item outputs (each with batch 1) along the batch
// dimension.
func stack(items [][]inference.Tensor) []inference.Tensor {
	out := make([]inference.Tensor, len(items[0]))
	for k, t := range items[0] {
		data := make([]float32, 0, len(t.Data)*len(items))
		for _, item := range items {
			data = append(data, item[k].Data...)
		}
		shape := append([]int64{int64(len(items))}, t.Shape[1:]...)
		out[k] = inference.Tensor{Name: t.Name, Shape: shape, Data: data}
	}
	return out
}

// call sends one ModelInfer and decodes its outputs, which must have the
// given batch size.
func (b *Backend) call(ctx context.Context, spec *modelSpec, req *inferencev1.ModelInferRequest, batch int) ([]inference.Tensor, error) {
	resp, err := b.client.ModelInfer(ctx, req)
	if err != nil {
		if status.Code(err) == codes.NotFound {
			b.mu.Lock()
			delete(b.models, spec.name)
			b.mu.Unlock()
		}
		return nil, b.wrap(ctx, "ModelInfer", spec.name, err)
	}
	return parseResponse(spec, resp, batch)
}

// buildRequest makes a ModelInferRequest with raw FP32 inputs (in the given
// order) and asks for the given outputs.
func buildRequest(model, version string, inputs []inference.Tensor, outputs []tensorSpec) (*inferencev1.ModelInferRequest, error) {
	req := &inferencev1.ModelInferRequest{
		ModelName:        model,
		ModelVersion:     version,
		Inputs:           make([]*inferencev1.ModelInferRequest_InferInputTensor, len(inputs)),
		RawInputContents: make([][]byte, len(inputs)),
		Outputs:          make([]*inferencev1.ModelInferRequest_InferRequestedOutputTensor, len(outputs)),
	}
	for i, t := range inputs {
		if err := t.Validate(); err != nil {
			return nil, err
		}
		req.Inputs[i] = &inferencev1.ModelInferRequest_InferInputTensor{
			Name:     t.Name,
			Datatype: "FP32",
			Shape:    append([]int64(nil), t.Shape...),
		}
		req.RawInputContents[i] = EncodeFloat32(t.Data)
	}
	for i, o := range outputs {
		req.Outputs[i] = &inferencev1.ModelInferRequest_InferRequestedOutputTensor{Name: o.name}
	}
	return req, nil
}

// parseResponse decodes the outputs of the spec, in its order, from a
// response (raw_output_contents, or fp32_contents from servers that do not
// send raw data).
func parseResponse(spec *modelSpec, resp *inferencev1.ModelInferResponse, batch int) ([]inference.Tensor, error) {
	raw := resp.GetRawOutputContents()
	if len(raw) > 0 && len(raw) != len(resp.GetOutputs()) {
		return nil, fmt.Errorf("triton: model %q: %d outputs but %d raw contents", spec.name, len(resp.GetOutputs()), len(raw))
	}
	out := make([]inference.Tensor, len(spec.outputs))
	for k, want := range spec.outputs {
		idx := -1
		for j, o := range resp.GetOutputs() {
			if o.GetName() == want.name {
				idx = j
				break
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("triton: model %q: response lacks output %q", spec.name, want.name)
		}
		o := resp.GetOutputs()[idx]
		if o.GetDatatype() != "FP32" {
			return nil, fmt.Errorf("triton: model %q output %q is %s; only FP32 is supported", spec.name, want.name, o.GetDatatype())
		}
		t := inference.Tensor{Name: want.name, Shape: append([]int64(nil), o.GetShape()...)}
		if len(raw) > 0 {
			data, err := DecodeFloat32(raw[idx])
			if err != nil {
				return nil, fmt.Errorf("triton: model %q output %q: %w", spec.name, want.name, err)
			}
			t.Data = data
		} else {
			t.Data = append([]float32(nil), o.GetContents().GetFp32Contents()...)
		}
		if len(t.Shape) == 0 || t.Shape[0] != int64(batch) {
			return nil, fmt.Errorf("triton: model %q output %q: shape %v, want batch %d first", spec.name, want.name, t.Shape, batch)
		}
		if int64(len(t.Data)) != t.Elements() {
			return nil, fmt.Errorf("triton: model %q output %q: %d values for shape %v", spec.name, want.name, len(t.Data), t.Shape)
		}
		out[k] = t
	}
	return out, nil
}

// wrap maps a gRPC error to the typed errors of package inference.
func (b *Backend) wrap(ctx context.Context, op, model string, err error) error {
	where := "triton " + b.addr + ": " + op
	if model != "" {
		where += " " + fmt.Sprintf("%q", model)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("%s: %w", where, err)
		}
		return fmt.Errorf("%s: %w (%w)", where, ctxErr, err)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: %w", where, err)
	}
	var kind error
	switch st.Code() {
	case codes.NotFound:
		kind = inference.ErrUnknownModel
	case codes.Unavailable:
		kind = inference.ErrUnavailable
		if strings.Contains(st.Message(), "maximum queue size") {
			kind = inference.ErrOverloaded
		}
	case codes.InvalidArgument:
		kind = inference.ErrBadInput
	case codes.ResourceExhausted:
		kind = inference.ErrOverloaded
	case codes.DeadlineExceeded:
		kind = context.DeadlineExceeded
	case codes.Canceled:
		kind = context.Canceled
	default:
		return fmt.Errorf("%s: %w", where, err)
	}
	return fmt.Errorf("%s: %w: %w", where, kind, err)
}
