package forensics

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
)

// docImage draws a document-like test image: a light, slightly grainy
// background (paper and sensor noise), a smooth "portrait" gradient and
// dark text-like bars at positions off the 8-pixel grid.
func docImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			v := 228 + rng.IntN(13) - 6
			img.SetRGBA(x, y, color.RGBA{uint8(v), uint8(v - 4), uint8(v - 10), 255})
		}
	}
	for y := 21; y < h*2/3; y++ { // portrait
		for x := 13; x < w/3; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(90 + x/2), uint8(70 + y/3), uint8(60 + (x+y)/5), 255})
		}
	}
	for line := range 8 { // text lines of bars
		y0 := 19 + line*((h-30)/8)
		for x := w/3 + 11; x < w-20; {
			cw := 3 + rng.IntN(9)
			draw.Draw(img, image.Rect(x, y0, x+cw, y0+11), image.NewUniform(color.RGBA{30, 30, 40, 255}), image.Point{}, draw.Src)
			x += cw + 2 + rng.IntN(4)
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}))
	return buf.Bytes()
}

func decodeJPEG(t testing.TB, data []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	return img
}

func analyze(t testing.TB, data []byte, px, mm float64) *Report {
	t.Helper()
	r, err := Analyze(data, decodeJPEG(t, data), px, mm)
	require.NoError(t, err)
	return r
}

func signal(sigs []*ekycv1.Signal, name string) *ekycv1.Signal {
	for _, s := range sigs {
		if s.GetName() == name {
			return s
		}
	}
	return nil
}

func TestQualityEstimateTracksEncoderQuality(t *testing.T) {
	img := docImage(320, 208)
	for _, q := range []int{95, 40} {
		r := analyze(t, encodeJPEG(t, img, q), 0, 0)
		require.InDelta(t, q, r.JPEG.Quality, 5, "q=%d", q)
		require.True(t, r.JPEG.TablesStandard)
		require.Equal(t, float64(r.JPEG.Quality), signal(r.Signals(), SignalJPEGQuality).GetNumber())
		require.True(t, signal(r.Signals(), SignalTablesStandard).GetFlag())
		require.Equal(t, q < MinJPEGQuality, slices.Contains(r.ReasonCodes(), reasons.DocImageLowJpegQuality), "q=%d", q)
		require.NotContains(t, r.ReasonCodes(), reasons.DocImageCustomQuantTables)
	}
}

func TestCustomTablesAreFlagged(t *testing.T) {
	data := encodeJPEG(t, docImage(160, 96), 85)
	i := bytes.Index(data, []byte{0xFF, 0xDB})
	require.Positive(t, i)
	data[i+5+10]++ // one luminance quantiser off the IJG table (after FFDB, length, Pq/Tq)
	r := analyze(t, data, 0, 0)
	require.InDelta(t, 85, r.JPEG.Quality, 1)
	require.False(t, r.JPEG.TablesStandard)
	require.False(t, signal(r.Signals(), SignalTablesStandard).GetFlag())
	require.Contains(t, r.ReasonCodes(), reasons.DocImageCustomQuantTables)
}

// pasted returns img saved at baseQ and decoded, with rect replaced by
// content that went through patchQ on a grid shifted by (3, 5), then the
// whole saved at finalQ.
func pasted(t *testing.T, img image.Image, baseQ, patchQ, finalQ int, rect image.Rectangle) []byte {
	base := image.NewRGBA(img.Bounds())
	draw.Draw(base, base.Bounds(), decodeJPEG(t, encodeJPEG(t, img, baseQ)), image.Point{}, draw.Src)
	shifted := image.NewRGBA(img.Bounds())
	draw.Draw(shifted, shifted.Bounds(), img, image.Pt(3, 5), draw.Src)
	patch := decodeJPEG(t, encodeJPEG(t, shifted, patchQ))
	draw.Draw(base, rect, patch, rect.Min.Sub(image.Pt(3, 5)), draw.Src)
	return encodeJPEG(t, base, finalQ)
}

