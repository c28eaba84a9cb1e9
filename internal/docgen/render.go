package docgen

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
)

// LoadFont reads an OpenType font (e.g. testdata/fonts/OCRB.ttf).
func LoadFont(path string) (*opentype.Font, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("docgen: %w", err)
	}
	f, err := opentype.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("docgen: parse %s: %w", path, err)
	}
	return f, nil
}

// ICAO 9303 Part 3 geometry of the MRZ (OCR-B size 1).
const (
	// CharPitchMM is the horizontal character pitch (10 characters per inch).
	CharPitchMM = 2.54
	// LinePitchMM is the distance between MRZ baselines.
	LinePitchMM = 4.23
	// DefaultDPI is the rendering resolution when Renderer.DPI is 0.
	DefaultDPI = 300
)

// mrzMargins returns the left margin of the first MRZ character and the
// distance from the bottom edge to the baseline of the last MRZ line, in mm.
func mrzMargins(f Format) (left, bottom float64) {
	switch f {
	case TD1:
		return 4.0, 3.5
	default:
		return 6.0, 4.0
	}
}

// Renderer draws document pages.
type Renderer struct {
	// Font is the OCR-B font (LoadFont); used for the MRZ and the printed
	// fields.
	Font *opentype.Font
	// DPI is the resolution (DefaultDPI when 0).
	DPI float64
	// Portrait, when set, is scaled (cropped to the zone's aspect ratio) into
	// the photo zone on the left.
	Portrait image.Image
	// Ref is the reference date for random holders (dates of birth and
	// expiry are drawn around it); 2026-01-01 when zero.
	Ref time.Time
}

// RefDate is the reference date used when Renderer.Ref is zero.
var RefDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (r *Renderer) dpi() float64 {
	if r.DPI <= 0 {
		return DefaultDPI
	}
	return r.DPI
}

func (r *Renderer) ref() time.Time {
	if r.Ref.IsZero() {
		return RefDate
	}
	return r.Ref
}

// Page is a rendered document and its ground truth.
type Page struct {
	Image  *image.RGBA
	Format Format
	Holder Holder
	// Lines are the MRZ lines printed.
	Lines []string
	// MRZBox encloses the printed MRZ characters (pixels, with a small
	// margin); LineBoxes encloses each line.
	MRZBox    image.Rectangle
	LineBoxes []image.Rectangle
	// PortraitBox is where the portrait was placed (empty without one).
	PortraitBox image.Rectangle
	DPI         float64
}

// PageSize returns the pixel size of format f at dpi.
func PageSize(f Format, dpi float64) (w, h int) {
	wm, hm := f.SizeMM()
	return int(math.Round(wm * dpi / 25.4)), int(math.Round(hm * dpi / 25.4))
}

// RandomPage draws a random holder for f and renders it.
func (r *Renderer) RandomPage(rng *rand.Rand, f Format) (*Page, error) {
	return r.Render(f, RandomHolder(rng, f, r.ref()))
}

type palette struct {
	bg, pattern, header color.RGBA
	title               string
}

func paletteFor(f Format) palette {
	switch f {
	case TD1:
		return palette{color.RGBA{236, 243, 250, 255}, color.RGBA{200, 218, 236, 255}, color.RGBA{40, 70, 120, 255}, "IDENTITY CARD"}
	case TD2:
		return palette{color.RGBA{246, 241, 230, 255}, color.RGBA{226, 210, 186, 255}, color.RGBA{110, 70, 40, 255}, "TRAVEL DOCUMENT"}
	case MRVA, MRVB:
		return palette{color.RGBA{238, 247, 236, 255}, color.RGBA{204, 228, 200, 255}, color.RGBA{40, 100, 50, 255}, "VISA"}
	default:
		return palette{color.RGBA{248, 240, 242, 255}, color.RGBA{232, 208, 216, 255}, color.RGBA{120, 30, 60, 255}, "PASSPORT"}
	}
}

