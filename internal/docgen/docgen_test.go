package docgen

import (
	"image"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/document/mrz"
)

const fontPath = "../../testdata/fonts/OCRB.ttf"

func renderer(t testing.TB, portrait bool) *Renderer {
	t.Helper()
	f, err := LoadFont(fontPath)
	require.NoError(t, err)
	r := &Renderer{Font: f}
	if portrait {
		fh, err := os.Open("../../testdata/faces/obama.jpg")
		require.NoError(t, err)
		defer fh.Close()
		img, err := jpeg.Decode(fh)
		require.NoError(t, err)
		r.Portrait = img
	}
	return r
}

func TestCheckDigitSpecimen(t *testing.T) {
	// Doc 9303 Part 4 specimen: L898902C3, 740812, 120415.
	require.Equal(t, byte('6'), CheckDigit("L898902C3"))
	require.Equal(t, byte('2'), CheckDigit("740812"))
	require.Equal(t, byte('9'), CheckDigit("120415"))
}

func TestMRZValidAllFormats(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref := RefDate
	for _, f := range Formats {
		for i := 0; i < 300; i++ {
			h := RandomHolder(rng, f, ref)
			lines := h.MRZ(f)
			require.Len(t, lines, f.Lines())
			for _, l := range lines {
				require.Len(t, l, f.Width())
			}
			m, err := mrz.ParseAt(lines, ref)
			require.NoError(t, err, "%v", lines)
			require.Equal(t, string(f), string(m.Format), "%v", lines)
			require.True(t, m.Valid(), "%v: %+v", lines, m.Problems)
			require.Equal(t, h.Number, m.DocumentNumber)
			require.Equal(t, h.Surname, m.Surname)
			bd, ok := m.BirthDate.Time()
			require.True(t, ok)
			require.Equal(t, h.Birth.Format(time.DateOnly), bd.Format(time.DateOnly))
			ed, ok := m.ExpiryDate.Time()
			require.True(t, ok)
			require.Equal(t, h.Expiry.Format(time.DateOnly), ed.Format(time.DateOnly))
		}
	}
}

func TestRenderAllFormats(t *testing.T) {
	r := renderer(t, true)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			p, err := r.RandomPage(rng, f)
			require.NoError(t, err)
			w, h := PageSize(f, DefaultDPI)
			require.Equal(t, image.Rect(0, 0, w, h), p.Image.Bounds())
			require.Len(t, p.LineBoxes, f.Lines())
			// The MRZ lies inside the lower third, within the page.
			require.True(t, p.MRZBox.In(p.Image.Bounds()), "%v", p.MRZBox)
			require.GreaterOrEqual(t, p.MRZBox.Min.Y, 2*h/3, "%v", p.MRZBox)
			// ICAO pitch: about 10 characters per inch at 300 dpi.
			lw := p.LineBoxes[0].Dx()
			require.InDelta(t, float64(f.Width())*30, float64(lw), 12)
			require.False(t, p.PortraitBox.Empty())
			require.True(t, p.PortraitBox.In(p.Image.Bounds()))
			require.Less(t, p.PortraitBox.Max.Y, p.MRZBox.Min.Y)
			require.Less(t, p.PortraitBox.Max.X, w/2)
			// Ink inside the MRZ box: dark pixels present.
			require.Greater(t, darkPixels(p.Image, p.MRZBox), f.Width()*f.Lines()*20)
			m, err := mrz.ParseAt(p.Lines, RefDate)
			require.NoError(t, err)
			require.True(t, m.Valid())
		})
	}
	w, h := PageSize(TD3, 300)
	require.InDelta(t, 1476, w, 1)
	require.InDelta(t, 1039, h, 1)
}

func darkPixels(img *image.RGBA, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y).R < 100 {
				n++
			}
		}
	}
	return n
}

func differs(t *testing.T, a *image.RGBA, b image.Image) {
	t.Helper()
	require.Equal(t, a.Bounds(), b.Bounds())
	bb := toRGBA(b)
	diff := 0
	for i := range a.Pix {
		if a.Pix[i] != bb.Pix[i] {
			diff++
		}
	}
	require.Greater(t, diff, len(a.Pix)/100, "too few changed bytes")
}

