package face

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	xdraw "golang.org/x/image/draw"

	"github.com/openekyc/ekyc/inference/ort"
)

func TestPortraitCropsTheFaceOnAPage(t *testing.T) {
	r := modelRunner(t)
	ctx := context.Background()
	face, err := Decode(readFace(t, "obama.jpg"), Limits{})
	require.NoError(t, err)

	// A "page": a light background with the photo pasted at an offset, as
	// a portrait sits on a document.
	page := image.NewRGBA(image.Rect(0, 0, 2000, 1400))
	draw.Draw(page, page.Rect, image.NewUniform(color.RGBA{225, 230, 220, 255}), image.Point{}, draw.Src)
	at := image.Pt(1100, 150)
	draw.Draw(page, face.Rect.Add(at), face, face.Rect.Min, draw.Src)

	crop, box, err := Portrait(ctx, r, page)
	require.NoError(t, err)
	// The face is found where it was pasted, and the crop holds the box
	// plus margins, inside the page.
	require.Greater(t, box.X1, float64(at.X))
	require.Less(t, box.X2, float64(at.X+face.Rect.Dx()))
	require.Greater(t, box.Y1, float64(at.Y))
	require.Greater(t, float64(crop.Rect.Dx()), box.W()*1.5)
	require.Greater(t, float64(crop.Rect.Dy()), box.H()*1.5)
	require.Less(t, crop.Rect.Dx(), page.Rect.Dx()/2, "a crop, not the page")

	// The crop is itself a face photo: the detector finds one face in it.
	ds, err := Detect(ctx, r, crop)
	require.NoError(t, err)
	require.Len(t, ds, 1)

	// No face: ErrNoFace.
	blank := image.NewRGBA(image.Rect(0, 0, 800, 600))
	draw.Draw(blank, blank.Rect, image.NewUniform(color.RGBA{200, 200, 200, 255}), image.Point{}, draw.Src)
	_, _, err = Portrait(ctx, r, blank)
	require.ErrorIs(t, err, ErrNoFace)
}

// BenchmarkDetectSelfieFrame is one live-feedback probe of the web SDK
// (POST .../selfie/probe): face detection on a 480×360 camera frame,
// decode included, on the embedded ONNX Runtime (one intra-op thread).
func BenchmarkDetectSelfieFrame(b *testing.B) {
	dir := ort.DefaultDir()
	if _, err := os.Stat(filepath.Join(dir, ModelDetect)); err != nil {
		b.Skipf("face models not found in %s: run make models", dir)
	}
	be, err := ort.Open(dir)
	if err != nil {
		b.Skip(err)
	}
	defer be.Close()
	r := BackendRunner(be)
	src, err := Decode(readFace(b, "obama.jpg"), Limits{})
	require.NoError(b, err)
	frame := image.NewRGBA(image.Rect(0, 0, 480, 360))
	xdraw.ApproxBiLinear.Scale(frame, image.Rect(120, 0, 408, 360), src, src.Rect, xdraw.Src, nil)
	var buf bytes.Buffer
	require.NoError(b, jpeg.Encode(&buf, frame, &jpeg.Options{Quality: 70}))
	data := buf.Bytes()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		img, err := Decode(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		ds, err := Detect(ctx, r, img)
		if err != nil || len(ds) != 1 {
			b.Fatal(len(ds), err)
		}
	}
}
