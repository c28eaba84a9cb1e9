package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/openekyc/ekyc/store/apistate"
)

// IdempotencyHeader is the request header carrying the client's key.
const IdempotencyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds the key's length.
const maxIdempotencyKey = 255

// idempotent wraps a POST handler with Idempotency-Key handling (see the
// package doc).
func (g *Gateway) idempotent(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p Principal) error {
		key := r.Header.Get(IdempotencyHeader)
		if key == "" {
			return next(w, r, p)
		}
		if len(key) > maxIdempotencyKey || !printableASCII(key) {
			return errorf(CodeInvalidRequest, "Idempotency-Key must be 1..255 printable ASCII characters")
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err // *http.MaxBytesError → 413
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		h.Write([]byte(r.Method + "\x00" + r.URL.Path + "\x00" + r.URL.RawQuery + "\x00"))
		h.Write(body)
		hash := hex.EncodeToString(h.Sum(nil))

		unlock := g.idemLocks.lock(p.Tenant + "\x00" + key)
		defer unlock()
		prev, err := g.deps.State.LoadIdempotent(r.Context(), p.Tenant, key)
		switch {
		case err == nil:
			if prev.RequestHash != hash {
				return errorf(CodeIdempotencyKeyReused, "the Idempotency-Key was used with a different request")
			}
			if prev.ContentType != "" {
				w.Header().Set("Content-Type", prev.ContentType)
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(prev.StatusCode)
			_, _ = w.Write(prev.Body)
			return nil
		case !errors.Is(err, apistate.ErrNotFound):
			return unavailable(err)
		}

		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		if err := next(rec, r, p); err != nil {
			// Render the error into the recorder so it is stored (4xx) like
			// any response.
			g.fail(rec, r, p, err)
		}
		if rec.status < 500 {
			err := g.deps.State.SaveIdempotent(r.Context(), p.Tenant, key, apistate.IdempotentResponse{
				RequestHash: hash, StatusCode: rec.status, ContentType: rec.header.Get("Content-Type"), Body: rec.body.Bytes()})
			if err != nil && !errors.Is(err, apistate.ErrExists) {
				// The operation ran; not being able to record its response
				// only weakens the guarantee for a later retry.
				g.cfg.log.Warn("gateway: idempotency record not saved", "route", r.Pattern, "tenant", p.Tenant, "err", err)
			}
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
		return nil
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// recorder buffers a response.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
