package face

import (
	"errors"
	"math"
)

// ArcFaceTemplate is the 5-point reference of the 112×112 aligned face the
// embedding model was trained on (InsightFace / ArcFace): left eye, right
// eye (as seen in the image), nose tip, left and right mouth corners.
var ArcFaceTemplate = [5]Point{
	{38.2946, 51.6963},
	{73.5318, 51.5014},
	{56.0252, 71.7366},
	{41.5493, 92.3655},
	{70.7299, 92.2041},
}

// AlignedSize is the side of the aligned face fed to the embedding model.
const AlignedSize = 112

// Similarity is a 2-D similarity transform (rotation, uniform scale,
// translation):
//
//	x' = A·x − B·y + TX
//	y' = B·x + A·y + TY
//
// with A = s·cos θ and B = s·sin θ.
type Similarity struct {
	A, B, TX, TY float64
}

// Apply maps p.
func (m Similarity) Apply(p Point) Point {
	return Point{m.A*p.X - m.B*p.Y + m.TX, m.B*p.X + m.A*p.Y + m.TY}
}

// Scale is the transform's scale factor s.
func (m Similarity) Scale() float64 { return math.Hypot(m.A, m.B) }

// Angle is the transform's rotation θ in radians.
func (m Similarity) Angle() float64 { return math.Atan2(m.B, m.A) }

var errDegenerate = errors.New("face: degenerate point set")

// EstimateSimilarity returns the similarity transform that maps src onto dst
// with the least squared error (Umeyama 1991, restricted to proper
// rotations; in 2-D the SVD solution has this closed form). src and dst have
// the same length, at least 2, and src must not be a single point.
func EstimateSimilarity(src, dst []Point) (Similarity, error) {
	n := len(src)
	if n < 2 || len(dst) != n {
		return Similarity{}, errDegenerate
	}
	var mps, mqs Point
	for i := range src {
		mps.X += src[i].X
		mps.Y += src[i].Y
		mqs.X += dst[i].X
		mqs.Y += dst[i].Y
	}
	mps.X /= float64(n)
	mps.Y /= float64(n)
	mqs.X /= float64(n)
	mqs.Y /= float64(n)
	var sxx, a, b float64
	for i := range src {
		px, py := src[i].X-mps.X, src[i].Y-mps.Y
		qx, qy := dst[i].X-mqs.X, dst[i].Y-mqs.Y
		sxx += px*px + py*py
		a += px*qx + py*qy
		b += px*qy - py*qx
	}
	if sxx < 1e-12 {
		return Similarity{}, errDegenerate
	}
	a /= sxx
	b /= sxx
	return Similarity{
		A:  a,
		B:  b,
		TX: mqs.X - (a*mps.X - b*mps.Y),
		TY: mqs.Y - (b*mps.X + a*mps.Y),
	}, nil
}

// FivePoints reduces 68 landmarks (iBUG 300-W order) to the five points of
// the ArcFace template: the centres of the eyes (mean of the two upper and
// two lower eyelid points, 37/38/40/41 and 43/44/46/47), the nose tip (30),
// and the mouth corners (mean of the outer and inner lip corners, 48/60 and
// 54/64). This is the reduction the model's publisher uses.
func FivePoints(lm []Point) ([5]Point, bool) {
	if len(lm) != 68 {
		return [5]Point{}, false
	}
	mean := func(idx ...int) Point {
		var p Point
		for _, i := range idx {
			p.X += lm[i].X
			p.Y += lm[i].Y
		}
		return Point{p.X / float64(len(idx)), p.Y / float64(len(idx))}
	}
	return [5]Point{
		mean(37, 38, 40, 41),
		mean(43, 44, 46, 47),
		lm[30],
		mean(48, 60),
		mean(54, 64),
	}, true
}
