package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/gateway"
)

// fakeProber answers the boxes it was given and counts its calls; the
// node's prober runs the real face detector (node tests).
type fakeProber struct {
	mu    sync.Mutex
	calls int
	faces []gateway.FaceBox
	err   error
}

func (f *fakeProber) ProbeFaces(_ context.Context, img []byte) ([]gateway.FaceBox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.faces, f.err
}

func smallJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)), nil))
	return buf.Bytes()
}

func TestSelfieProbe(t *testing.T) {
	pr := &fakeProber{faces: []gateway.FaceBox{{X: 0.3, Y: 0.2, W: 0.4, H: 0.5, Score: 0.98}}}
	h := newHarness(t, func(d *gateway.Deps) { d.FaceProber = pr }, gateway.WithTokenKey(testTokenKey))
	id := h.create(keyAWrite, "face")
	frame := smallJPEG(t, 480, 360)
	blobsBefore := h.blobs.count()

	r := h.do("POST", "/v1/sessions/"+id+"/selfie/probe", frame, withContentType("image/jpeg"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.JSONEq(t, `{"faces":[{"x":0.3,"y":0.2,"w":0.4,"h":0.5,"score":0.98}]}`, string(r.Body))
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"))

	// With the session's token, as the SDK calls it; PNG too.
	tok, _ := h.token(keyAWrite, id)
	r = h.do("POST", "/v1/sessions/"+id+"/selfie/probe", pngOf(t, "obama_small.jpg"), withKey(tok), withContentType("image/png"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	// No face: an empty list, not null.
	pr.mu.Lock()
	pr.faces = nil
	pr.mu.Unlock()
	r = h.do("POST", "/v1/sessions/"+id+"/selfie/probe", frame, withContentType("image/jpeg"))
	require.Equal(t, http.StatusOK, r.Status)
	require.JSONEq(t, `{"faces":[]}`, string(r.Body))

	// Nothing is stored or audited.
	require.Equal(t, blobsBefore, h.blobs.count())
	for _, a := range h.audit.actions() {
		require.NotContains(t, a, "probe")
	}

	// Refusals, before the detector runs.
	calls := pr.calls
	for _, c := range []struct {
		name   string
		body   []byte
		ct     string
		key    string
		status int
		code   string
	}{
		{"not an image", []byte("hello, this is not an image at all"), "image/jpeg", keyAWrite, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"too small", smallJPEG(t, 16, 16), "image/jpeg", keyAWrite, http.StatusUnprocessableEntity, "image_dimensions"},
		{"too large a frame", smallJPEG(t, 1600, 900), "image/jpeg", keyAWrite, http.StatusUnprocessableEntity, "image_dimensions"},
		{"over the byte limit", bytes.Repeat([]byte{0xff}, gateway.MaxProbeBytes+1), "image/jpeg", keyAWrite, http.StatusRequestEntityTooLarge, "payload_too_large"},
		{"another tenant", frame, "image/jpeg", keyBWrite, http.StatusNotFound, "not_found"},
	} {
		r := h.do("POST", "/v1/sessions/"+id+"/selfie/probe", c.body, withKey(c.key), withContentType(c.ct), invalidRequest())
		require.Equal(t, c.status, r.Status, "%s: %s", c.name, r.Body)
		require.Equal(t, c.code, r.errCode(t), c.name)
	}
	require.Equal(t, calls, pr.calls, "refused frames never reach the detector")

	// A detector failure is 503 unavailable.
	pr.mu.Lock()
	pr.err = errors.New("inference pool overloaded")
	pr.mu.Unlock()
	r = h.do("POST", "/v1/sessions/"+id+"/selfie/probe", frame, withContentType("image/jpeg"))
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.Equal(t, "unavailable", r.errCode(t))

	// A submitted session takes no more frames.
	sub := h.ready(keyAWrite)
	r = h.do("POST", "/v1/sessions/"+sub+"/submit", nil)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	r = h.do("POST", "/v1/sessions/"+sub+"/selfie/probe", frame, withContentType("image/jpeg"))
	require.Equal(t, http.StatusConflict, r.Status)

	// Without a prober: 503 not_available.
	off := newHarness(t, nil)
	oid := off.create(keyAWrite, "face")
	r = off.do("POST", "/v1/sessions/"+oid+"/selfie/probe", frame, withContentType("image/jpeg"))
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.Equal(t, "not_available", r.errCode(t))
}
