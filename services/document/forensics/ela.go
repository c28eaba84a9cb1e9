package forensics

import (
	"bytes"
	"image"
	"image/jpeg"
	"slices"
)

// ELABlockSize is the side, in pixels, of the square blocks over which the
// error level is averaged (two JPEG blocks, one 4:2:0 MCU).
const ELABlockSize = 16

// ELAFloor is the smallest median block error level (grey levels) used as
// the ratio's denominator, so that an image whose blocks almost all
// recompress exactly (flat background) does not turn rounding noise in one
// block into a large ratio.
const ELAFloor = 0.5

// ELAProbeStep is the step between probe qualities: the image is re-encoded
// at 30, 30+ELAProbeStep, … up to 2·ELAProbeStep under its own estimated
// quality (closer probes leave most blocks unchanged, inflating the ratio of
// genuine images). Re-encoding at the file's own quality is useless (image/jpeg is
// almost idempotent there, so every block's error is ~0); at a lower probe
// quality a region whose earlier compression was at or below the probe
// barely changes while a region pasted with another history changes a lot.
const ELAProbeStep = 10

// ELAMinProbe is the lowest probe quality.
const ELAMinProbe = 30

// probeELA runs errorLevel at every probe quality under quality and keeps
// the one with the largest ratio; nil when quality leaves no probe or the
// image has no full block.
func probeELA(img image.Image, quality int) (*ELA, error) {
	var best *ELA
	for q := ELAMinProbe; q <= quality-2*ELAProbeStep; q += ELAProbeStep {
		e, err := errorLevel(img, q)
		if err != nil || e == nil {
			return nil, err
		}
		if best == nil || e.Ratio > best.Ratio {
			best = e
		}
	}
	return best, nil
}

// ELA is the result of error-level analysis at one probe quality.
type ELA struct {
	// Quality is the image/jpeg quality the image was re-encoded at.
	Quality int
	// Blocks is the number of full ELABlockSize blocks measured.
	Blocks int
	// MaxBlock and MedianBlock are the largest and the median block mean
	// absolute luminance difference (grey levels, 0..255) between the image
	// and its re-encoding.
	MaxBlock, MedianBlock float64
	// Ratio is MaxBlock / max(MedianBlock, ELAFloor).
	Ratio float64
}

// errorLevel re-encodes img with image/jpeg at quality q, decodes it, and
// compares the luminance block by block. It returns nil when the image has
// no full block.
func errorLevel(img image.Image, q int) (*ELA, error) {
	b := img.Bounds()
	bw, bh := b.Dx()/ELABlockSize, b.Dy()/ELABlockSize
	if bw == 0 || bh == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		return nil, err
	}
	re, err := jpeg.Decode(&buf)
	if err != nil {
		return nil, err
	}
	y0, y1 := luma(img), luma(re)
	w := b.Dx()
	levels := make([]float64, 0, bw*bh)
	for by := range bh {
		for bx := range bw {
			sum := 0
			for y := by * ELABlockSize; y < (by+1)*ELABlockSize; y++ {
				row := y * w
				for x := bx * ELABlockSize; x < (bx+1)*ELABlockSize; x++ {
					sum += abs(int(y0[row+x]) - int(y1[row+x]))
				}
			}
			levels = append(levels, float64(sum)/(ELABlockSize*ELABlockSize))
		}
	}
	e := &ELA{Quality: q, Blocks: len(levels), MaxBlock: slices.Max(levels)}
	slices.Sort(levels)
	e.MedianBlock = levels[len(levels)/2]
	e.Ratio = e.MaxBlock / max(e.MedianBlock, ELAFloor)
	return e, nil
}

// luma returns the 8-bit luminance of img, row-major from its bounds' origin:
// the Y plane itself for a decoded JPEG, BT.601 luma otherwise.
func luma(img image.Image) []uint8 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]uint8, w*h)
	switch m := img.(type) {
	case *image.YCbCr:
		for y := range h {
			off := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(out[y*w:(y+1)*w], m.Y[off:off+w])
		}
	case *image.Gray:
		for y := range h {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(out[y*w:(y+1)*w], m.Pix[off:off+w])
		}
	default:
		for y := range h {
			for x := range w {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				out[y*w+x] = uint8((19595*r + 38470*g + 7471*bl + 1<<15) >> 24)
			}
		}
	}
	return out
}
