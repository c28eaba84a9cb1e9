package face

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/inference"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
)

func TestLetterbox(t *testing.T) {
	// A portrait 1000×2000 image: height-bound, scale 0.12, 120×240 centred.
	lb := NewLetterbox(1000, 2000, DetectWidth, DetectHeight)
	require.InDelta(t, 0.12, lb.Scale, 1e-12)
	require.Equal(t, 120, lb.W)
	require.Equal(t, 240, lb.H)
	require.Equal(t, 100.0, lb.OffX)
	require.Equal(t, 0.0, lb.OffY)

	// A landscape 1600×600 image: width-bound, scale 0.2, 320×120 centred.
	lb = NewLetterbox(1600, 600, DetectWidth, DetectHeight)
	require.InDelta(t, 0.2, lb.Scale, 1e-12)
	require.Equal(t, 320, lb.W)
	require.Equal(t, 120, lb.H)
	require.Equal(t, 0.0, lb.OffX)
	require.Equal(t, 60.0, lb.OffY)

	// Round trip, and the image corners land on the scaled image's corners.
	x, y := lb.ToImage(lb.FromImage(123.5, 456.25))
	require.InDelta(t, 123.5, x, 1e-9)
	require.InDelta(t, 456.25, y, 1e-9)
	x, y = lb.FromImage(1600, 600)
	require.InDelta(t, 320, x, 1e-9)
	require.InDelta(t, 180, y, 1e-9)
}

func TestDecodeDetectionsMapsBackAndSuppresses(t *testing.T) {
	lb := NewLetterbox(1600, 600, DetectWidth, DetectHeight) // scale 0.2, offY 60
	// Face at image (400,100)-(600,350) → input (80,80)-(120,130).
	norm := func(x1, y1, x2, y2 float64) []float32 {
		return []float32{float32(x1 / DetectWidth), float32(y1 / DetectHeight), float32(x2 / DetectWidth), float32(y2 / DetectHeight)}
	}
	var scores, boxes []float32
	add := func(p float32, b []float32) {
		scores = append(scores, 1-p, p)
		boxes = append(boxes, b...)
	}
	add(0.99, norm(80, 80, 120, 130))
	add(0.95, norm(81, 79, 121, 131))   // duplicate of the first: suppressed
	add(0.90, norm(200, 70, 240, 120))  // a second face
	add(0.30, norm(10, 100, 50, 150))   // under the threshold
	add(0.97, norm(310, 170, 330, 200)) // runs off the image: clipped
	dets, err := DecodeDetections(scores, boxes, lb, 1600, 600, DefaultScoreThreshold, DefaultNMSIoU)
	require.NoError(t, err)
	require.Len(t, dets, 3)
	require.Equal(t, 0.99, math.Round(dets[0].Score*100)/100)
	require.InDelta(t, 400, dets[0].Box.X1, 1e-3)
	require.InDelta(t, 100, dets[0].Box.Y1, 1e-3)
	require.InDelta(t, 600, dets[0].Box.X2, 1e-3)
	require.InDelta(t, 350, dets[0].Box.Y2, 1e-3)
	require.InDelta(t, 1600, dets[1].Box.X2, 1e-3) // clipped at the right edge
	require.InDelta(t, 600, dets[1].Box.Y2, 1e-3)  // and the bottom
	require.InDelta(t, 1000, dets[2].Box.X1, 1e-3)

	_, err = DecodeDetections(scores[:3], boxes, lb, 1600, 600, 0.5, 0.4)
	require.ErrorIs(t, err, inference.ErrBadInput)
}

