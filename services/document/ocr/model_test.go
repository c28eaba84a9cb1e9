package ocr_test

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/inference/ort"
	"github.com/openekyc/ekyc/internal/docgen"
	"github.com/openekyc/ekyc/services/document/ocr"
)

// runner opens the fetched models, or skips.
func runner(tb testing.TB) ocr.Runner {
	tb.Helper()
	dir := ort.DefaultDir()
	for _, f := range []string{ort.LibraryPath, "ocr_det/1/model.onnx", "ocr_rec/1/model.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			tb.Skipf("OCR models not fetched into %s: run `make models`", dir)
		}
	}
	threads := 0 // one per core
	if v, err := strconv.Atoi(os.Getenv("OCR_THREADS")); err == nil {
		threads = v
	}
	b, err := ort.Open(dir, ort.WithIntraOpThreads(threads))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = b.Close() })
	return ocr.BackendRunner(b)
}

// TestKeysTable checks the built-in class table against the fetched keys.txt.
func TestKeysTable(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(ort.DefaultDir(), "ocr_rec", "1", "keys.txt"))
	if err != nil {
		t.Skipf("keys.txt not fetched: run `make models` (%v)", err)
	}
	keys := strings.Split(string(raw), "\n")
	require.Len(t, keys, ocr.NumClasses-2, "blank + keys + space")
	for cls, ch := range ocr.MRZClasses() {
		require.Equal(t, string(ch), ocr.Normalise(keys[cls-1]), "class %d (%q)", cls, keys[cls-1])
	}
}

func renderer(tb testing.TB) *docgen.Renderer {
	font, err := docgen.LoadFont("../../../testdata/fonts/OCRB.ttf")
	require.NoError(tb, err)
	return &docgen.Renderer{Font: font}
}

// TestReadMRZSynthetic reads synthetic pages of every format (internal/docgen),
// clean and degraded: the clean pages must read exactly.
func TestReadMRZSynthetic(t *testing.T) {
	if testing.Short() {
		t.Skip("25 OCR pages: skipped with -short")
	}
	r := runner(t)
	// OCR_SURVEY=N reads N pages (seed OCR_SEED) and only reports.
	n, seed := 25, uint64(7)
	if v, err := strconv.Atoi(os.Getenv("OCR_SURVEY")); err == nil && v > 0 {
		n = v
	}
	if v, err := strconv.ParseUint(os.Getenv("OCR_SEED"), 10, 64); err == nil {
		seed = v
	}
	cases, err := renderer(t).Set(n, seed)
	require.NoError(t, err)
	ctx := context.Background()
	exact, total := 0, 0
	var elapsed time.Duration
	for _, c := range cases {
		start := time.Now()
		res, err := ocr.ReadMRZ(ctx, r, c.Image, ocr.WithReference(docgen.RefDate))
		elapsed += time.Since(start)
		total++
		if err != nil {
			t.Logf("%s: %v", c.Name, err)
			require.NotEqual(t, docgen.Clean, c.Degradation, "%s", c.Name)
			continue
		}
		ok := strings.Join(res.Lines, "\n") == strings.Join(c.Page.Lines, "\n")
		if ok {
			exact++
		} else {
			t.Logf("%s: read\n%s\ncorrected\n%s\nwant\n%s\nconf %.3f", c.Name, strings.Join(res.Raw, "\n"), strings.Join(res.Lines, "\n"), strings.Join(c.Page.Lines, "\n"), res.Confidence)
		}
		if c.Degradation == docgen.Clean && os.Getenv("OCR_SURVEY") == "" {
			require.Equal(t, c.Page.Lines, res.Lines, "%s", c.Name)
			require.NotNil(t, res.MRZ)
			require.True(t, res.MRZ.Valid(), "%s: %+v", c.Name, res.MRZ.Problems)
			require.True(t, res.Box.Overlaps(c.MRZBox), "%s: box %v, want about %v", c.Name, res.Box, c.MRZBox)
			// ICAO pitch 2.54 mm at the renderer's 300 dpi: 30 px.
			require.InDelta(t, 2.54*docgen.DefaultDPI/25.4, res.PitchPx, 1.5, "%s", c.Name)
		}
	}
	t.Logf("exact reads: %d/%d, %.0f ms per page", exact, total, float64(elapsed.Milliseconds())/float64(total))
}

func TestReadMRZBlankPage(t *testing.T) {
	r := runner(t)
	img := image.NewRGBA(image.Rect(0, 0, 640, 400))
	draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
	_, err := ocr.ReadMRZ(context.Background(), r, img)
	require.ErrorIs(t, err, ocr.ErrNoMRZ)
}

// accuracySeed draws the accuracy set; it is not one of the seeds the
// reader was tuned on (3, 7, 11).
const accuracySeed = 2026

// TestReadMRZAccuracy reads 200 generated pages — 40 per format (TD1, TD2,
// TD3, MRV-A, MRV-B), each format clean, rotated ±3°, blurred (σ=1),
// JPEG-compressed (quality 60) and noisy (σ=8) — and requires at least 97%
// read exactly: every line, every field and check digit, after correction.
func TestReadMRZAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("200 OCR pages: skipped with -short")
	}
	r := runner(t)
	cases, err := renderer(t).Set(200, accuracySeed)
	require.NoError(t, err)
	exact, per, total := 0, map[string][2]int{}, map[string]int{}
	start := time.Now()
	for _, c := range cases {
		res, err := ocr.ReadMRZ(context.Background(), r, c.Image, ocr.WithReference(docgen.RefDate))
		k := fmt.Sprint(c.Format) + "/" + c.Degradation
		total[c.Degradation]++
		p := per[c.Degradation]
		if err == nil && strings.Join(res.Lines, "\n") == strings.Join(c.Page.Lines, "\n") && res.MRZ != nil && res.MRZ.Valid() {
			exact++
			p[0]++
		} else if err != nil {
			t.Logf("%s (%s): %v", c.Name, k, err)
		} else {
			t.Logf("%s (%s): read\n%s\nwant\n%s", c.Name, k, strings.Join(res.Lines, "\n"), strings.Join(c.Page.Lines, "\n"))
		}
		per[c.Degradation] = p
	}
	for _, d := range docgen.Degradations {
		t.Logf("%-8s %d/%d", d, per[d][0], total[d])
	}
	share := float64(exact) / float64(len(cases))
	t.Logf("exact: %d/%d (%.1f%%), %.2f pages/s", exact, len(cases), 100*share, float64(len(cases))/time.Since(start).Seconds())
	require.GreaterOrEqual(t, share, 0.97)
}

// BenchmarkReadMRZ reads generated pages (every format × degradation in
// turn) and reports pages/s and the share read exactly.
func BenchmarkReadMRZ(b *testing.B) {
	r := runner(b)
	cases, err := renderer(b).Set(25, accuracySeed)
	require.NoError(b, err)
	ctx := context.Background()
	exact := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := cases[i%len(cases)]
		res, err := ocr.ReadMRZ(ctx, r, c.Image, ocr.WithReference(docgen.RefDate))
		if err == nil && strings.Join(res.Lines, "\n") == strings.Join(c.Page.Lines, "\n") {
			exact++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(exact)/float64(b.N), "exact")
}
