// Package face is the face pipeline of ekyc as pure functions over images
// and model outputs: decoding with limits and EXIF orientation, detection
// (UltraFace), 68-point landmarks, 5-point similarity alignment to the
// ArcFace template, a quality gate, passive liveness (MiniFASNet-shaped) and
// 512-d embeddings (MobileFaceNet) compared by cosine similarity. Models run
// through the small Runner interface, so callers can use the batching pool
// (actors/inference) or an inference.Backend directly.
//
// The models come from npm faceplugin-face-recognition-js (see `make
// models`), served as face_detect, face_landmark, face_embed and
// face_liveness. Their pre- and post-processing follows the
// publisher's reference code: the detector graph outputs decoded,
// normalised corner boxes; landmarks are normalised to the square face crop.
package face

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/openekyc/ekyc/inference"
)

// Model names, as the backends serve them (models/<name>/1/model.onnx).
const (
	ModelDetect   = "face_detect"
	ModelLandmark = "face_landmark"
	ModelEmbed    = "face_embed"
	ModelLiveness = "face_liveness"
)

// Model input sizes.
const (
	LandmarkSize = 64
	LivenessSize = 128
	// LivenessCropScale is how much the square face box is enlarged for the
	// liveness crop: the model judges the face with its surroundings (screen
	// edges, paper borders, hands).
	LivenessCropScale = 2.7
	// EmbeddingSize is the length of an embedding.
	EmbeddingSize = 512
)

// Runner runs one model on one request (batch dimension 1). The batching
// pool and inference.Backend (through BackendRunner) both fit.
type Runner interface {
	Run(ctx context.Context, model string, inputs []inference.Tensor) ([]inference.Tensor, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, model string, inputs []inference.Tensor) ([]inference.Tensor, error)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, model string, inputs []inference.Tensor) ([]inference.Tensor, error) {
	return f(ctx, model, inputs)
}

// BackendRunner runs models directly on a backend, without batching.
func BackendRunner(b inference.Backend) Runner { return RunnerFunc(b.Infer) }

// Face is one analysed face.
type Face struct {
	// Box is the detector box in image pixels; Score its face probability.
	Box   Box
	Score float64
	// Landmarks are the 68 points (iBUG 300-W order) in image pixels.
	Landmarks []Point
	// Points are the 5 alignment points (see FivePoints).
	Points [5]Point
	// Quality is the quality gate's measures and verdict.
	Quality Quality
	// Liveness is the passive liveness result (Checked false when not run).
	Liveness Liveness
	// Embedding is the L2-normalised 512-d embedding; nil when not run.
	Embedding []float32
}

// Liveness is the liveness model's verdict on one face.
type Liveness struct {
	Checked bool
	// Score is the probability of class 0 (live), 0..1.
	Score float64
	// Probs are the three class probabilities (0 = live; 1 and 2 are the
	// model's two attack classes).
	Probs [3]float64
}

// Analysis is the result of Analyze: the image size and its faces, most
// confident detection first.
type Analysis struct {
	Width, Height int
	Faces         []Face
}

// Primary is the face with the largest box (the subject of a selfie, the
// main portrait of a document rather than its small ghost image), or nil.
func (a *Analysis) Primary() *Face {
	if a == nil {
		return nil
	}
	var best *Face
	for i := range a.Faces {
		if best == nil || a.Faces[i].Box.Area() > best.Box.Area() {
			best = &a.Faces[i]
		}
	}
	return best
}

// Analyze detects the faces of img and, for each (at most the configured
// maximum, most confident first), computes landmarks, alignment, quality,
// liveness and the embedding. An error is a model failure (wrapped; test it
// with errors.Is against the inference errors) or ErrImageTooSmall for an
// image under 2×2 pixels; finding no face is not an error.
func Analyze(ctx context.Context, r Runner, img image.Image, opts ...Option) (*Analysis, error) {
	cfg := newConfig(opts)
	rgba := toRGBA(img)
	w, h := rgba.Rect.Dx(), rgba.Rect.Dy()
	if w < 2 || h < 2 {
		return nil, fmt.Errorf("%w: %dx%d image", ErrImageTooSmall, w, h)
	}
	dets, err := detect(ctx, r, rgba, cfg)
	if err != nil {
		return nil, err
	}
	if len(dets) > cfg.maxFaces {
		dets = dets[:cfg.maxFaces]
	}
	a := &Analysis{Width: w, Height: h, Faces: make([]Face, 0, len(dets))}
	for _, d := range dets {
		f, err := analyzeFace(ctx, r, rgba, d, cfg)
		if err != nil {
			return nil, err
		}
		a.Faces = append(a.Faces, f)
	}
	return a, nil
}