func TestNMS(t *testing.T) {
	a := Box{0, 0, 10, 10}
	require.InDelta(t, 1.0, IoU(a, a), 1e-12)
	require.InDelta(t, 25.0/175.0, IoU(a, Box{5, 5, 15, 15}), 1e-12)
	require.Zero(t, IoU(a, Box{10, 0, 20, 10}))

	dets := []Detection{
		{Box{0, 0, 10, 10}, 0.8},
		{Box{1, 1, 11, 11}, 0.9},    // IoU 0.68 with the first: keeps this, the more confident
		{Box{5, 5, 15, 15}, 0.7},    // IoU 0.14 with the second: kept at 0.4, dropped at 0.1
		{Box{50, 50, 60, 60}, 0.75}, // far away: kept
	}
	got := NMS(dets, 0.4)
	require.Equal(t, []Detection{dets[1], dets[3], dets[2]}, got)
	require.Equal(t, []Detection{dets[1], dets[3]}, NMS(dets, 0.1))
	require.Empty(t, NMS(nil, 0.4))
}

func TestEstimateSimilarityRecoversTransform(t *testing.T) {
	want := Similarity{A: 1.7 * math.Cos(0.4), B: 1.7 * math.Sin(0.4), TX: -31.5, TY: 12.25}
	src := ArcFaceTemplate[:]
	dst := make([]Point, len(src))
	for i, p := range src {
		dst[i] = want.Apply(p)
	}
	got, err := EstimateSimilarity(src, dst)
	require.NoError(t, err)
	require.InDelta(t, want.A, got.A, 1e-9)
	require.InDelta(t, want.B, got.B, 1e-9)
	require.InDelta(t, want.TX, got.TX, 1e-9)
	require.InDelta(t, want.TY, got.TY, 1e-9)
	require.InDelta(t, 1.7, got.Scale(), 1e-9)
	require.InDelta(t, 0.4, got.Angle(), 1e-9)

	// With noise the least-squares fit stays close.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range dst {
		dst[i].X += rng.NormFloat64() * 0.1
		dst[i].Y += rng.NormFloat64() * 0.1
	}
	got, err = EstimateSimilarity(src, dst)
	require.NoError(t, err)
	require.InDelta(t, 1.7, got.Scale(), 0.01)
	require.InDelta(t, 0.4, got.Angle(), 0.01)

	_, err = EstimateSimilarity([]Point{{1, 1}, {1, 1}}, []Point{{0, 0}, {2, 2}})
	require.Error(t, err)
	_, err = EstimateSimilarity(src[:1], dst[:1])
	require.Error(t, err)
}

func TestAlignWarpsPointsOntoTemplate(t *testing.T) {
	// A synthetic image with bright dots where a face's five points would be
	// (rotated, scaled, shifted): after alignment the dots sit on the
	// template.
	m := Similarity{A: 3 * math.Cos(-0.3), B: 3 * math.Sin(-0.3), TX: 120, TY: 200}
	img := image.NewRGBA(image.Rect(0, 0, 640, 640))
	fill(img, color.RGBA{0, 0, 0, 255})
	var five [5]Point
	for i, p := range ArcFaceTemplate {
		five[i] = m.Apply(p)
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				img.Set(int(five[i].X)+dx, int(five[i].Y)+dy, color.RGBA{255, 255, 255, 255})
			}
		}
	}
	aligned, err := Align(img, five)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, AlignedSize, AlignedSize), aligned.Rect)
	for _, p := range ArcFaceTemplate {
		r, _, _, _ := aligned.At(int(p.X), int(p.Y)).RGBA()
		require.Greater(t, r>>8, uint32(200), "template point %v", p)
	}
	r, _, _, _ := aligned.At(56, 20).RGBA()
	require.Less(t, r>>8, uint32(20))
}