func TestELAFindsPastedRegion(t *testing.T) {
	img := docImage(480, 304)
	genuine := analyze(t, encodeJPEG(t, img, 90), 0, 0)
	edited := analyze(t, pasted(t, img, 40, 95, 90, image.Rect(163, 101, 163+96, 101+64)), 0, 0)
	t.Logf("ELA genuine %+v, edited %+v", *genuine.JPEG.ELA, *edited.JPEG.ELA)
	require.Less(t, genuine.JPEG.ELA.Ratio, MaxELARatio)
	require.NotContains(t, genuine.ReasonCodes(), reasons.DocImageEditedRegion)
	require.Greater(t, edited.JPEG.ELA.Ratio, MaxELARatio)
	require.Contains(t, edited.ReasonCodes(), reasons.DocImageEditedRegion)
	require.Equal(t, edited.JPEG.ELA.Ratio, signal(edited.Signals(), SignalELARatio).GetNumber())
}

func TestELADoubleVsSingleCompression(t *testing.T) {
	img := docImage(480, 304)
	single := analyze(t, encodeJPEG(t, img, 70), 0, 0)
	double := analyze(t, encodeJPEG(t, decodeJPEG(t, encodeJPEG(t, img, 90)), 70), 0, 0)
	t.Logf("ELA single q70 %+v, q90→q70 %+v", *single.JPEG.ELA, *double.JPEG.ELA)
	// Honest negative result: same-grid double compression is not what ELA
	// measures; neither image is flagged and the ratios are close.
	require.Less(t, single.JPEG.ELA.Ratio, MaxELARatio)
	require.Less(t, double.JPEG.ELA.Ratio, MaxELARatio)
	require.InDelta(t, single.JPEG.ELA.Ratio, double.JPEG.ELA.Ratio, 1.0)
}

// withExif inserts an APP1 Exif segment (little-endian TIFF, IFD0 with
// Make, Software and DateTime) right after the SOI of a JPEG.
func withExif(jpg []byte, software string) []byte {
	type entry struct {
		tag uint16
		val string
	}
	entries := []entry{{0x010F, "Canon"}, {0x0131, software}, {0x0132, "2024:05:01 10:00:00"}}
	le := binary.LittleEndian
	tiff := []byte("II*\x00\x08\x00\x00\x00")
	tiff = le.AppendUint16(tiff, uint16(len(entries)))
	dataOff := 8 + 2 + 12*len(entries) + 4
	var values []byte
	for _, e := range entries {
		v := append([]byte(e.val), 0)
		tiff = le.AppendUint16(tiff, e.tag)
		tiff = le.AppendUint16(tiff, 2) // ASCII
		tiff = le.AppendUint32(tiff, uint32(len(v)))
		if len(v) <= 4 {
			tiff = append(tiff, append(v, make([]byte, 4-len(v))...)...)
		} else {
			tiff = le.AppendUint32(tiff, uint32(dataOff+len(values)))
			values = append(values, v...)
		}
	}
	tiff = le.AppendUint32(tiff, 0) // no IFD1
	tiff = append(tiff, values...)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	return slices.Concat(jpg[:2], seg, jpg[2:])
}

func TestExifEditorSoftware(t *testing.T) {
	plain := encodeJPEG(t, docImage(160, 96), 90)

	r := analyze(t, plain, 0, 0)
	require.Nil(t, r.JPEG.Exif)
	require.False(t, signal(r.Signals(), SignalExifPresent).GetFlag())
	require.Nil(t, signal(r.Signals(), SignalEditorSoftware))

	r = analyze(t, withExif(plain, "Adobe Photoshop 25.0 (Windows)"), 0, 0)
	require.Equal(t, "Adobe Photoshop 25.0 (Windows)", r.JPEG.Exif.Software)
	require.Equal(t, "Canon", r.JPEG.Exif.Make)
	require.Equal(t, "2024:05:01 10:00:00", r.JPEG.Exif.DateTime)
	require.True(t, signal(r.Signals(), SignalExifPresent).GetFlag())
	require.True(t, signal(r.Signals(), SignalEditorSoftware).GetFlag())
	require.Contains(t, r.ReasonCodes(), reasons.DocImageEditorSoftware)

	r = analyze(t, withExif(plain, "G990BXXU5CWA1"), 0, 0) // phone firmware
	require.True(t, signal(r.Signals(), SignalExifPresent).GetFlag())
	require.False(t, signal(r.Signals(), SignalEditorSoftware).GetFlag())
	require.NotContains(t, r.ReasonCodes(), reasons.DocImageEditorSoftware)
}

