// Package ort is the embedded inference backend: ONNX Runtime on the CPU,
// in process, through github.com/yalue/onnxruntime_go.
//
// It serves a Triton-layout model repository, as laid out by `make models`
// (models/fetch.sh):
//
//	<dir>/<model>/config.pbtxt
//	<dir>/<model>/<version>/model.onnx   (the highest numeric version is served)
//	<dir>/lib/libonnxruntime.so.1        (the ONNX Runtime shared library)
//
// # Sessions and threads
//
// Each model gets one ONNX Runtime session, created once (at Open for the
// models named with WithModels, otherwise on first use) and shared by all
// callers: a DynamicAdvancedSession's Run may be called from several
// goroutines at once (ONNX Runtime sessions are thread-safe, and the Go
// wrapper keeps no per-call state in a DynamicAdvancedSession). By default a
// session uses one intra-op and one inter-op thread, so one Infer call uses
// one core and the concurrency of the process is the number of concurrent
// Infer calls, which the pooled batching actors control. WithIntraOpThreads
// and WithInterOpThreads change that.
//
// # Batching of fixed-batch graphs
//
// The face models' graphs have a fixed batch dimension of 1. Such a model is
// reported with MaxBatch (default 32, WithMaxBatch) and Infer accepts any
// batch up to it: the items of one call are run one after the other on the
// session, each as a batch of 1, reading from and writing into the caller's
// batch buffers without copies. On a CPU this costs nothing against a real
// batched graph for these small convolutional models, keeps the items'
// results independent of the batch they came in (bitwise), and lets the
// batching actors treat every backend alike.
//
// # Dynamic dimensions
//
// Graphs may have dynamic dimensions (-1 in ModelInfo, which leaves out the
// batch dimension). When every input and output has a dynamic first
// dimension (the OCR models: ocr_det [N,3,H,W], ocr_rec [N,3,48,W]), that
// dimension is the batch: one Infer call is one Run over the whole batch. A
// graph with a fixed first dimension of 1 is run item by item, as above.
// Other dynamic dimensions take the sizes of the caller's tensors (one size
// per call: the items of a batch share their shape), and outputs with a
// dynamic dimension are allocated by ONNX Runtime and copied out, with the
// shapes the graph produced. Graphs whose first dimension is neither 1 nor
// dynamic, or that mix both, are refused at load.
//
// The ONNX Runtime library is loaded and its environment initialised once per
// process, by the first Open (later Opens reuse it, whatever their
// directory), and is never torn down: Close releases only the backend's
// sessions.
package ort

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/openekyc/ekyc/inference"
)

// LibraryPath is where the ONNX Runtime shared library lies inside a models
// directory.
const LibraryPath = "lib/libonnxruntime.so.1"

// DefaultMaxBatch is the default largest batch of one Infer call.
const DefaultMaxBatch = 32

// DefaultDir is the models directory `make models` writes by default:
// $EKYC_MODELS_DIR, else $EKYC_CACHE_DIR/models, else ~/.cache/ekyc/models.
func DefaultDir() string {
	if d := os.Getenv("EKYC_MODELS_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("EKYC_CACHE_DIR"); d != "" {
		return filepath.Join(d, "models")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".cache", "ekyc", "models")
	}
	return filepath.Join(home, ".cache", "ekyc", "models")
}

// Option configures Open.
type Option func(*config)

type config struct {
	intraOp  int
	interOp  int
	maxBatch int
	preload  []string
}

// WithIntraOpThreads sets the threads ONNX Runtime uses inside one operator
// of one Run (default 1; 0 lets ONNX Runtime use one per core).
func WithIntraOpThreads(n int) Option { return func(c *config) { c.intraOp = n } }

// WithInterOpThreads sets the threads ONNX Runtime uses to run independent
// operators of one Run in parallel (default 1; 0 lets ONNX Runtime choose).
func WithInterOpThreads(n int) Option { return func(c *config) { c.interOp = n } }

// WithMaxBatch sets the MaxBatch reported for, and accepted by, fixed-batch
// models (default DefaultMaxBatch).
func WithMaxBatch(n int) Option { return func(c *config) { c.maxBatch = n } }

// WithModels loads these models at Open, which fails if one cannot be
// loaded. Other models of the directory are still loaded on first use.
func WithModels(names ...string) Option {
	return func(c *config) { c.preload = append(c.preload, names...) }
}

