package face

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/inference"
	"github.com/openekyc/ekyc/inference/ort"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
)

// Tests with the real models, run through inference/ort as the Runner.
// They skip when the models directory is absent (`make models` fetches it).

func modelRunner(t *testing.T) Runner {
	t.Helper()
	dir := ort.DefaultDir()
	if _, err := os.Stat(filepath.Join(dir, ModelDetect)); err != nil {
		t.Skipf("face models not found in %s: run `make models` (or set EKYC_MODELS_DIR)", dir)
	}
	b, err := ort.Open(dir)
	if errors.Is(err, inference.ErrUnavailable) {
		t.Skipf("ONNX Runtime not available from %s: run `make models`: %v", dir, err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return BackendRunner(b)
}

func readFace(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "faces", name))
	require.NoError(t, err)
	return data
}

func analyzeFile(t *testing.T, r Runner, name string) *Analysis {
	t.Helper()
	img, err := Decode(readFace(t, name), Limits{})
	require.NoError(t, err)
	a, err := Analyze(context.Background(), r, img)
	require.NoError(t, err)
	return a
}

var portraits = []string{"obama.jpg", "obama2.jpg", "obama_small.jpg", "biden.jpg"}

func TestModelsFaceCountsQualityLiveness(t *testing.T) {
	r := modelRunner(t)
	for _, name := range portraits {
		a := analyzeFile(t, r, name)
		require.Len(t, a.Faces, 1, name)
		f := a.Faces[0]
		require.Greater(t, f.Score, DefaultScoreThreshold)
		require.Len(t, f.Landmarks, 68)
		require.Len(t, f.Embedding, EmbeddingSize)
		require.True(t, f.Quality.OK(), "%s: %+v", name, f.Quality)
		require.True(t, f.Liveness.Checked)
		// Genuine camera photographs: the liveness model must not reject
		// them. (Its accuracy on attacks is not measured here.)
		require.Greater(t, f.Liveness.Score, DefaultLivenessThreshold, name)
		// The eyes lie inside the box, left eye left of the right one.
		require.Less(t, f.Points[0].X, f.Points[1].X)
		for _, p := range f.Points {
			require.True(t, p.X > f.Box.X1 && p.X < f.Box.X2 && p.Y > f.Box.Y1 && p.Y < f.Box.Y2, "%s: %v outside %v", name, p, f.Box)
		}
		t.Logf("%-16s %4dx%-4d box %4.0f,%4.0f-%4.0f,%4.0f score %.3f | sharpness %6.1f brightness %5.1f size %5.1f iod %5.1f yaw %5.1f roll %5.1f | live %.3f",
			name, a.Width, a.Height, f.Box.X1, f.Box.Y1, f.Box.X2, f.Box.Y2, f.Score,
			f.Quality.Sharpness, f.Quality.Brightness, f.Quality.FaceSize, f.Quality.InterOcular, f.Quality.Yaw, f.Quality.Roll, f.Liveness.Score)
	}

	a := analyzeFile(t, r, "two_people.jpg")
	require.Len(t, a.Faces, 2)
	require.Less(t, IoU(a.Faces[0].Box, a.Faces[1].Box), 0.01)
	for _, f := range a.Faces {
		t.Logf("two_people.jpg    box %4.0f,%4.0f-%4.0f,%4.0f score %.3f | live %.3f", f.Box.X1, f.Box.Y1, f.Box.X2, f.Box.Y2, f.Score, f.Liveness.Score)
	}
}