func TestLaplacianVarianceOrdersSharpOverBlurred(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 112, 112))
	rng := rand.New(rand.NewPCG(3, 4))
	for y := 0; y < 112; y++ {
		for x := 0; x < 112; x++ {
			v := uint8(60)
			if (x/8+y/8)%2 == 0 {
				v = 190
			}
			v += uint8(rng.IntN(20))
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	all := image.Rect(0, 0, 112, 112)
	sharp := LaplacianVariance(grey(img), 112, 112, all)
	mild := LaplacianVariance(grey(gaussianBlur(img, 1)), 112, 112, all)
	strong := LaplacianVariance(grey(gaussianBlur(img, 3)), 112, 112, all)
	require.Greater(t, sharp, mild)
	require.Greater(t, mild, strong)
	require.Greater(t, sharp, 10*strong)

	// A flat image has no Laplacian at all; the contrast-normalised measure
	// calls it 0, not noise.
	flat := image.NewRGBA(all)
	fill(flat, color.RGBA{128, 128, 128, 255})
	require.Zero(t, LaplacianVariance(grey(flat), 112, 112, all))
	require.Zero(t, sharpness(flat))
	// Halving the contrast does not change the normalised sharpness much.
	require.InEpsilon(t, sharpness(img), sharpness(scaleBrightness(img, 0.5)), 0.1)
}

func TestPoseAndFivePoints(t *testing.T) {
	// A frontal, level 68-point face: contour ends at x=0 and x=100, nose
	// tip in the middle, eyes level.
	lm := make([]Point, 68)
	for i := range lm {
		lm[i] = Point{50, 50}
	}
	lm[0], lm[16] = Point{0, 40}, Point{100, 40}
	for _, i := range []int{37, 38, 40, 41} {
		lm[i] = Point{30, 40}
	}
	for _, i := range []int{43, 44, 46, 47} {
		lm[i] = Point{70, 40}
	}
	lm[30] = Point{50, 60}
	lm[48], lm[60], lm[54], lm[64] = Point{34, 80}, Point{36, 80}, Point{66, 80}, Point{64, 80}
	five, ok := FivePoints(lm)
	require.True(t, ok)
	require.Equal(t, [5]Point{{30, 40}, {70, 40}, {50, 60}, {35, 80}, {65, 80}}, five)
	yaw, roll := Pose(lm)
	require.InDelta(t, 0, yaw, 1e-9)
	require.InDelta(t, 0, roll, 1e-9)

	// Nose tip three quarters across: yaw asin(0.5) = 30°.
	lm[30] = Point{75, 60}
	yaw, _ = Pose(lm)
	require.InDelta(t, 30, yaw, 1e-9)

	// Rotating everything by 20° changes roll, not yaw.
	rot := Similarity{A: math.Cos(20 * math.Pi / 180), B: math.Sin(20 * math.Pi / 180)}
	rl := make([]Point, 68)
	for i, p := range lm {
		rl[i] = rot.Apply(p)
	}
	yaw, roll = Pose(rl)
	require.InDelta(t, 30, yaw, 1e-9)
	require.InDelta(t, 20, roll, 1e-9)

	_, ok = FivePoints(lm[:5])
	require.False(t, ok)
}

func TestScaledCropShiftsInside(t *testing.T) {
	// A 100-px box near the top-left corner of a 1000×800 image, enlarged
	// 2.7×: 270 px, shifted to start at the corner instead of being cut.
	r := scaledCrop(Box{10, 20, 110, 120}, 2.7, 1000, 800)
	require.Equal(t, image.Rect(0, 0, 270, 270), r)
	// An image too small for 2.7×: the scale drops to what fits.
	r = scaledCrop(Box{100, 100, 200, 200}, 2.7, 250, 220)
	require.LessOrEqual(t, r.Dx(), 249)
	require.LessOrEqual(t, r.Dy(), 219)
	require.True(t, r.In(image.Rect(0, 0, 250, 220)))
	require.Equal(t, Box{10, 0, 30, 20}, squareBox(Box{15, 0, 25, 20}))
}

func TestSoftmaxNormalizeCosine(t *testing.T) {
	p := Softmax([]float32{3.3385658, -0.14387909, -3.194641})
	require.InDelta(t, 1, p[0]+p[1]+p[2], 1e-12)
	require.InDelta(t, 0.9688, p[0], 1e-4)

	v := []float32{3, 4}
	require.True(t, Normalize(v))
	require.InDelta(t, 0.6, v[0], 1e-6)
	require.False(t, Normalize([]float32{0, 0}))

	require.InDelta(t, 1, Cosine([]float32{1, 2}, []float32{2, 4}), 1e-12)
	require.InDelta(t, -1, Cosine([]float32{1, 2}, []float32{-1, -2}), 1e-12)
	require.Zero(t, Cosine([]float32{1}, []float32{1, 2}))
	require.Zero(t, Compare(&Analysis{}, &Analysis{}).Similarity)
	require.False(t, Compare(&Analysis{}, &Analysis{}).Matches(-1))
}

// jpegWithOrientation encodes img as a JPEG with an APP1 Exif segment
// whose IFD0 holds Orientation o (big- or little-endian TIFF).
func jpegWithOrientation(t *testing.T, img image.Image, o uint16, bigEndian bool) []byte {
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}))
	var bo interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.LittleEndian
	tiff := []byte("II")
	if bigEndian {
		bo, tiff = binary.BigEndian, []byte("MM")
	}
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, 8)
	tiff = bo.AppendUint16(tiff, 2) // two entries: an unrelated one first
	tiff = bo.AppendUint16(tiff, 0x010F)
	tiff = bo.AppendUint16(tiff, 2)
	tiff = bo.AppendUint32(tiff, 4)
	tiff = append(tiff, 'a', 'c', 'm', 0)
	tiff = bo.AppendUint16(tiff, 0x0112)
	tiff = bo.AppendUint16(tiff, 3)
	tiff = bo.AppendUint32(tiff, 1)
	tiff = bo.AppendUint16(tiff, o)
	tiff = bo.AppendUint16(tiff, 0)
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1}
	app1 = binary.BigEndian.AppendUint16(app1, uint16(len(seg)+2))
	app1 = append(app1, seg...)
	data := buf.Bytes()
	out := append([]byte{}, data[:2]...)
	out = append(out, app1...)
	return append(out, data[2:]...)
}