// Render draws holder h's document in format f.
func (r *Renderer) Render(f Format, h Holder) (*Page, error) {
	if r.Font == nil {
		return nil, fmt.Errorf("docgen: Renderer.Font is nil")
	}
	dpi := r.dpi()
	px := func(mm float64) float64 { return mm * dpi / 25.4 }
	W, H := PageSize(f, dpi)
	wmm, hmm := f.SizeMM()
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	pal := paletteFor(f)

	// MRZ geometry first: the zone above it holds the rest.
	lines := h.MRZ(f)
	pitch := px(CharPitchMM)
	mrzFace, capH, err := mrzFace(r.Font, pitch, dpi)
	if err != nil {
		return nil, err
	}
	mrzText := newText(r.Font, mrzFace, brokenRunes(r.Font))
	leftMM, bottomMM := mrzMargins(f)
	x0 := px(leftMM)
	lastBase := float64(H) - px(bottomMM)
	firstBase := lastBase - float64(len(lines)-1)*px(LinePitchMM)
	mrzTop := firstBase - capH - px(1.5) // clear band above the MRZ

	// Background: light colour, faint guilloche, plainer behind the MRZ.
	drawBackground(img, pal, mrzTop, dpi)

	// Header band.
	headerH := px(0.14 * hmm)
	draw.Draw(img, image.Rect(0, int(headerH*0.82), W, int(headerH*0.82)+max(1, int(px(0.3)))), image.NewUniform(pal.header), image.Point{}, draw.Src)
	broken := brokenRunes(r.Font)
	var texts [3]text
	for i, size := range []float64{math.Min(4.2, hmm*0.055), 2.0, 2.9} {
		fc, err := face(r.Font, px(size), dpi)
		if err != nil {
			return nil, err
		}
		texts[i] = newText(r.Font, fc, broken)
	}
	titleText, smallText, valueText := texts[0], texts[1], texts[2]
	titleText.draw(img, pal.header, px(4), headerH*0.62, "UTOPIA  "+pal.title, 0)
	typeCode := "TYPE " + strings.TrimRight(pad(h.DocCode, 2), "<") + "  CODE " + h.Issuer
	smallText.draw(img, pal.header, float64(W)-px(4)-float64(len(typeCode))*smallText.adv, headerH*0.62, typeCode, 0)

	// Photo zone on the left.
	photoTop := headerH + px(1.5)
	photoBottom := mrzTop - px(2)
	photoH := photoBottom - photoTop
	photoW := math.Min(photoH*0.78, px(0.32*wmm))
	photo := image.Rect(int(px(4)), int(photoTop), int(px(4)+photoW), int(photoBottom))
	page := &Page{Image: img, Format: f, Holder: h, Lines: lines, DPI: dpi}
	if r.Portrait != nil {
		drawPortrait(img, photo, r.Portrait)
		page.PortraitBox = photo
	} else {
		draw.Draw(img, photo, image.NewUniform(color.RGBA{214, 214, 214, 255}), image.Point{}, draw.Src)
	}

	// Printed fields to the right of the photo.
	type field struct{ label, value string }
	sexText := map[string]string{"M": "M", "F": "F", "<": "X"}[pad(h.Sex, 1)]
	fields := []field{
		{"SURNAME / NOM", h.Surname},
		{"GIVEN NAMES / PRENOMS", h.Given},
		{"NATIONALITY", h.Nationality},
		{"DATE OF BIRTH", strings.ToUpper(h.Birth.Format("02 Jan 2006"))},
		{"SEX", sexText},
		{"DOCUMENT NO", h.Number},
		{"DATE OF EXPIRY", strings.ToUpper(h.Expiry.Format("02 Jan 2006"))},
		{"AUTHORITY", "MINISTRY OF THE INTERIOR"},
	}
	tx := float64(photo.Max.X) + px(4)
	y := photoTop + px(2.2)
	rowH := px(6.8)
	ink := color.RGBA{30, 30, 40, 255}
	for _, fl := range fields {
		if y+rowH > photoBottom+px(1) {
			break
		}
		smallText.draw(img, pal.header, tx, y, fl.label, 0)
		valueText.draw(img, ink, tx, y+px(3.8), fl.value, 0)
		y += rowH
	}

	// The MRZ, one glyph per pitch cell.
	boxPad := px(0.4)
	for i, l := range lines {
		base := firstBase + float64(i)*px(LinePitchMM)
		mrzText.draw(img, color.Black, x0, base, l, pitch)
		lb := image.Rect(int(math.Floor(x0-boxPad)), int(math.Floor(base-capH-boxPad)),
			int(math.Ceil(x0+float64(len(l))*pitch+boxPad)), int(math.Ceil(base+boxPad)))
		page.LineBoxes = append(page.LineBoxes, lb)
		page.MRZBox = page.MRZBox.Union(lb)
	}
	return page, nil
}

