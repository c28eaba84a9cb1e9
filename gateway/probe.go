package gateway

import (
	"bytes"
	"image"
	"io"
	"net/http"

	"github.com/openekyc/ekyc/store/apistate"
)

// MaxProbeBytes bounds a probed frame: a downscaled camera frame (the SDK
// sends ≤ 480 px JPEGs of a few tens of KiB).
const MaxProbeBytes = 512 << 10

// minProbeSide and maxProbeSide bound a probed frame's width and height.
const minProbeSide = 64
const maxProbeSide = 1280

type probeJSON struct {
	Faces []FaceBox `json:"faces"`
}

// probeSelfie: POST /v1/sessions/{id}/selfie/probe. The live selfie
// feedback of the web SDK: the node's face detector runs on one camera
// frame and answers where the faces are; nothing is stored, logged or
// audited (the frame is not the selfie: the selfie is what PUT .../selfie
// uploads). Only for a session still accepting images.
func (g *Gateway) probeSelfie(w http.ResponseWriter, r *http.Request, p Principal) error {
	if g.deps.FaceProber == nil {
		return errorf(CodeNotAvailable, "face detection is not available on this node")
	}
	d, err := g.draft(r, p, false)
	if err != nil {
		return err
	}
	if d.Status != apistate.StatusCreated {
		return errorf(CodeConflict, "the session no longer accepts images (status "+string(d.Status)+")")
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err // *http.MaxBytesError → 413
	}
	ct := http.DetectContentType(data)
	if !acceptedImageTypes[ct] {
		return errorf(CodeUnsupportedMediaType, "the frame must be JPEG or PNG (detected from its bytes)")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || "image/"+format != ct {
		return errorf(CodeInvalidImage, "the frame does not decode as "+ct)
	}
	if cfg.Width < minProbeSide || cfg.Height < minProbeSide || cfg.Width > maxProbeSide || cfg.Height > maxProbeSide {
		return errorf(CodeImageDimensions, "a probed frame is 64 to 1280 pixels on each side")
	}
	faces, err := g.deps.FaceProber.ProbeFaces(r.Context(), data)
	if err != nil {
		return unavailable(err)
	}
	if faces == nil {
		faces = []FaceBox{}
	}
	return writeJSON(w, http.StatusOK, probeJSON{Faces: faces})
}