func TestEXIFOrientation(t *testing.T) {
	// 80×160 (portrait) with a red top-left quadrant, on grey.
	img := image.NewRGBA(image.Rect(0, 0, 80, 160))
	fill(img, color.RGBA{128, 128, 128, 255})
	for y := 0; y < 80; y++ {
		for x := 0; x < 40; x++ {
			img.SetRGBA(x, y, color.RGBA{230, 20, 20, 255})
		}
	}
	red := func(im *image.RGBA, x, y int) bool {
		c := im.RGBAAt(x, y)
		return c.R > 180 && c.G < 80
	}
	cases := []struct {
		o      uint16
		w, h   int
		corner image.Point // where the red quadrant ends up
	}{
		{1, 80, 160, image.Pt(10, 10)},
		{2, 80, 160, image.Pt(70, 10)},
		{3, 80, 160, image.Pt(70, 150)},
		{4, 80, 160, image.Pt(10, 150)},
		{5, 160, 80, image.Pt(10, 10)},
		{6, 160, 80, image.Pt(150, 10)},
		{7, 160, 80, image.Pt(150, 70)},
		{8, 160, 80, image.Pt(10, 70)},
	}
	for _, c := range cases {
		for _, be := range []bool{false, true} {
			data := jpegWithOrientation(t, img, c.o, be)
			require.Equal(t, int(c.o), JPEGOrientation(data))
			got, err := Decode(data, Limits{})
			require.NoError(t, err)
			require.Equal(t, c.w, got.Rect.Dx(), "orientation %d", c.o)
			require.Equal(t, c.h, got.Rect.Dy(), "orientation %d", c.o)
			require.True(t, red(got, c.corner.X, c.corner.Y), "orientation %d: red at %v", c.o, c.corner)
		}
	}
	require.Equal(t, 1, JPEGOrientation([]byte("not a jpeg")))
	var plain bytes.Buffer
	require.NoError(t, jpeg.Encode(&plain, img, nil))
	require.Equal(t, 1, JPEGOrientation(plain.Bytes()))
	// A truncated Exif segment is ignored, not a panic.
	data := jpegWithOrientation(t, img, 6, false)
	require.Equal(t, 1, JPEGOrientation(data[:30]))
}

