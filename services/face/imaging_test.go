package face

import (
	"image"
	"math"
)

// Image helpers of the tests: the degradations the quality gate must catch.

// gaussianBlur blurs img with a separable Gaussian of standard deviation
// sigma pixels (edges clamped).
func gaussianBlur(img *image.RGBA, sigma float64) *image.RGBA {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		x := float64(i - r)
		k[i] = math.Exp(-x * x / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	pass := func(src *image.RGBA, dx, dy int) *image.RGBA {
		dst := image.NewRGBA(src.Rect)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var acc [3]float64
				for i, kv := range k {
					sx := min(max(x+(i-r)*dx, 0), w-1)
					sy := min(max(y+(i-r)*dy, 0), h-1)
					o := sy*src.Stride + 4*sx
					acc[0] += kv * float64(src.Pix[o])
					acc[1] += kv * float64(src.Pix[o+1])
					acc[2] += kv * float64(src.Pix[o+2])
				}
				o := y*dst.Stride + 4*x
				for c := 0; c < 3; c++ {
					dst.Pix[o+c] = uint8(math.Round(acc[c]))
				}
				dst.Pix[o+3] = 0xFF
			}
		}
		return dst
	}
	return pass(pass(img, 1, 0), 0, 1)
}

// scaleBrightness multiplies every channel by f (clamped to 0..255).
func scaleBrightness(img *image.RGBA, f float64) *image.RGBA {
	dst := image.NewRGBA(img.Rect)
	for i := range img.Pix {
		if i%4 == 3 {
			dst.Pix[i] = img.Pix[i]
			continue
		}
		dst.Pix[i] = uint8(math.Min(255, math.Round(float64(img.Pix[i])*f)))
	}
	return dst
}

// shrinkOnto scales img by f and pastes it in the middle of a w×h grey
// canvas: a small face in a normal-sized photo.
func shrinkOnto(img *image.RGBA, f float64, w, h int) *image.RGBA {
	sw, sh := int(float64(img.Rect.Dx())*f), int(float64(img.Rect.Dy())*f)
	small := cropResize(img, img.Rect, sw, sh)
	canvas := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range canvas.Pix {
		canvas.Pix[i] = 128
		if i%4 == 3 {
			canvas.Pix[i] = 0xFF
		}
	}
	ox, oy := (w-sw)/2, (h-sh)/2
	for y := 0; y < sh; y++ {
		copy(canvas.Pix[(oy+y)*canvas.Stride+4*ox:(oy+y)*canvas.Stride+4*(ox+sw)], small.Pix[y*small.Stride:y*small.Stride+4*sw])
	}
	return canvas
}
