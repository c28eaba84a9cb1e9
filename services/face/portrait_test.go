package face

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/stretchr/testify/require"
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