func TestModelsSimilarity(t *testing.T) {
	r := modelRunner(t)
	an := map[string]*Analysis{}
	for _, name := range append(portraits, "two_people.jpg") {
		an[name] = analyzeFile(t, r, name)
	}
	same := [][2]string{{"obama.jpg", "obama2.jpg"}, {"obama.jpg", "obama_small.jpg"}, {"obama2.jpg", "obama_small.jpg"}}
	diff := [][2]string{{"obama.jpg", "biden.jpg"}, {"obama2.jpg", "biden.jpg"}, {"obama_small.jpg", "biden.jpg"}}
	for _, p := range same {
		m := Compare(an[p[0]], an[p[1]])
		t.Logf("same person   %-16s %-16s %.4f", p[0], p[1], m.Similarity)
		require.True(t, m.Matches(DefaultMatchThreshold), "%v: %.4f", p, m.Similarity)
	}
	for _, p := range diff {
		m := Compare(an[p[0]], an[p[1]])
		t.Logf("other person  %-16s %-16s %.4f", p[0], p[1], m.Similarity)
		require.True(t, m.Compared)
		require.Less(t, m.Similarity, 0.3, "%v", p)
	}
	// two_people.jpg's larger face is Biden's (the same photograph as
	// biden.jpg), the other Obama's.
	two := an["two_people.jpg"]
	require.Greater(t, Compare(two, an["biden.jpg"]).Similarity, 0.9)
	var other *Face
	for i := range two.Faces {
		if &two.Faces[i] != two.Primary() {
			other = &two.Faces[i]
		}
	}
	require.NotNil(t, other)
	for _, name := range []string{"obama.jpg", "obama2.jpg"} {
		s := Cosine(other.Embedding, an[name].Primary().Embedding)
		t.Logf("same person   two_people(left) %-16s %.4f", name, s)
		require.Greater(t, s, DefaultMatchThreshold)
	}
}

func TestModelsQualityGateCatchesDegradedFaces(t *testing.T) {
	r := modelRunner(t)
	ctx := context.Background()
	img, err := Decode(readFace(t, "obama.jpg"), Limits{})
	require.NoError(t, err)
	base, err := Analyze(ctx, r, img)
	require.NoError(t, err)
	require.Len(t, base.Faces, 1)
	size := base.Faces[0].Quality.FaceSize

	cases := []struct {
		name string
		img  *image.RGBA
		code string
	}{
		{"blurred", gaussianBlur(img, size/25), reasons.FaceBlurry},
		{"darkened", scaleBrightness(img, 0.25), reasons.FaceTooDark},
		{"overexposed", scaleBrightness(img, 2), reasons.FaceTooBright},
		{"tiny", shrinkOnto(img, 0.15, 640, 480), reasons.FaceTooSmall},
	}
	for _, c := range cases {
		a, err := Analyze(ctx, r, c.img)
		require.NoError(t, err)
		require.Len(t, a.Faces, 1, c.name)
		q := a.Faces[0].Quality
		t.Logf("%-11s sharpness %6.1f brightness %5.1f size %5.1f iod %5.1f → %v (similarity to the original %.3f)",
			c.name, q.Sharpness, q.Brightness, q.FaceSize, q.InterOcular, q.Reasons, Compare(a, base).Similarity)
		require.False(t, q.OK(), c.name)
		require.Contains(t, q.Reasons, c.code, c.name)
	}
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}))
	return buf.Bytes()
}

func signals(res *ekycv1.CheckResult) map[string]*ekycv1.Signal {
	m := map[string]*ekycv1.Signal{}
	for _, s := range res.GetSignals() {
		m[s.GetName()] = s
	}
	return m
}

