// Package demo serves the /demo page: a small page (web/src, built into
// web/dist and embedded) that uses the web SDK (sdk/web) end to end
// against the node it is served by — document capture, selfie capture,
// upload, submit, and the decision.
//
// On load the page calls POST /demo/api/start, which creates a session for
// the node's demo tenant through the Starter (the node implements it with
// the gateway's internals) and returns its id and a session token; the
// page then talks to the gateway's /v1 routes with that token only, as a
// tenant's page would. The demo creates sessions for anyone who can reach
// it: mount it only where the node's configuration enables it.
//
// Responses carry a strict content security policy (everything from the
// node's own origin; camera frames as blob:/mediastream:), and the API
// answers Cache-Control: no-store. Logs carry the session id, never
// personal data (the demo has none: it sends no applicant data).
package demo

import (
	"context"
	"embed"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openekyc/ekyc/internal/httperr"
)

//go:embed web/dist
var dist embed.FS

// Starter creates a verification session for the demo tenant and issues
// its session token (gateway POST /v1/sessions/{id}/token semantics). Any
// error is answered 503 (the page may retry) and logged.
type Starter interface {
	Start(ctx context.Context) (sessionID, token string, err error)
}

// Deps are the demo's collaborators. Starter is required for the API:
// without it POST /demo/api/start answers 503.
type Deps struct {
	Starter Starter
	// Log defaults to slog.Default().
	Log *slog.Logger
	// StartsPerMinute bounds the sessions the page may start on this node
	// (a token bucket holding a minute's worth); beyond it POST
	// /demo/api/start answers 429 with Retry-After. 0 means
	// DefaultStartsPerMinute.
	StartsPerMinute int
	// Now is the limiter's clock (tests); defaults to time.Now.
	Now func() time.Time
}

// DefaultStartsPerMinute is the default of Deps.StartsPerMinute.
const DefaultStartsPerMinute = 30

const (
	mount = "/demo"
	csp   = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
		"media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
		"form-action 'self'; frame-ancestors 'none'"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

type handler struct {
	deps   Deps
	assets fs.FS
	mux    *http.ServeMux

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// take takes a start from the bucket, or says how long until one is there.
func (h *handler) take() (bool, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.deps.Now()
	perSec := float64(h.deps.StartsPerMinute) / 60
	if !h.last.IsZero() {
		h.tokens = min(float64(h.deps.StartsPerMinute), h.tokens+now.Sub(h.last).Seconds()*perSec)
	}
	h.last = now
	if h.tokens >= 1 {
		h.tokens--
		return true, 0
	}
	return false, time.Duration((1 - h.tokens) / perSec * float64(time.Second))
}

// New returns the handler of /demo, /demo/ (the page), /demo/assets/...
// and POST /demo/api/start. Mount it at "/demo/" and "/demo".
func New(deps Deps) http.Handler {
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.StartsPerMinute <= 0 {
		deps.StartsPerMinute = DefaultStartsPerMinute
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	// web/dist is a valid path and embedded (go:embed fails the build
	// otherwise), so Sub cannot fail.
	sub, _ := fs.Sub(dist, "web/dist")
	h := &handler{deps: deps, assets: sub, mux: http.NewServeMux(), tokens: float64(deps.StartsPerMinute)}
	h.mux.HandleFunc("GET "+mount, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, mount+"/", http.StatusMovedPermanently)
	})
	h.mux.HandleFunc("GET "+mount+"/{$}", h.index)
	h.mux.HandleFunc("GET "+mount+"/assets/{path...}", h.asset)
	h.mux.HandleFunc("POST "+mount+"/api/start", h.start)
	h.mux.HandleFunc(mount+"/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, "not_found", "not found")
	})
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func pageHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	// The page asks for the camera; nothing else.
	hd.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
}

func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(h.assets, "index.html")
	if err != nil {
		writeError(w, "not_found", "the demo page is not built")
		return
	}
	pageHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

func (h *handler) asset(w http.ResponseWriter, r *http.Request) {
	p := r.PathValue("path")
	if p == "" || !fs.ValidPath(p) {
		writeError(w, "not_found", "not found")
		return
	}
	full := path.Join("assets", p)
	b, err := fs.ReadFile(h.assets, full)
	if err != nil {
		writeError(w, "not_found", "not found")
		return
	}
	ct := mime.TypeByExtension(path.Ext(full))
	if ct == "" {
		ct = "application/octet-stream"
	}
	pageHeaders(w.Header())
	w.Header().Set("Content-Type", ct)
	// Asset names carry content hashes.
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(b)
}

type started struct {
	SessionID string `json:"session_id"`
	Token     string `json:"token"`
}

// start: POST /demo/api/start. Same-origin only: a cross-site page cannot
// make a visitor's browser create sessions.
func (h *handler) start(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !sameOrigin(r) {
		writeError(w, "forbidden", "cross-origin requests are not accepted")
		return
	}
	_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 1<<10))
	if h.deps.Starter == nil {
		writeError(w, "not_available", "the demo is not configured on this node")
		return
	}
	if ok, wait := h.take(); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeError(w, "rate_limited", "too many demo sessions started on this node, retry later")
		return
	}
	id, tok, err := h.deps.Starter.Start(r.Context())
	switch {
	case err != nil:
		h.deps.Log.Warn("demo: start failed", "err", err)
		writeError(w, "unavailable", "the demo session could not be started, retry")
		return
	case !idPattern.MatchString(id) || tok == "":
		h.deps.Log.Error("demo: the starter returned a malformed session id or no token")
		writeError(w, "internal", "internal error")
		return
	}
	h.deps.Log.Info("demo: session started", "session", id)
	_ = httperr.WriteJSON(w, http.StatusCreated, started{SessionID: id, Token: tok}) // two strings: cannot fail
}

// sameOrigin refuses requests a browser marks as cross-site, and those
// whose Origin names another host than the request's.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s == "cross-site" || s == "same-site" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true // not a browser's cross-origin POST (those always send Origin)
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// errTable: the demo API's error codes (the gateway's names, where they
// mean the same).
var errTable = httperr.NewTable("internal",
	httperr.Spec{Code: "not_found", Status: http.StatusNotFound, Description: "No such page, asset or route."},
	httperr.Spec{Code: "forbidden", Status: http.StatusForbidden, Description: "A cross-site request to the start endpoint."},
	httperr.Spec{Code: "rate_limited", Status: http.StatusTooManyRequests, Description: "demo.starts_per_minute reached on this node; retry after Retry-After seconds."},
	httperr.Spec{Code: "internal", Status: http.StatusInternalServerError, Description: "An unexpected error."},
	httperr.Spec{Code: "unavailable", Status: http.StatusServiceUnavailable, Description: "The session could not be started; retry."},
	httperr.Spec{Code: "not_available", Status: http.StatusServiceUnavailable, Description: "The demo is not configured on this node."},
)

func writeError(w http.ResponseWriter, code httperr.Code, msg string) { errTable.Write(w, code, msg) }
