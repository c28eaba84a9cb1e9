package face

import (
	"image"
	"image/color"
	"math"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
)

// Box is an axis-aligned rectangle in image pixels (corners, x2/y2
// exclusive in spirit: width is X2-X1).
type Box struct {
	X1, Y1, X2, Y2 float64
}

// W is the box width.
func (b Box) W() float64 { return b.X2 - b.X1 }

// H is the box height.
func (b Box) H() float64 { return b.Y2 - b.Y1 }

// Area is the box area (0 for an empty or inverted box).
func (b Box) Area() float64 { return max(b.W(), 0) * max(b.H(), 0) }

// IoU is the intersection over union of two boxes.
func IoU(a, b Box) float64 {
	iw := min(a.X2, b.X2) - max(a.X1, b.X1)
	ih := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	return inter / (a.Area() + b.Area() - inter)
}

// Point is a position in image pixels.
type Point struct {
	X, Y float64
}

func dist(a, b Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

// luma is the ITU-R BT.601 luma of an RGB pixel, 0..255.
func luma(r, g, b uint8) float64 {
	return 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)
}

// resizeInto scales the part sr of src to fill dst with the bilinear kernel
// (which widens its support when shrinking, so downscaling does not alias).
func resizeInto(dst *image.RGBA, src *image.RGBA, sr image.Rectangle) {
	xdraw.BiLinear.Scale(dst, dst.Rect, src, sr, xdraw.Src, nil)
}

// cropResize returns the part r of src (clipped to src) scaled to w×h.
func cropResize(src *image.RGBA, r image.Rectangle, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	r = r.Intersect(src.Rect)
	if r.Empty() {
		return dst
	}
	resizeInto(dst, src, r)
	return dst
}

// warpAffine returns the w×h image dst(p) = src(m⁻¹ p), where m maps source
// pixel coordinates to destination pixel coordinates, sampled bilinearly.
// Destination pixels that map outside src are black (as OpenCV's
// warpAffine with a constant border).
func warpAffine(src *image.RGBA, m Similarity, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 3; i < len(dst.Pix); i += 4 {
		dst.Pix[i] = 0xFF
	}
	s2d := f64.Aff3{m.A, -m.B, m.TX, m.B, m.A, m.TY}
	xdraw.BiLinear.Transform(dst, s2d, src, src.Rect, xdraw.Src, nil)
	return dst
}

// grey returns the luma plane of img, row-major.
func grey(img *image.RGBA) []float64 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := make([]float64, w*h)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			out[y*w+x] = luma(row[4*x], row[4*x+1], row[4*x+2])
		}
	}
	return out
}

// LaplacianVariance is the variance of the 4-neighbour Laplacian of a grey
// plane (w×h, row-major) over the rectangle r (clipped to the plane's
// interior). Sharp images have strong second derivatives, so a high
// variance; blur removes them. It is the usual focus measure (Pech-Pacheco
// et al., 2000).
func LaplacianVariance(plane []float64, w, h int, r image.Rectangle) float64 {
	r = r.Intersect(image.Rect(1, 1, w-1, h-1))
	if r.Empty() {
		return 0
	}
	var sum, sq float64
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := y*w + x
			l := plane[i-1] + plane[i+1] + plane[i-w] + plane[i+w] - 4*plane[i]
			sum += l
			sq += l * l
			n++
		}
	}
	mean := sum / float64(n)
	return sq/float64(n) - mean*mean
}

// meanLuma is the mean luma of img over r (clipped to img); 0 when empty.
func meanLuma(img *image.RGBA, r image.Rectangle) float64 {
	r = r.Intersect(img.Rect)
	if r.Empty() {
		return 0
	}
	var sum float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[y*img.Stride:]
		for x := r.Min.X; x < r.Max.X; x++ {
			sum += luma(row[4*x], row[4*x+1], row[4*x+2])
		}
	}
	return sum / float64(r.Dx()*r.Dy())
}

// boxRect rounds a box outwards to integer pixels.
func boxRect(b Box) image.Rectangle {
	return image.Rect(int(math.Floor(b.X1)), int(math.Floor(b.Y1)), int(math.Ceil(b.X2)), int(math.Ceil(b.Y2)))
}

// chwTensorData writes img (w×h) as planar R, G, B floats, each f(channel
// value).
func chwData(img *image.RGBA, f func(uint8) float32) []float32 {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := make([]float32, 3*w*h)
	plane := w * h
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			i := y*w + x
			out[i] = f(row[4*x])
			out[plane+i] = f(row[4*x+1])
			out[2*plane+i] = f(row[4*x+2])
		}
	}
	return out
}

// fill paints img with one colour.
func fill(img *image.RGBA, c color.RGBA) {
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
}