func TestResolution(t *testing.T) {
	data := encodeJPEG(t, docImage(500, 352), 90)
	r := analyze(t, data, 0, WidthTD3MM) // whole image is the page: 500/125 = 4 px/mm
	require.InDelta(t, 4.0, r.PixelsPerMM, 1e-9)
	require.Equal(t, 4.0, signal(r.Signals(), SignalPixelsPerMM).GetNumber())
	require.Contains(t, r.ReasonCodes(), reasons.DocImageLowResolution)

	r = analyze(t, data, 1000, WidthTD3MM) // caller measured the page at 1000 px: 8 px/mm
	require.InDelta(t, 8.0, r.PixelsPerMM, 1e-9)
	require.NotContains(t, r.ReasonCodes(), reasons.DocImageLowResolution)

	r = analyze(t, data, 0, 0) // unknown physical width: no signal
	require.Nil(t, signal(r.Signals(), SignalPixelsPerMM))
}

func TestPNGHasNoJPEGSignals(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, docImage(428, 270)))
	r, err := Analyze(buf.Bytes(), nil, 0, WidthTD1MM)
	require.NoError(t, err)
	require.Equal(t, FormatPNG, r.Format)
	require.Nil(t, r.JPEG)
	var names []string
	for _, s := range r.Signals() {
		names = append(names, s.GetName())
	}
	require.Equal(t, []string{SignalPixelsPerMM}, names)
	require.InDelta(t, 5.0, r.PixelsPerMM, 1e-9)
	require.Equal(t, []string{reasons.DocImageLowResolution}, r.ReasonCodes())
}

func TestCorruptInputIsATypedError(t *testing.T) {
	good := encodeJPEG(t, docImage(64, 48), 80)

	_, err := Analyze([]byte("not an image"), nil, 0, 0)
	require.ErrorIs(t, err, ErrUnsupportedFormat)

	var fe *FormatError
	_, err = Analyze(good[:20], nil, 0, 0)
	require.ErrorAs(t, err, &fe)

	bad := slices.Clone(good)
	bad[bytes.Index(bad, []byte{0xFF, 0xDB})+3] = 0xF0 // DQT length far past the end
	_, err = Analyze(bad, nil, 0, 0)
	require.ErrorAs(t, err, &fe)

	exif := withExif(good, "GIMP 2.10")
	exif[4+2+len("Exif\x00\x00")+4] = 0xFF // IFD0 offset out of range
	_, err = Analyze(exif, nil, 0, 0)
	require.ErrorAs(t, err, &fe)

	_, err = Analyze(good[:len(good)-100], nil, 0, 0) // headers fine, scan truncated
	require.ErrorAs(t, err, &fe)
}

func FuzzAnalyze(f *testing.F) {
	good := encodeJPEG(f, docImage(48, 32), 75)
	f.Add(good)
	f.Add(withExif(good, "Adobe Photoshop 25.0"))
	f.Add(good[:30])
	var buf bytes.Buffer
	require.NoError(f, png.Encode(&buf, docImage(24, 16)))
	f.Add(buf.Bytes())
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Analyze(data, nil, 0, WidthTD1MM)
		if err != nil {
			var fe *FormatError
			if !errors.Is(err, ErrUnsupportedFormat) && !errors.As(err, &fe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		_ = r.Signals()
		_ = r.ReasonCodes()
	})
}
