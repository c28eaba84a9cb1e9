package docgen

import (
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// The OCR-B outlines of Debian's fonts-ocr-b use the CFF flex1 operator in
// a few glyphs ('8' and '<' in OCRB.otf), which golang.org/x/image/font/sfnt
// does not implement: those glyphs would silently not be drawn. text draws
// them from simple vector outlines in OCR-B's proportions instead.

// fallbackRunes are the runes drawn by drawFallback.
const fallbackRunes = "8<"

// brokenRunes returns the runes of fallbackRunes whose outline sfnt cannot
// load.
func brokenRunes(f *opentype.Font) map[rune]bool {
	var buf sfnt.Buffer
	out := map[rune]bool{}
	for _, r := range fallbackRunes {
		i, err := f.GlyphIndex(&buf, r)
		if err != nil || i == 0 {
			out[r] = true
			continue
		}
		if _, err := f.LoadGlyph(&buf, i, fixed.I(100), nil); err != nil {
			out[r] = true
		}
	}
	return out
}

// text draws monospaced strings with a face, falling back to vector glyphs.
type text struct {
	face   font.Face
	capH   float64 // cap height, pixels
	adv    float64 // advance of '0', pixels
	broken map[rune]bool
}

func newText(f *opentype.Font, fc font.Face, broken map[rune]bool) text {
	t := text{face: fc, broken: broken}
	if b, _, ok := fc.GlyphBounds('H'); ok {
		t.capH = float64(-b.Min.Y) / 64
	}
	if a, ok := fc.GlyphAdvance('0'); ok {
		t.adv = float64(a) / 64
	}
	return t
}

// draw draws s with its first cell at x and baseline y; pitch > 0 forces the
// cell width.
func (t text) draw(dst *image.RGBA, c color.Color, x, y float64, s string, pitch float64) {
	if pitch <= 0 {
		pitch = t.adv
	}
	src := image.NewUniform(c)
	i := 0
	for _, r := range s {
		cx := x + float64(i)*pitch
		i++
		if r == ' ' {
			continue
		}
		if t.broken[r] {
			drawFallback(dst, src, r, cx, y, pitch, t.capH)
			continue
		}
		d := font.Drawer{Dst: dst, Src: src, Face: t.face,
			Dot: fixed.Point26_6{X: fixed.Int26_6(cx * 64), Y: fixed.Int26_6(y * 64)}}
		d.DrawString(string(r))
	}
}

// drawFallback draws r in the cell whose left edge is x and baseline y.
func drawFallback(dst *image.RGBA, src image.Image, r rune, x, y, w, capH float64) {
	top := y - capH*1.1
	cell := image.Rect(int(math.Floor(x)), int(math.Floor(top)), int(math.Ceil(x+w)), int(math.Ceil(y+capH*0.1)))
	ox, oy := float64(cell.Min.X), float64(cell.Min.Y)
	z := vector.NewRasterizer(cell.Dx(), cell.Dy())
	stroke := capH * 0.14
	// P maps glyph coordinates (u across the cell 0..1, v up from the
	// baseline in cap heights) to rasterizer coordinates.
	P := func(u, v float64) (float32, float32) {
		return float32(x + u*w - ox), float32(y - v*capH - oy)
	}
	switch r {
	case '<':
		// A chevron: apex on the left at mid height, arms to the right.
		seg := func(u0, v0, u1, v1 float64) {
			ax, ay := P(u0, v0)
			bx, by := P(u1, v1)
			dx, dy := float64(bx-ax), float64(by-ay)
			l := math.Hypot(dx, dy)
			nx, ny := float32(-dy/l*stroke/2), float32(dx/l*stroke/2)
			z.MoveTo(ax+nx, ay+ny)
			z.LineTo(bx+nx, by+ny)
			z.LineTo(bx-nx, by-ny)
			z.LineTo(ax-nx, ay-ny)
			z.ClosePath()
		}
		seg(0.22, 0.5, 0.78, 0.9)
		seg(0.22, 0.5, 0.78, 0.1)
	case '8':
		ellipse := func(cu, cv, ru, rv float64, reverse bool) {
			const n = 48
			for k := 0; k <= n; k++ {
				a := 2 * math.Pi * float64(k) / n
				if reverse {
					a = -a
				}
				px, py := P(cu+ru*math.Cos(a), cv+rv*math.Sin(a))
				if k == 0 {
					z.MoveTo(px, py)
				} else {
					z.LineTo(px, py)
				}
			}
			z.ClosePath()
		}
		su, sv := stroke/w, stroke/capH
		// Upper loop, smaller; lower loop, wider.
		ellipse(0.5, 0.75, 0.27, 0.25, false)
		ellipse(0.5, 0.75, 0.27-su, 0.25-sv, true)
		ellipse(0.5, 0.27, 0.32, 0.27, false)
		ellipse(0.5, 0.27, 0.32-su, 0.27-sv, true)
	}
	z.Draw(dst, cell, src, image.Point{})
}
