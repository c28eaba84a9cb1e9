package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig of JPEG
	_ "image/png"  // DecodeConfig of PNG
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/openekyc/ekyc/store/apistate"
)

// Accepted image types, detected from the bytes (never from the
// Content-Type header or a file name).
var acceptedImageTypes = map[string]bool{"image/jpeg": true, "image/png": true}

type imageUploaded struct {
	ID    string    `json:"id"`
	Image imageJSON `json:"image"`
}

func (g *Gateway) putDocument(w http.ResponseWriter, r *http.Request, p Principal) error {
	name := ImageDocumentFront
	switch side := r.URL.Query().Get("side"); side {
	case "", "front":
	case "back":
		name = ImageDocumentBack
	default:
		return invalid("side: want front or back")
	}
	return g.putImage(w, r, p, name)
}

func (g *Gateway) putSelfie(w http.ResponseWriter, r *http.Request, p Principal) error {
	return g.putImage(w, r, p, ImageSelfie)
}

// putImage stores one image of a session that is still accepting them.
// The session is looked up before the body is read, so another tenant's
// session answers 404 whatever the body.
func (g *Gateway) putImage(w http.ResponseWriter, r *http.Request, p Principal, name string) error {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return sessionNotFound()
	}
	// Serial with submits and erasures of the session: a submit never
	// references an image that is being replaced.
	unlock := g.subLocks.lock(p.Tenant + "\x00" + id)
	defer unlock()
	d, err := g.draft(r, p, false)
	if err != nil {
		return err
	}
	if d.Status != apistate.StatusCreated {
		return errorf(CodeConflict, "the session no longer accepts images (status "+string(d.Status)+")")
	}
	data, err := g.readImage(r)
	if err != nil {
		return err
	}
	ct := http.DetectContentType(data)
	if !acceptedImageTypes[ct] {
		return errorf(CodeUnsupportedMediaType, "the image must be JPEG or PNG (detected from its bytes)")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || "image/"+format != ct {
		return errorf(CodeInvalidImage, "the image does not decode as "+ct)
	}
	lim := g.cfg.images
	if cfg.Width < lim.MinWidth || cfg.Height < lim.MinHeight || cfg.Width > lim.MaxWidth || cfg.Height > lim.MaxHeight {
		return errorf(CodeImageDimensions, fmt.Sprintf("the image is %dx%d; accepted: %dx%d to %dx%d pixels",
			cfg.Width, cfg.Height, lim.MinWidth, lim.MinHeight, lim.MaxWidth, lim.MaxHeight))
	}
	sum := sha256.Sum256(data)
	im := apistate.Image{Name: name, ContentType: ct, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		Width: cfg.Width, Height: cfg.Height, UploadedAt: g.cfg.now().UTC().Truncate(time.Millisecond)}
	if err := g.deps.Blobs.Put(r.Context(), p.Tenant, d.ID, name, ct, data); err != nil {
		return unavailable(err)
	}
	_, err = g.deps.State.Update(r.Context(), p.Tenant, d.ID, func(d *apistate.Draft) error {
		if d.Status != apistate.StatusCreated {
			// Submitted or erased while the image was stored: the blob is
			// orphaned (an erasure covers it, a submit did not reference it).
			return errorf(CodeConflict, "the session no longer accepts images (status "+string(d.Status)+")")
		}
		d.SetImage(im)
		return nil
	})
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return err
		}
		return unavailable(err)
	}
	g.cfg.log.Info("gateway: image stored", "tenant", p.Tenant, "session", d.ID, "image", name, "bytes", len(data))
	return writeJSON(w, http.StatusOK, imageUploaded{ID: d.ID, Image: imageJSON(im)})
}

// readImage returns the uploaded bytes: the raw body, or the "file" field
// of a multipart/form-data body. More than the image limit is 413.
func (g *Gateway) readImage(r *http.Request) ([]byte, error) {
	max := g.cfg.images.MaxBytes
	src := io.Reader(r.Body)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, invalid("malformed multipart body")
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, invalid(`file: the multipart body has no "file" field`)
			}
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return nil, err
				}
				return nil, invalid("malformed multipart body")
			}
			if part.FormName() == "file" {
				src = part
				break
			}
			_ = part.Close()
		}
	}
	data, err := io.ReadAll(io.LimitReader(src, max+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, invalid("the body could not be read")
	}
	if int64(len(data)) > max {
		return nil, errorf(CodePayloadTooLarge, fmt.Sprintf("the image exceeds %d bytes", max))
	}
	if len(data) == 0 {
		return nil, invalid("the image is empty")
	}
	return data, nil
}