// Detect runs only the detector.
func Detect(ctx context.Context, r Runner, img image.Image, opts ...Option) ([]Detection, error) {
	rgba := toRGBA(img)
	if rgba.Rect.Dx() < 2 || rgba.Rect.Dy() < 2 {
		return nil, fmt.Errorf("%w: %dx%d image", ErrImageTooSmall, rgba.Rect.Dx(), rgba.Rect.Dy())
	}
	return detect(ctx, r, rgba, newConfig(opts))
}

func detect(ctx context.Context, r Runner, img *image.RGBA, cfg config) ([]Detection, error) {
	in, lb := detectorInput(img)
	outs, err := r.Run(ctx, ModelDetect, []inference.Tensor{in})
	if err != nil {
		return nil, fmt.Errorf("face: %s: %w", ModelDetect, err)
	}
	const anchors = 4420
	scores, err := output(outs, "scores", 2*anchors)
	if err != nil {
		return nil, err
	}
	boxes, err := output(outs, "boxes", 4*anchors)
	if err != nil {
		return nil, err
	}
	return DecodeDetections(scores, boxes, lb, img.Rect.Dx(), img.Rect.Dy(), cfg.scoreThreshold, cfg.nmsIoU)
}

func analyzeFace(ctx context.Context, r Runner, img *image.RGBA, d Detection, cfg config) (Face, error) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	f := Face{Box: d.Box, Score: d.Score}
	sq := squareBox(d.Box)
	sq = Box{clamp(sq.X1, 0, float64(w-1)), clamp(sq.Y1, 0, float64(h-1)), clamp(sq.X2, 0, float64(w-1)), clamp(sq.Y2, 0, float64(h-1))}

	lm, err := landmarks(ctx, r, img, sq)
	if err != nil {
		return f, err
	}
	f.Landmarks = lm
	f.Points, _ = FivePoints(lm)
	aligned, err := Align(img, f.Points)
	if err != nil {
		return f, err
	}
	f.Quality = assessQuality(img, d.Box, lm, f.Points, aligned, cfg.quality)

	if cfg.liveness {
		if f.Liveness, err = liveness(ctx, r, img, sq); err != nil {
			return f, err
		}
	}
	if cfg.embedding {
		if f.Embedding, err = embed(ctx, r, aligned); err != nil {
			return f, err
		}
	}
	return f, nil
}

// Align warps img so that the five points land on the ArcFace template,
// giving the 112×112 face the embedding model expects.
func Align(img image.Image, five [5]Point) (*image.RGBA, error) {
	m, err := EstimateSimilarity(five[:], ArcFaceTemplate[:])
	if err != nil {
		return nil, err
	}
	return warpAffine(toRGBA(img), m, AlignedSize, AlignedSize), nil
}

// landmarks runs the landmark model on the crop of the square box sq and
// returns the 68 points in image pixels.
func landmarks(ctx context.Context, r Runner, img *image.RGBA, sq Box) ([]Point, error) {
	crop := scaledCrop(sq, 1, img.Rect.Dx(), img.Rect.Dy())
	if crop.Empty() {
		return nil, fmt.Errorf("%w: empty face crop", inference.ErrBadInput)
	}
	small := cropResize(img, crop, LandmarkSize, LandmarkSize)
	g := grey(small)
	data := make([]float32, len(g))
	for i, v := range g {
		data[i] = float32(v / 256)
	}
	outs, err := r.Run(ctx, ModelLandmark, []inference.Tensor{{Name: "input", Shape: []int64{1, 1, LandmarkSize, LandmarkSize}, Data: data}})
	if err != nil {
		return nil, fmt.Errorf("face: %s: %w", ModelLandmark, err)
	}
	v, err := output(outs, "output", 136)
	if err != nil {
		return nil, err
	}
	cw, ch := float64(crop.Dx()), float64(crop.Dy())
	pts := make([]Point, 68)
	for i := range pts {
		pts[i] = Point{float64(crop.Min.X) + float64(v[2*i])*cw, float64(crop.Min.Y) + float64(v[2*i+1])*ch}
	}
	return pts, nil
}