// Backend is the ONNX Runtime backend. It implements inference.Backend and
// is safe for concurrent use.
type Backend struct {
	dir string
	cfg config

	// life is held shared by every call that uses sessions and exclusively
	// by Close, so Close waits for calls in flight.
	life   sync.RWMutex
	closed bool

	mu     sync.RWMutex // guards models and serialises session creation
	models map[string]*model
}

var _ inference.Backend = (*Backend)(nil)

type model struct {
	info    inference.ModelInfo
	sess    *onnx.DynamicAdvancedSession
	inItem  []int64 // elements of one item of each input (-1: dynamic)
	outItem []int64 // elements of one item of each output (-1: dynamic)
	// batched: the graph's first dimension is dynamic, so a batch is one Run.
	batched bool
	// dynamic: some dimension other than the batch is dynamic.
	dynamic bool
}

var (
	envOnce sync.Once
	envErr  error
)

// initEnv loads the ONNX Runtime library and initialises its environment,
// once per process.
func initEnv(lib string) error {
	envOnce.Do(func() {
		if onnx.IsInitialized() {
			return // someone else in this process did it
		}
		if _, err := os.Stat(lib); err != nil {
			envErr = fmt.Errorf("%w: ONNX Runtime library: %v (run `make models`)", inference.ErrUnavailable, err)
			return
		}
		onnx.SetSharedLibraryPath(lib)
		if err := onnx.InitializeEnvironment(); err != nil {
			envErr = fmt.Errorf("%w: initialise ONNX Runtime from %s: %v", inference.ErrUnavailable, lib, err)
		}
	})
	return envErr
}

// Open serves the model repository dir (see the package doc). Errors wrap
// inference.ErrUnavailable when the directory or the library is missing.
func Open(dir string, opts ...Option) (*Backend, error) {
	cfg := config{intraOp: 1, interOp: 1, maxBatch: DefaultMaxBatch}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.intraOp < 0 || cfg.interOp < 0 {
		return nil, fmt.Errorf("ort: thread counts must be >= 0 (intra-op %d, inter-op %d)", cfg.intraOp, cfg.interOp)
	}
	if cfg.maxBatch < 1 {
		return nil, fmt.Errorf("ort: max batch must be >= 1, got %d", cfg.maxBatch)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: models directory %q not found (run `make models`)", inference.ErrUnavailable, dir)
	}
	if err := initEnv(filepath.Join(dir, LibraryPath)); err != nil {
		return nil, err
	}
	b := &Backend{dir: dir, cfg: cfg, models: map[string]*model{}}
	for _, name := range cfg.preload {
		if _, err := b.load(name); err != nil {
			_ = b.Close()
			return nil, err
		}
	}
	return b, nil
}

// Model describes a model, loading it if needed. Shapes leave out the batch
// dimension.
func (b *Backend) Model(ctx context.Context, name string) (inference.ModelInfo, error) {
	if err := ctx.Err(); err != nil {
		return inference.ModelInfo{}, err
	}
	b.life.RLock()
	defer b.life.RUnlock()
	if b.closed {
		return inference.ModelInfo{}, errClosed
	}
	m, err := b.load(name)
	if err != nil {
		return inference.ModelInfo{}, err
	}
	return cloneInfo(m.info), nil
}

var errClosed = fmt.Errorf("%w: ort backend closed", inference.ErrUnavailable)

// Infer runs a batch. Inputs come in the order of ModelInfo.Inputs (a tensor
// with a Name must carry that input's name), each shaped [batch, item
// dims...] with the same batch, 1 <= batch <= MaxBatch. The outputs come in
// the order of ModelInfo.Outputs, shaped [batch, item dims...]. The items are
// run one by one (see the package doc); ctx is checked before each.
func (b *Backend) Infer(ctx context.Context, name string, inputs []inference.Tensor) ([]inference.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.life.RLock()
	defer b.life.RUnlock()
	if b.closed {
		return nil, errClosed
	}
	m, err := b.load(name)
	if err != nil {
		return nil, err
	}
	batch, err := m.check(inputs, b.cfg.maxBatch)
	if err != nil {
		return nil, err
	}
	if m.batched || m.dynamic {
		outs, err := m.runDynamic(ctx, inputs, batch)
		if err != nil {
			return nil, fmt.Errorf("ort: %s: %w", name, err)
		}
		return outs, nil
	}

	outs := make([]inference.Tensor, len(m.info.Outputs))
	for j, o := range m.info.Outputs {
		outs[j] = inference.Tensor{
			Name:  o.Name,
			Shape: append([]int64{int64(batch)}, o.Shape...),
			Data:  make([]float32, int64(batch)*m.outItem[j]),
		}
	}
	for i := 0; i < batch; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := m.runItem(inputs, outs, i); err != nil {
			return nil, fmt.Errorf("ort: %s item %d: %w", name, i, err)
		}
	}
	return outs, nil
}