func TestDecodeErrors(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 200, 100))
	fill(img, color.RGBA{100, 150, 200, 255})
	var pngBuf bytes.Buffer
	require.NoError(t, png.Encode(&pngBuf, img))

	got, err := Decode(pngBuf.Bytes(), Limits{})
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 200, 100), got.Rect)

	for name, data := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("definitely not an image, just some bytes"),
		"truncated": pngBuf.Bytes()[:len(pngBuf.Bytes())/2],
		"gif":       []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
	} {
		_, err := Decode(data, Limits{})
		require.ErrorIs(t, err, ErrUnreadableImage, name)
	}
	_, err = Decode(pngBuf.Bytes(), Limits{MaxBytes: 100})
	require.ErrorIs(t, err, ErrImageTooLarge)
	_, err = Decode(pngBuf.Bytes(), Limits{MaxPixels: 200*100 - 1})
	require.ErrorIs(t, err, ErrImageTooLarge)
	_, err = Decode(pngBuf.Bytes(), Limits{MinSide: 101})
	require.ErrorIs(t, err, ErrImageTooSmall)
}

func TestCheckInputAndModelErrors(t *testing.T) {
	ctx := context.Background()
	calls := 0
	never := RunnerFunc(func(context.Context, string, []inference.Tensor) ([]inference.Tensor, error) {
		calls++
		return nil, errors.New("must not be called")
	})
	res := Check(ctx, never, []byte("garbage"), nil)
	require.Equal(t, ekycv1.CheckKind_CHECK_KIND_FACE, res.GetKind())
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_FAIL, res.GetStatus())
	require.Equal(t, []string{reasons.FaceImageUnreadable}, res.GetReasonCodes())
	require.Zero(t, calls)

	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	fill(img, color.RGBA{90, 90, 90, 255})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	for err, code := range map[error]string{
		inference.ErrUnavailable:    reasons.CheckUnavailable,
		inference.ErrOverloaded:     reasons.CheckUnavailable,
		context.DeadlineExceeded:    reasons.CheckTimeout,
		errors.New("session crash"): reasons.CheckError,
	} {
		failing := RunnerFunc(func(context.Context, string, []inference.Tensor) ([]inference.Tensor, error) { return nil, err })
		res := Check(ctx, failing, buf.Bytes(), nil)
		require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_ERROR, res.GetStatus(), err.Error())
		require.Equal(t, []string{code}, res.GetReasonCodes())
		require.Contains(t, res.GetError(), ModelDetect)
	}
	// A runner answering with the wrong tensors is a model error too.
	wrong := RunnerFunc(func(context.Context, string, []inference.Tensor) ([]inference.Tensor, error) {
		return []inference.Tensor{{Name: "x", Shape: []int64{1, 2}, Data: []float32{1, 2}}}, nil
	})
	res = Check(ctx, wrong, buf.Bytes(), nil)
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_ERROR, res.GetStatus())
	require.Equal(t, []string{reasons.CheckError}, res.GetReasonCodes())
}

func TestFaceReasonCodesInTable(t *testing.T) {
	for _, c := range []string{
		reasons.FaceNotFound, reasons.FaceMultiple, reasons.FaceTooSmall, reasons.FaceBlurry,
		reasons.FaceTooDark, reasons.FaceTooBright, reasons.FacePose, reasons.FaceLivenessFailed,
		reasons.FaceMismatch, reasons.FaceImageUnreadable, reasons.FacePortraitNotFound, reasons.FaceDuplicateIdentity,
	} {
		info, ok := reasons.Lookup(c)
		require.True(t, ok, c)
		require.Equal(t, "face", info.Category)
	}
}

func TestAnalyzeRefusesEmptyImage(t *testing.T) {
	never := RunnerFunc(func(context.Context, string, []inference.Tensor) ([]inference.Tensor, error) {
		return nil, errors.New("must not be called")
	})
	_, err := Analyze(context.Background(), never, image.NewRGBA(image.Rect(0, 0, 0, 0)))
	require.ErrorIs(t, err, ErrImageTooSmall)
	_, err = Detect(context.Background(), never, image.NewRGBA(image.Rect(0, 0, 1, 5)))
	require.ErrorIs(t, err, ErrImageTooSmall)
}
