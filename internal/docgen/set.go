package docgen

import (
	"fmt"
	"image"
	"math/rand/v2"
)

// Degradation names used in Case.Degradation.
const (
	Clean   = "clean"
	Rotated = "rotated"
	Blurred = "blur"
	JPEGed  = "jpeg"
	Noisy   = "noise"
)

// Degradations lists the degradations Set cycles through.
var Degradations = []string{Clean, Rotated, Blurred, JPEGed, Noisy}

// Case is one generated test image with its ground truth.
type Case struct {
	Name        string // e.g. "003-TD2-blur"
	Format      Format
	Degradation string
	// Param is the degradation's parameter: degrees, sigma, quality or noise
	// sigma (0 for clean).
	Param float64
	// Image is the degraded page (same size as Page.Image).
	Image image.Image
	// Page is the clean page and its ground truth (Lines, Holder).
	Page *Page
	// MRZBox and PortraitBox are the ground-truth boxes in Image (for a
	// rotation: the bounding boxes of the rotated boxes).
	MRZBox, PortraitBox image.Rectangle
}

// Set yields n cases deterministically from seed: case i has format
// Formats[i%5] and degradation Degradations[(i/5)%5] — clean, rotated by ±3°
// (sign from the rng), Gaussian blur σ=1, JPEG quality 60, Gaussian noise
// σ=8 — so 25 consecutive cases cover every combination.
func (r *Renderer) Set(n int, seed uint64) ([]Case, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]Case, 0, n)
	for i := 0; i < n; i++ {
		f := Formats[i%len(Formats)]
		deg := Degradations[(i/len(Formats))%len(Degradations)]
		p, err := r.RandomPage(rng, f)
		if err != nil {
			return nil, err
		}
		c := Case{Name: fmt.Sprintf("%03d-%s-%s", i, f, deg), Format: f, Degradation: deg, Page: p,
			Image: p.Image, MRZBox: p.MRZBox, PortraitBox: p.PortraitBox}
		switch deg {
		case Rotated:
			c.Param = 3
			if rng.IntN(2) == 0 {
				c.Param = -3
			}
			w, h := p.Image.Bounds().Dx(), p.Image.Bounds().Dy()
			c.Image = Rotate(p.Image, c.Param)
			c.MRZBox = RotateRect(p.MRZBox, c.Param, w, h)
			c.PortraitBox = RotateRect(p.PortraitBox, c.Param, w, h)
		case Blurred:
			c.Param = 1
			c.Image = Blur(p.Image, 1)
		case JPEGed:
			c.Param = 60
			if c.Image, err = JPEG(p.Image, 60); err != nil {
				return nil, err
			}
		case Noisy:
			c.Param = 8
			c.Image = Noise(p.Image, 8, rng)
		}
		out = append(out, c)
	}
	return out, nil
}