// runItem runs item i of the batch: tensors of batch 1 that view the
// caller's input slices and the output slices, so nothing is copied.
func (m *model) runItem(inputs, outs []inference.Tensor, i int) (err error) {
	vals := make([]onnx.Value, 0, len(inputs)+len(outs))
	defer func() {
		for _, v := range vals {
			if derr := v.Destroy(); derr != nil && err == nil {
				err = derr
			}
		}
	}()
	in := make([]onnx.Value, len(inputs))
	for j := range inputs {
		n := m.inItem[j]
		t, err := onnx.NewTensor(onnx.Shape(m.graphShape(m.info.Inputs[j])), inputs[j].Data[int64(i)*n:int64(i+1)*n])
		if err != nil {
			return err
		}
		vals = append(vals, t)
		in[j] = t
	}
	out := make([]onnx.Value, len(outs))
	for j := range outs {
		n := m.outItem[j]
		t, err := onnx.NewTensor(onnx.Shape(m.graphShape(m.info.Outputs[j])), outs[j].Data[int64(i)*n:int64(i+1)*n])
		if err != nil {
			return err
		}
		vals = append(vals, t)
		out[j] = t
	}
	return m.sess.Run(in, out)
}

// runDynamic runs a batch on a graph with dynamic dimensions: one Run when
// the batch dimension is dynamic, else one Run per item (each a batch of 1);
// ONNX Runtime allocates the outputs, which are copied out.
func (m *model) runDynamic(ctx context.Context, inputs []inference.Tensor, batch int) ([]inference.Tensor, error) {
	if m.batched {
		return m.runOnce(inputs)
	}
	var outs []inference.Tensor
	for i := 0; i < batch; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		items := make([]inference.Tensor, len(inputs))
		for j, t := range inputs {
			n := t.Elements() / t.Shape[0]
			items[j] = inference.Tensor{Name: t.Name, Shape: append([]int64{1}, t.Shape[1:]...), Data: t.Data[int64(i)*n : int64(i+1)*n]}
		}
		got, err := m.runOnce(items)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		if outs == nil {
			outs = make([]inference.Tensor, len(got))
			for j, o := range got {
				outs[j] = inference.Tensor{Name: o.Name, Shape: append([]int64{int64(batch)}, o.Shape[1:]...), Data: make([]float32, 0, int64(batch)*int64(len(o.Data)))}
			}
		}
		for j, o := range got {
			if !slices.Equal(o.Shape[1:], outs[j].Shape[1:]) {
				return nil, fmt.Errorf("item %d: output %q shape %v differs from the first item's", i, o.Name, o.Shape)
			}
			outs[j].Data = append(outs[j].Data, o.Data...)
		}
	}
	return outs, nil
}

// runOnce runs the tensors as they are, with outputs allocated by ONNX
// Runtime and copied out.
func (m *model) runOnce(inputs []inference.Tensor) (outs []inference.Tensor, err error) {
	in := make([]onnx.Value, len(inputs))
	out := make([]onnx.Value, len(m.info.Outputs))
	defer func() {
		for _, v := range append(in, out...) {
			if v == nil {
				continue
			}
			if derr := v.Destroy(); derr != nil && err == nil {
				err = derr
			}
		}
	}()
	for j, t := range inputs {
		v, err := onnx.NewTensor(onnx.Shape(slices.Clone(t.Shape)), t.Data)
		if err != nil {
			return nil, err
		}
		in[j] = v
	}
	if err := m.sess.Run(in, out); err != nil {
		return nil, err
	}
	batch := inputs[0].Shape[0]
	outs = make([]inference.Tensor, len(out))
	for j, v := range out {
		ft, ok := v.(*onnx.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("output %q: not a float32 tensor", m.info.Outputs[j].Name)
		}
		shape := []int64(ft.GetShape())
		want := m.info.Outputs[j].Shape
		if len(shape) != len(want)+1 || shape[0] != batch {
			return nil, fmt.Errorf("output %q has shape %v, want [%d %s]", m.info.Outputs[j].Name, shape, batch, dims(want))
		}
		for k, d := range want {
			if d >= 0 && shape[k+1] != d {
				return nil, fmt.Errorf("output %q has shape %v, want [%d %s]", m.info.Outputs[j].Name, shape, batch, dims(want))
			}
		}
		outs[j] = inference.Tensor{Name: m.info.Outputs[j].Name, Shape: slices.Clone(shape), Data: slices.Clone(ft.GetData())}
	}
	return outs, nil
}

