package console

import (
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

// caseImage: GET /console/api/cases/{id}/images/{name}: one image of the
// case's session, decrypted for this request only (no-store, private).
// Only names the case's session lists are served; each read is audited
// before the bytes leave.
func (c *Console) caseImage(w http.ResponseWriter, r *http.Request, s *session) error {
	k, err := c.loadCase(r.Context(), r, s)
	if err != nil {
		return err
	}
	st, err := c.sessionState(r.Context(), k.Tenant, k.SessionID)
	if err != nil {
		return err
	}
	if st == nil {
		return errorf(CodeNotFound, "image not found")
	}
	return c.serveImage(w, r, s, k.ID, k.SessionID, c.imageNames(st))
}

// relatedImage: GET /console/api/cases/{id}/related/{session}/images/{name}:
// an image of a session of the same tenant that the case's session was
// found to duplicate (face.dedup.session), to compare side by side.
func (c *Console) relatedImage(w http.ResponseWriter, r *http.Request, s *session) error {
	k, err := c.loadCase(r.Context(), r, s)
	if err != nil {
		return err
	}
	st, err := c.sessionState(r.Context(), k.Tenant, k.SessionID)
	if err != nil {
		return err
	}
	other := r.PathValue("session")
	if st == nil || !slices.Contains(relatedSessions(st, k.Tenant, k.DecisionID), other) {
		return errorf(CodeNotFound, "image not found")
	}
	ost, err := c.sessionState(r.Context(), k.Tenant, other)
	if err != nil {
		return err
	}
	if ost == nil {
		return errorf(CodeNotFound, "image not found")
	}
	return c.serveImage(w, r, s, k.ID, other, c.imageNames(ost))
}

func (c *Console) serveImage(w http.ResponseWriter, r *http.Request, s *session, caseID, sessionID string, names []string) error {
	name := r.PathValue("name")
	if !imageNamePattern(name) || !slices.Contains(names, name) {
		return errorf(CodeNotFound, "image not found")
	}
	data, ct, err := c.deps.Evidence.Image(r.Context(), s.actor().Tenant, sessionID, name)
	if errors.Is(err, ErrNotFound) {
		return errorf(CodeNotFound, "image not found")
	}
	if err != nil {
		return unavailable(err)
	}
	if err := c.audit(r, s, "session.data_accessed", sessionID, map[string]string{"case": caseID, "data": "image", "image": name}); err != nil {
		return unavailable(err)
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || !strings.HasPrefix(mt, "image/") {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Cache-Control", "no-store, private")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", "inline")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

// consoleCSP is the page's content security policy: nothing from other
// origins (the bundle is served by the node, no CDN), images from the API
// or as blob: URLs the script made from them.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func pageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

// index: GET /console/: the console's index.html (no-cache: it names the
// current assets).
func (c *Console) index(w http.ResponseWriter, r *http.Request) {
	if c.cfg.assets == nil {
		writeError(w, CodeNotFound, "the console's files are not configured on this node")
		return
	}
	b, err := fs.ReadFile(c.cfg.assets, "index.html")
	if err != nil {
		writeError(w, CodeNotFound, "the console's index.html is missing")
		return
	}
	h := w.Header()
	pageHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// asset: GET /console/assets/{path...}: the bundle's files (their names
// carry content hashes, so they may be cached).
func (c *Console) asset(w http.ResponseWriter, r *http.Request) {
	p := r.PathValue("path")
	if c.cfg.assets == nil || p == "" || !fs.ValidPath(p) {
		writeError(w, CodeNotFound, "not found")
		return
	}
	full := path.Join("assets", p)
	fi, err := fs.Stat(c.cfg.assets, full)
	if err != nil || fi.IsDir() {
		writeError(w, CodeNotFound, "not found")
		return
	}
	b, err := fs.ReadFile(c.cfg.assets, full)
	if err != nil {
		writeError(w, CodeNotFound, "not found")
		return
	}
	h := w.Header()
	pageHeaders(h)
	ct := mime.TypeByExtension(path.Ext(full))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
