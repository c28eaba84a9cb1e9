package face

import (
	"context"
	"errors"
	"image"
	"math"
)

// ErrNoFace is returned by Portrait when the detector finds no face.
var ErrNoFace = errors.New("face: no face found")

// Portrait margins: how far the crop extends beyond the detector box, as
// fractions of the box's width (left and right) and height (above and
// below), so the crop shows the head and shoulders as printed on an
// identity document rather than the bare detector box.
const (
	portraitMarginX     = 0.35
	portraitMarginAbove = 0.45
	portraitMarginBelow = 0.35
)

// Portrait finds the most confident face in img (a document page, for the
// reviewer's side-by-side view of the holder's photo and the selfie) and
// returns the crop around it, in img's pixels, with the box it was taken
// from. The crop is the detector box grown by the portrait margins and
// clamped to the image. ErrNoFace when no face passes the detector's
// threshold.
func Portrait(ctx context.Context, r Runner, img image.Image, opts ...Option) (*image.RGBA, Box, error) {
	rgba := toRGBA(img)
	if rgba.Rect.Dx() < 2 || rgba.Rect.Dy() < 2 {
		return nil, Box{}, ErrImageTooSmall
	}
	ds, err := detect(ctx, r, rgba, newConfig(opts))
	if err != nil {
		return nil, Box{}, err
	}
	if len(ds) == 0 {
		return nil, Box{}, ErrNoFace
	}
	best := ds[0]
	for _, d := range ds[1:] {
		if d.Score > best.Score {
			best = d
		}
	}
	b := best.Box
	rect := image.Rect(
		int(math.Floor(b.X1-portraitMarginX*b.W())), int(math.Floor(b.Y1-portraitMarginAbove*b.H())),
		int(math.Ceil(b.X2+portraitMarginX*b.W())), int(math.Ceil(b.Y2+portraitMarginBelow*b.H())),
	).Intersect(rgba.Rect)
	if rect.Empty() {
		return nil, Box{}, ErrNoFace
	}
	out := image.NewRGBA(image.Rect(0, 0, rect.Dx(), rect.Dy()))
	for y := 0; y < rect.Dy(); y++ {
		src := rgba.PixOffset(rect.Min.X, rect.Min.Y+y)
		copy(out.Pix[y*out.Stride:y*out.Stride+4*rect.Dx()], rgba.Pix[src:src+4*rect.Dx()])
	}
	return out, b, nil
}