func (m *model) graphShape(t inference.TensorInfo) []int64 {
	return append([]int64{1}, t.Shape...)
}

// check validates a batch against the model and returns its size.
func (m *model) check(inputs []inference.Tensor, maxBatch int) (int, error) {
	if len(inputs) != len(m.info.Inputs) {
		return 0, fmt.Errorf("%w: model %q takes %d inputs, got %d", inference.ErrBadInput, m.info.Name, len(m.info.Inputs), len(inputs))
	}
	batch := int64(-1)
	for j, t := range inputs {
		want := m.info.Inputs[j]
		if t.Name != "" && t.Name != want.Name {
			return 0, fmt.Errorf("%w: model %q input %d is %q, got a tensor named %q", inference.ErrBadInput, m.info.Name, j, want.Name, t.Name)
		}
		if len(t.Shape) != len(want.Shape)+1 || !dimsMatch(t.Shape[1:], want.Shape) {
			return 0, fmt.Errorf("%w: model %q input %q wants shape [batch %s], got %v", inference.ErrBadInput, m.info.Name, want.Name, dims(want.Shape), t.Shape)
		}
		if err := t.Validate(); err != nil {
			return 0, err
		}
		if batch >= 0 && t.Shape[0] != batch {
			return 0, fmt.Errorf("%w: model %q: inputs have different batch sizes (%d and %d)", inference.ErrBadInput, m.info.Name, batch, t.Shape[0])
		}
		batch = t.Shape[0]
	}
	if batch < 1 || batch > int64(maxBatch) {
		return 0, fmt.Errorf("%w: model %q: batch %d outside 1..%d", inference.ErrBadInput, m.info.Name, batch, maxBatch)
	}
	return int(batch), nil
}

// dimsMatch reports whether item dims fit the model's (-1 matches any size
// >= 1).
func dimsMatch(got, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		if (w >= 0 && got[i] != w) || got[i] < 1 {
			return false
		}
	}
	return true
}

// dims formats item dims for "[batch %s]".
func dims(s []int64) string {
	return strings.Trim(fmt.Sprint(s), "[]")
}