func TestDegradations(t *testing.T) {
	r := renderer(t, false)
	p, err := r.RandomPage(rand.New(rand.NewPCG(5, 6)), TD1)
	require.NoError(t, err)
	img := p.Image

	rot := Rotate(img, 3)
	differs(t, img, rot)
	// Corners uncovered by the source are white.
	for _, pt := range []image.Point{{0, 0}, {img.Bounds().Dx() - 1, 0}, {0, img.Bounds().Dy() - 1}, {img.Bounds().Dx() - 1, img.Bounds().Dy() - 1}} {
		c := rot.RGBAAt(pt.X, pt.Y)
		require.Equal(t, [3]uint8{255, 255, 255}, [3]uint8{c.R, c.G, c.B}, "corner %v", pt)
	}
	require.Equal(t, img.Pix, Rotate(img, 0).Pix[:len(img.Pix)] /* identity */, "rotation by 0 keeps pixels")
	rb := RotateRect(p.MRZBox, 3, img.Bounds().Dx(), img.Bounds().Dy())
	require.Greater(t, rb.Dy(), p.MRZBox.Dy())
	require.Greater(t, darkPixels(rot, rb), darkPixels(img, p.MRZBox)*8/10)

	differs(t, img, Blur(img, 1))
	j, err := JPEG(img, 60)
	require.NoError(t, err)
	differs(t, img, j)
	n1 := Noise(img, 8, rand.New(rand.NewPCG(1, 1)))
	differs(t, img, n1)
	require.Equal(t, n1.Pix, Noise(img, 8, rand.New(rand.NewPCG(1, 1))).Pix, "deterministic given the rng")

	d := Downscale(img, 0.5)
	require.Equal(t, image.Rect(0, 0, (img.Bounds().Dx()+1)/2, (img.Bounds().Dy()+1)/2), d.Bounds())
	sb := ScaleRect(p.MRZBox, 0.5)
	require.True(t, sb.In(d.Bounds()))
}

func TestSet(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 25 pages")
	}
	r := renderer(t, true)
	cases, err := r.Set(25, 42)
	require.NoError(t, err)
	require.Len(t, cases, 25)
	seen := map[string]bool{}
	for _, c := range cases {
		seen[string(c.Format)+"/"+c.Degradation] = true
		require.Equal(t, c.Page.Image.Bounds(), c.Image.Bounds(), c.Name)
		require.True(t, c.MRZBox.In(c.Image.Bounds()), c.Name)
		m, err := mrz.ParseAt(c.Page.Lines, RefDate)
		require.NoError(t, err)
		require.True(t, m.Valid(), c.Name)
		if c.Degradation != Clean {
			differs(t, c.Page.Image, c.Image)
		}
		if c.Degradation == Rotated {
			require.Contains(t, []float64{-3, 3}, c.Param)
		}
	}
	require.Len(t, seen, 25)

	again, err := r.Set(6, 42)
	require.NoError(t, err)
	for i := range again {
		require.Equal(t, cases[i].Page.Lines, again[i].Page.Lines)
		require.Equal(t, toRGBA(cases[i].Image).Pix, toRGBA(again[i].Image).Pix)
	}
}

// TestWritePNGs writes one page per format (and one degraded set) for a
// visual check; set DOCGEN_OUT to keep them somewhere other than a temp dir.
func TestWritePNGs(t *testing.T) {
	dir := os.Getenv("DOCGEN_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	r := renderer(t, true)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, f := range Formats {
		p, err := r.RandomPage(rng, f)
		require.NoError(t, err)
		writePNG(t, filepath.Join(dir, string(f)+".png"), p.Image)
	}
	if os.Getenv("DOCGEN_OUT") != "" {
		cases, err := r.Set(25, 1)
		require.NoError(t, err)
		for _, c := range cases[15:25:25] {
			writePNG(t, filepath.Join(dir, c.Name+".png"), c.Image)
		}
		for _, c := range cases[5:10] {
			writePNG(t, filepath.Join(dir, c.Name+".png"), c.Image)
		}
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	fh, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, png.Encode(fh, img))
	require.NoError(t, fh.Close())
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Greater(t, st.Size(), int64(1000))
}

func BenchmarkRenderTD3(b *testing.B) {
	r := renderer(b, true)
	rng := rand.New(rand.NewPCG(9, 9))
	for b.Loop() {
		if _, err := r.RandomPage(rng, TD3); err != nil {
			b.Fatal(err)
		}
	}
}