func face(f *opentype.Font, ppem, dpi float64) (font.Face, error) {
	fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: ppem * 72 / dpi, DPI: dpi, Hinting: font.HintingNone})
	if err != nil {
		return nil, fmt.Errorf("docgen: face: %w", err)
	}
	return fc, nil
}

// mrzFace returns the face whose advance of '0' is pitch pixels, and the
// height of a capital letter in pixels.
func mrzFace(f *opentype.Font, pitch, dpi float64) (font.Face, float64, error) {
	probe, err := face(f, 100, dpi)
	if err != nil {
		return nil, 0, err
	}
	adv, ok := probe.GlyphAdvance('0')
	if !ok || adv <= 0 {
		return nil, 0, fmt.Errorf("docgen: font has no '0'")
	}
	ppem := 100 * pitch / (float64(adv) / 64)
	fc, err := face(f, ppem, dpi)
	if err != nil {
		return nil, 0, err
	}
	b, _, ok := fc.GlyphBounds('H')
	if !ok {
		return nil, 0, fmt.Errorf("docgen: font has no 'H'")
	}
	return fc, float64(-b.Min.Y) / 64, nil
}

func drawBackground(img *image.RGBA, pal palette, mrzTop, dpi float64) {
	b := img.Bounds()
	lambda := dpi / 25.4 * 3.0 // ~3 mm period
	for y := b.Min.Y; y < b.Max.Y; y++ {
		fy := float64(y)
		strength := 1.0
		if fy >= mrzTop {
			strength = 0.35 // the effective reading zone stays plain
		}
		off := y*img.Stride - b.Min.X*4
		for x := b.Min.X; x < b.Max.X; x++ {
			fx := float64(x)
			v1 := math.Sin(2 * math.Pi * (fx/lambda + 0.6*math.Sin(2*math.Pi*fy/(lambda*7))))
			v2 := math.Sin(2 * math.Pi * (fy/lambda + 0.6*math.Sin(2*math.Pi*fx/(lambda*9))))
			t := 0.0
			if v1 > 0.93 {
				t += (v1 - 0.93) / 0.07
			}
			if v2 > 0.93 {
				t += 0.7 * (v2 - 0.93) / 0.07
			}
			t = math.Min(1, t) * strength
			i := off + x*4
			img.Pix[i+0] = lerp8(pal.bg.R, pal.pattern.R, t)
			img.Pix[i+1] = lerp8(pal.bg.G, pal.pattern.G, t)
			img.Pix[i+2] = lerp8(pal.bg.B, pal.pattern.B, t)
			img.Pix[i+3] = 255
		}
	}
}

func lerp8(a, b uint8, t float64) uint8 {
	return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t))
}

// drawPortrait scales src, cropped to the aspect ratio of box, into box.
func drawPortrait(dst *image.RGBA, box image.Rectangle, src image.Image) {
	sb := src.Bounds()
	want := float64(box.Dx()) / float64(box.Dy())
	sw, sh := float64(sb.Dx()), float64(sb.Dy())
	crop := sb
	if sw/sh > want {
		w := int(sh * want)
		x := sb.Min.X + (sb.Dx()-w)/2
		crop = image.Rect(x, sb.Min.Y, x+w, sb.Max.Y)
	} else {
		h := int(sw / want)
		y := sb.Min.Y + (sb.Dy()-h)/4 // keep the head: crop mostly from the bottom
		crop = image.Rect(sb.Min.X, y, sb.Max.X, y+h)
	}
	draw.CatmullRom.Scale(dst, box, src, crop, draw.Src, nil)
}