// load returns the model, creating its session the first time.
func (b *Backend) load(name string) (*model, error) {
	b.mu.RLock()
	m, ok := b.models[name]
	b.mu.RUnlock()
	if ok {
		return m, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if m, ok := b.models[name]; ok {
		return m, nil
	}
	file, err := b.modelFile(name)
	if err != nil {
		return nil, err
	}
	ins, outs, err := onnx.GetInputOutputInfo(file)
	if err != nil {
		return nil, fmt.Errorf("ort: model %q: read %s: %w", name, file, err)
	}
	m = &model{info: inference.ModelInfo{Name: name, MaxBatch: b.cfg.maxBatch}}
	var inNames, outNames []string
	fixed, dyn := 0, 0
	note := func(batched bool, n int64) {
		if batched {
			dyn++
		} else {
			fixed++
		}
		if n < 0 {
			m.dynamic = true
		}
	}
	for _, io := range ins {
		ti, n, batched, err := itemInfo(name, "input", io)
		if err != nil {
			return nil, err
		}
		note(batched, n)
		m.info.Inputs = append(m.info.Inputs, ti)
		m.inItem = append(m.inItem, n)
		inNames = append(inNames, io.Name)
	}
	for _, io := range outs {
		ti, n, batched, err := itemInfo(name, "output", io)
		if err != nil {
			return nil, err
		}
		note(batched, n)
		m.info.Outputs = append(m.info.Outputs, ti)
		m.outItem = append(m.outItem, n)
		outNames = append(outNames, io.Name)
	}
	if fixed > 0 && dyn > 0 {
		return nil, fmt.Errorf("ort: model %q mixes inputs or outputs with a fixed batch of 1 and with a dynamic first dimension: not supported", name)
	}
	m.batched = dyn > 0

	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(b.cfg.intraOp); err != nil {
		return nil, fmt.Errorf("ort: intra-op threads: %w", err)
	}
	if err := so.SetInterOpNumThreads(b.cfg.interOp); err != nil {
		return nil, fmt.Errorf("ort: inter-op threads: %w", err)
	}
	m.sess, err = onnx.NewDynamicAdvancedSession(file, inNames, outNames, so)
	if err != nil {
		return nil, fmt.Errorf("ort: model %q: session: %w", name, err)
	}
	b.models[name] = m
	return m, nil
}

// itemInfo checks that a graph tensor is float32 shaped [1 or dynamic,
// dims...] and returns its description without the batch dimension (-1 for
// a dynamic dimension), the number of elements of one item (-1 when a dim is
// dynamic) and whether the batch dimension is dynamic.
func itemInfo(model, kind string, io onnx.InputOutputInfo) (inference.TensorInfo, int64, bool, error) {
	if io.OrtValueType != onnx.ONNXTypeTensor || io.DataType != onnx.TensorElementDataTypeFloat {
		return inference.TensorInfo{}, 0, false, fmt.Errorf("ort: model %q %s %q: only float32 tensors are supported (%s)", model, kind, io.Name, io.String())
	}
	d := io.Dimensions
	if len(d) < 1 || (d[0] != 1 && d[0] >= 0) {
		return inference.TensorInfo{}, 0, false, fmt.Errorf("ort: model %q %s %q has shape %v: only graphs whose first dimension is 1 or dynamic (the batch) are supported", model, kind, io.Name, d)
	}
	shape := slices.Clone([]int64(d[1:]))
	n := int64(1)
	for i, x := range shape {
		if x < 1 {
			shape[i] = -1
			n = -1
		} else if n > 0 {
			n *= x
		}
	}
	return inference.TensorInfo{Name: io.Name, Shape: shape}, n, d[0] < 0, nil
}

// modelFile finds <dir>/<name>/<highest numeric version>/model.onnx.
func (b *Backend) modelFile(name string) (string, error) {
	if name == "" || name == "." || name == ".." || name == filepath.Dir(LibraryPath) || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("%w: %q", inference.ErrUnknownModel, name)
	}
	entries, err := os.ReadDir(filepath.Join(b.dir, name))
	if err != nil {
		return "", fmt.Errorf("%w: %q (no %s)", inference.ErrUnknownModel, name, filepath.Join(b.dir, name))
	}
	best := int64(-1)
	for _, e := range entries {
		v, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || v < 0 || !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(b.dir, name, e.Name(), "model.onnx")); err == nil && v > best {
			best = v
		}
	}
	if best < 0 {
		return "", fmt.Errorf("%w: %q (no <version>/model.onnx in %s)", inference.ErrUnknownModel, name, filepath.Join(b.dir, name))
	}
	return filepath.Join(b.dir, name, strconv.FormatInt(best, 10), "model.onnx"), nil
}

// Close releases the sessions after the calls in flight end. Later calls
// fail with inference.ErrUnavailable. The ONNX Runtime environment stays, for
// other backends of the process.
func (b *Backend) Close() error {
	b.life.Lock()
	defer b.life.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for name, m := range b.models {
		if err := m.sess.Destroy(); err != nil {
			errs = append(errs, fmt.Errorf("ort: close %q: %w", name, err))
		}
	}
	b.models = nil
	return errors.Join(errs...)
}

func cloneInfo(in inference.ModelInfo) inference.ModelInfo {
	out := in
	out.Inputs = cloneTensors(in.Inputs)
	out.Outputs = cloneTensors(in.Outputs)
	return out
}

func cloneTensors(ts []inference.TensorInfo) []inference.TensorInfo {
	out := make([]inference.TensorInfo, len(ts))
	for i, t := range ts {
		out[i] = inference.TensorInfo{Name: t.Name, Shape: slices.Clone(t.Shape)}
	}
	return out
}