func TestModelsCheck(t *testing.T) {
	r := modelRunner(t)
	ctx := context.Background()
	obama, obama2, biden := readFace(t, "obama.jpg"), readFace(t, "obama2.jpg"), readFace(t, "biden.jpg")

	// Same person: PASS with every signal.
	res := Check(ctx, r, obama2, obama)
	require.Equal(t, ekycv1.CheckKind_CHECK_KIND_FACE, res.GetKind())
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, res.GetStatus(), res.GetReasonCodes())
	require.Empty(t, res.GetReasonCodes())
	require.Equal(t, 1.0, res.GetScore())
	sig := signals(res)
	for _, name := range []string{SignalCount, SignalQualityBlur, SignalQualityBrightness, SignalQualityFaceSize, SignalQualityIOD,
		SignalQualityYaw, SignalQualityRoll, SignalQualityOK, SignalLivenessScore, SignalLivenessOK, SignalPortraitCount,
		SignalMatchSimilarity, SignalMatchOK} {
		require.Contains(t, sig, name)
	}
	require.Equal(t, 1.0, sig[SignalCount].GetNumber())
	require.True(t, sig[SignalMatchOK].GetFlag())
	require.True(t, sig[SignalQualityOK].GetFlag())
	require.Greater(t, sig[SignalMatchSimilarity].GetNumber(), DefaultMatchThreshold)
	t.Logf("obama2 vs obama: similarity %.4f, liveness %.4f", sig[SignalMatchSimilarity].GetNumber(), sig[SignalLivenessScore].GetNumber())

	// Different person: FAIL, FACE_MISMATCH.
	res = Check(ctx, r, obama, biden)
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_FAIL, res.GetStatus())
	require.Equal(t, []string{reasons.FaceMismatch}, res.GetReasonCodes())
	require.False(t, signals(res)[SignalMatchOK].GetFlag())

	// Selfie only: no match signals.
	res = Check(ctx, r, biden, nil)
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, res.GetStatus())
	require.NotContains(t, signals(res), SignalMatchSimilarity)

	// Two faces in the selfie.
	res = Check(ctx, r, readFace(t, "two_people.jpg"), biden)
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_FAIL, res.GetStatus())
	require.Contains(t, res.GetReasonCodes(), reasons.FaceMultiple)
	require.Equal(t, 2.0, signals(res)[SignalCount].GetNumber())

	// No face: a plain grey picture as selfie, then as document.
	blank := image.NewRGBA(image.Rect(0, 0, 400, 300))
	fill(blank, color.RGBA{120, 130, 140, 255})
	res = Check(ctx, r, encodeJPEG(t, blank), obama)
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_FAIL, res.GetStatus())
	require.Equal(t, []string{reasons.FaceNotFound}, res.GetReasonCodes())
	require.Equal(t, 0.0, signals(res)[SignalCount].GetNumber())
	res = Check(ctx, r, obama, encodeJPEG(t, blank))
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, res.GetStatus())
	require.Equal(t, []string{reasons.FacePortraitNotFound}, res.GetReasonCodes())

	// A dark selfie: CONSIDER with FACE_TOO_DARK, still compared.
	img, err := Decode(obama2, Limits{})
	require.NoError(t, err)
	res = Check(ctx, r, encodeJPEG(t, scaleBrightness(img, 0.25)), obama)
	require.Contains(t, res.GetReasonCodes(), reasons.FaceTooDark)
	require.False(t, signals(res)[SignalQualityOK].GetFlag())
	require.Contains(t, signals(res), SignalMatchSimilarity)

	// Corrupt and oversized images: typed errors from Decode, and
	// FACE_IMAGE_UNREADABLE from Check.
	corrupt := append([]byte{}, obama[:len(obama)/3]...)
	_, err = Decode(corrupt, Limits{})
	require.ErrorIs(t, err, ErrUnreadableImage)
	_, err = Decode([]byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3}, Limits{})
	require.ErrorIs(t, err, ErrUnreadableImage)
	_, err = Decode(obama, Limits{MaxPixels: 1_000_000}) // 910×1137
	require.ErrorIs(t, err, ErrImageTooLarge)
	_, err = Decode(obama, Limits{MaxBytes: 100_000})
	require.ErrorIs(t, err, ErrImageTooLarge)
	for _, c := range []struct {
		selfie, doc []byte
		opts        []Option
	}{
		{corrupt, obama, nil},
		{obama2, corrupt, nil},
		{obama2, obama, []Option{WithLimits(Limits{MaxPixels: 1_000_000})}},
	} {
		res = Check(ctx, r, c.selfie, c.doc, c.opts...)
		require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_FAIL, res.GetStatus())
		require.Equal(t, []string{reasons.FaceImageUnreadable}, res.GetReasonCodes())
	}
}
