package ocr_test

import (
	"context"
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
	font, err := docgen.LoadFont("../../../testdata/fonts/OCRB.otf")
	require.NoError(tb, err)
	return &docgen.Renderer{Font: font}
}

// TestReadMRZSynthetic reads synthetic pages of every format (internal/docgen),
// clean and degraded: the clean pages must read exactly.
func TestReadMRZSynthetic(t *testing.T) {
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