// liveness runs the liveness model on the square box enlarged 2.7×.
func liveness(ctx context.Context, r Runner, img *image.RGBA, sq Box) (Liveness, error) {
	crop := scaledCrop(sq, LivenessCropScale, img.Rect.Dx(), img.Rect.Dy())
	if crop.Empty() {
		return Liveness{}, fmt.Errorf("%w: empty liveness crop", inference.ErrBadInput)
	}
	in := cropResize(img, crop, LivenessSize, LivenessSize)
	outs, err := r.Run(ctx, ModelLiveness, []inference.Tensor{{
		Name:  "input",
		Shape: []int64{1, 3, LivenessSize, LivenessSize},
		Data:  chwData(in, func(p uint8) float32 { return float32(p) }),
	}})
	if err != nil {
		return Liveness{}, fmt.Errorf("face: %s: %w", ModelLiveness, err)
	}
	v, err := output(outs, "output", 3)
	if err != nil {
		return Liveness{}, err
	}
	p := Softmax(v)
	return Liveness{Checked: true, Score: p[0], Probs: [3]float64{p[0], p[1], p[2]}}, nil
}

// embed runs the embedding model on an aligned face and L2-normalises the
// result.
func embed(ctx context.Context, r Runner, aligned *image.RGBA) ([]float32, error) {
	outs, err := r.Run(ctx, ModelEmbed, []inference.Tensor{{
		Name:  "input",
		Shape: []int64{1, 3, AlignedSize, AlignedSize},
		Data:  chwData(aligned, func(p uint8) float32 { return (float32(p) - 127) / 128 }),
	}})
	if err != nil {
		return nil, fmt.Errorf("face: %s: %w", ModelEmbed, err)
	}
	v, err := output(outs, "output", EmbeddingSize)
	if err != nil {
		return nil, err
	}
	e := append([]float32(nil), v...)
	if !Normalize(e) {
		return nil, fmt.Errorf("%w: %s returned a zero embedding", inference.ErrBadInput, ModelEmbed)
	}
	return e, nil
}

// output picks a model output: the one named name, else the first holding
// n values (backends that do not name outputs).
func output(outs []inference.Tensor, name string, n int) ([]float32, error) {
	for _, t := range outs {
		if t.Name == name && len(t.Data) == n {
			return t.Data, nil
		}
	}
	for _, t := range outs {
		if len(t.Data) == n {
			return t.Data, nil
		}
	}
	return nil, fmt.Errorf("%w: no model output %q with %d values among %d outputs", inference.ErrBadInput, name, n, len(outs))
}

// Softmax turns logits into probabilities.
func Softmax(v []float32) []float64 {
	out := make([]float64, len(v))
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, float64(x))
	}
	var sum float64
	for i, x := range v {
		out[i] = math.Exp(float64(x) - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// Normalize scales v to unit L2 norm in place; false if v is zero.
func Normalize(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return false
	}
	inv := 1 / math.Sqrt(s)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return true
}

// Cosine is the cosine similarity of two vectors (−1..1; 0 if either is
// zero or their lengths differ).
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// Match is the comparison of two analyses' primary faces.
type Match struct {
	// Compared is false when either analysis has no face with an embedding.
	Compared bool
	// Similarity is the cosine similarity of the embeddings (−1..1).
	Similarity float64
}

// Matches reports whether the faces were compared and are at least
// threshold alike.
func (m Match) Matches(threshold float64) bool { return m.Compared && m.Similarity >= threshold }

// Compare compares the primary faces (largest box) of a and b.
func Compare(a, b *Analysis) Match {
	fa, fb := a.Primary(), b.Primary()
	if fa == nil || fb == nil || fa.Embedding == nil || fb.Embedding == nil {
		return Match{}
	}
	return Match{Compared: true, Similarity: Cosine(fa.Embedding, fb.Embedding)}
}
