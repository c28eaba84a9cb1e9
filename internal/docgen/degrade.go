package docgen

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
)

// toRGBA returns img as an *image.RGBA with bounds starting at (0,0)
// (a copy unless it already is one).
func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Bounds().Min == (image.Point{}) {
		return r
	}
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
	return dst
}

// Rotate turns img by deg degrees (positive: counter-clockwise) about its
// centre with bilinear sampling; the result has the same size and corners
// uncovered by the source are white.
func Rotate(img image.Image, deg float64) *image.RGBA {
	src := toRGBA(img)
	b := src.Bounds()
	dst := image.NewRGBA(b)
	draw.Draw(dst, b, image.NewUniform(color.White), image.Point{}, draw.Src)
	// Transform takes the src → dst map.
	th := -deg * math.Pi / 180
	c, s := math.Cos(th), math.Sin(th)
	cx, cy := float64(b.Dx())/2, float64(b.Dy())/2
	m := f64.Aff3{
		c, -s, cx - c*cx + s*cy,
		s, c, cy - s*cx - c*cy,
	}
	draw.BiLinear.Transform(dst, m, src, b, draw.Over, nil)
	return dst
}

// RotateRect returns the bounding box of r after Rotate(·, deg) of a w×h
// image.
func RotateRect(r image.Rectangle, deg float64, w, h int) image.Rectangle {
	if r.Empty() {
		return r
	}
	th := -deg * math.Pi / 180
	c, s := math.Cos(th), math.Sin(th)
	cx, cy := float64(w)/2, float64(h)/2
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range [4][2]float64{{float64(r.Min.X), float64(r.Min.Y)}, {float64(r.Max.X), float64(r.Min.Y)},
		{float64(r.Min.X), float64(r.Max.Y)}, {float64(r.Max.X), float64(r.Max.Y)}} {
		x := c*(p[0]-cx) - s*(p[1]-cy) + cx
		y := s*(p[0]-cx) + c*(p[1]-cy) + cy
		minX, minY, maxX, maxY = math.Min(minX, x), math.Min(minY, y), math.Max(maxX, x), math.Max(maxY, y)
	}
	out := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY)))
	return out.Intersect(image.Rect(0, 0, w, h))
}

// Blur applies a separable Gaussian blur of standard deviation sigma pixels
// (edges clamp). sigma <= 0 returns a copy.
func Blur(img image.Image, sigma float64) *image.RGBA {
	src := toRGBA(img)
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(b)
	if sigma <= 0 {
		copy(out.Pix, src.Pix)
		return out
	}
	rad := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*rad+1)
	sum := 0.0
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, w*h*3)
	// Horizontal pass.
	for y := 0; y < h; y++ {
		row := src.Pix[y*src.Stride:]
		for x := 0; x < w; x++ {
			var r, g, bl float64
			for i, kv := range k {
				xx := min(max(x+i-rad, 0), w-1) * 4
				r += kv * float64(row[xx])
				g += kv * float64(row[xx+1])
				bl += kv * float64(row[xx+2])
			}
			t := (y*w + x) * 3
			tmp[t], tmp[t+1], tmp[t+2] = r, g, bl
		}
	}
	// Vertical pass.
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var r, g, bl float64
			for i, kv := range k {
				yy := min(max(y+i-rad, 0), h-1)
				t := (yy*w + x) * 3
				r += kv * tmp[t]
				g += kv * tmp[t+1]
				bl += kv * tmp[t+2]
			}
			o := y*out.Stride + x*4
			out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = clamp8(r), clamp8(g), clamp8(bl), 255
		}
	}
	return out
}

func clamp8(v float64) uint8 {
	return uint8(math.Min(255, math.Max(0, math.Round(v))))
}

// JPEG re-encodes img as a JPEG of the given quality (1-100) and decodes it.
func JPEG(img image.Image, quality int) (*image.RGBA, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("docgen: jpeg encode: %w", err)
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		return nil, fmt.Errorf("docgen: jpeg decode: %w", err)
	}
	return toRGBA(dec), nil
}

// Noise adds independent Gaussian noise of standard deviation sigma (in
// 0-255 units) to each colour channel, drawn from rng.
func Noise(img image.Image, sigma float64, rng *rand.Rand) *image.RGBA {
	src := toRGBA(img)
	out := image.NewRGBA(src.Bounds())
	copy(out.Pix, src.Pix)
	for i := 0; i < len(out.Pix); i += 4 {
		for c := 0; c < 3; c++ {
			out.Pix[i+c] = clamp8(float64(out.Pix[i+c]) + rng.NormFloat64()*sigma)
		}
	}
	return out
}

// Downscale resizes img by factor (0 < factor <= 1) with a Catmull-Rom
// filter. It returns the image and the new size.
func Downscale(img image.Image, factor float64) *image.RGBA {
	b := img.Bounds()
	w := max(1, int(math.Round(float64(b.Dx())*factor)))
	h := max(1, int(math.Round(float64(b.Dy())*factor)))
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// ScaleRect maps a rectangle through Downscale(·, factor).
func ScaleRect(r image.Rectangle, factor float64) image.Rectangle {
	return image.Rect(int(math.Floor(float64(r.Min.X)*factor)), int(math.Floor(float64(r.Min.Y)*factor)),
		int(math.Ceil(float64(r.Max.X)*factor)), int(math.Ceil(float64(r.Max.Y)*factor)))
}
