// Package console is the reviewers' HTTP API (and the host of the
// reviewer console's static files), mounted by the node at /console/ on
// the gateway's listener. See docs/console-api.md.
//
// Reviewers log in with their own username and password (store/review,
// argon2id), not with the tenant's API key. A login sets the ekyc_console
// cookie (HttpOnly, SameSite=Strict, Path=/console, Secure over TLS) and
// returns a CSRF token, which the page sends back in the X-CSRF-Token
// header of every POST. Every POST is also refused when its Origin header
// names another origin. Login attempts are rate-limited per (tenant,
// username) and per client address; only failures use up the buckets.
//
// A reviewer acts for its own tenant only: every case is read by (tenant,
// id), so another tenant's case is 404 exactly like a missing one. Case
// operations apply the transitions of services/review through the store's
// compare-and-set Update (a lost race is reloaded and retried a few
// times), and each is an audit entry (ids and codes, never the comment).
// Reading a case's evidence or an image is a session.data_accessed audit
// entry, recorded before the data leaves (no audit, no data). Every
// authenticated response is Cache-Control: no-store.
//
// When a case is decided (a decision without four-eyes, or a
// confirmation) its ReviewDecision is published for the session actor.
// The case is stored decided first; a successful publish then sets the
// case's Published time. A decided case whose Published is zero (the
// publish failed: the request answered 503 publish_failed) is published
// again by POST .../publish, by the next GET of the case, and by
// RepublishPending, which the node runs periodically. Downstream the final
// decision is idempotent by case id, so a repeated publish is harmless.
//
// Logs carry tenant, reviewer and case ids, routes and error codes, never
// personal data or comments.
package console

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	review "github.com/openekyc/ekyc/services/review"
	reviewstore "github.com/openekyc/ekyc/store/review"
)

// Defaults and limits.
const (
	// CookieName is the login cookie.
	CookieName = "ekyc_console"
	// CSRFHeader carries the login's CSRF token on every POST.
	CSRFHeader       = "X-CSRF-Token"
	DefaultBodyLimit = 64 << 10
	// DefaultListLimit is the queue page size when the request names none.
	DefaultListLimit = 50
	// updateAttempts bounds the reload-and-retry loop of a transition that
	// lost a compare-and-set race.
	updateAttempts = 5
	mountPath      = "/console"
)

type config struct {
	assets    fs.FS
	now       func() time.Time
	rules     func(tenant string) review.Rules
	userLimit Limit
	ipLimit   Limit
	origins   map[string]bool
	clientIP  func(*http.Request) string
	bodyLimit int64
	derived   []string
	log       *slog.Logger
}

// Option configures New.
type Option func(*config)

// WithAssets serves the console's static files from fsys: GET /console/
// is fsys's index.html and GET /console/assets/... its assets/ directory.
// fsys is the build output's root (for an embedded dist directory,
// fs.Sub(dist, "dist")). Without it those paths are 404.
func WithAssets(fsys fs.FS) Option { return func(c *config) { c.assets = fsys } }

// WithClock sets the clock (claims, SLA countdowns, rate limits).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithRules sets each tenant's review rules (claim TTL, four-eyes); the
// default is review.Rules{} for every tenant (15 min claims, no
// four-eyes).
func WithRules(f func(tenant string) review.Rules) Option { return func(c *config) { c.rules = f } }

// WithLoginLimits sets the login rate limits per (tenant, username) and per
// client address (default DefaultUserLoginLimit, DefaultIPLoginLimit); a
// zero Limit disables that bucket.
func WithLoginLimits(perUser, perIP Limit) Option {
	return func(c *config) { c.userLimit, c.ipLimit = perUser, perIP }
}

// WithAllowedOrigins adds origins ("https://console.example.com") a POST's
// Origin header may name besides the request's own, for a node behind a
// proxy that terminates TLS or rewrites the host.
func WithAllowedOrigins(origins ...string) Option {
	return func(c *config) {
		for _, o := range origins {
			c.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
		}
	}
}

// WithClientIP sets how the login rate limit finds a request's client
// address (default: the host of RemoteAddr). Behind a proxy, read the
// header the proxy sets, and only from the proxy.
func WithClientIP(f func(*http.Request) string) Option { return func(c *config) { c.clientIP = f } }

// WithBodyLimit sets the largest JSON request body in bytes (default 64
// KiB).
func WithBodyLimit(n int64) Option { return func(c *config) { c.bodyLimit = n } }

// WithDerivedImages names images the Evidence produces from a session's
// document image (a portrait crop, say: "portrait"). They are listed and
// served for every case whose session has a document image; the request's
// own images are always listed.
func WithDerivedImages(names ...string) Option {
	return func(c *config) { c.derived = append(c.derived, names...) }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Console is the reviewers' HTTP API. It is an http.Handler for paths
// under /console/.
type Console struct {
	deps    Deps
	cfg     config
	mux     *http.ServeMux
	limiter *loginLimiter
	routes  []route
}

// New returns the console.
func New(deps Deps, opts ...Option) (*Console, error) {
	switch {
	case deps.Reviews == nil:
		return nil, errors.New("console: Deps.Reviews is required")
	case deps.Evidence == nil:
		return nil, errors.New("console: Deps.Evidence is required")
	case deps.Publisher == nil:
		return nil, errors.New("console: Deps.Publisher is required")
	case deps.Auditor == nil:
		return nil, errors.New("console: Deps.Auditor is required")
	}
	cfg := config{
		now: time.Now, rules: func(string) review.Rules { return review.Rules{} },
		userLimit: DefaultUserLoginLimit, ipLimit: DefaultIPLoginLimit, origins: map[string]bool{},
		clientIP: remoteHost, bodyLimit: DefaultBodyLimit, log: slog.Default(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.now == nil || cfg.rules == nil || cfg.clientIP == nil || cfg.log == nil:
		return nil, errors.New("console: nil clock, rules, client address function or logger")
	case cfg.bodyLimit <= 0:
		return nil, errors.New("console: body limit must be positive")
	case cfg.userLimit.Rate < 0 || cfg.userLimit.Burst < 0 || cfg.ipLimit.Rate < 0 || cfg.ipLimit.Burst < 0:
		return nil, errors.New("console: login limits must not be negative")
	}
	for _, n := range cfg.derived {
		if !imageNamePattern(n) {
			return nil, fmt.Errorf("console: derived image name %q: want 1-64 of a-z 0-9 _", n)
		}
	}
	c := &Console{deps: deps, cfg: cfg, mux: http.NewServeMux(), limiter: newLoginLimiter(cfg.userLimit, cfg.ipLimit)}
	c.routes = c.table()
	for _, rt := range c.routes {
		c.mux.Handle(rt.method+" "+rt.path, c.wrap(rt))
	}
	c.mux.HandleFunc("GET "+mountPath, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, mountPath+"/", http.StatusMovedPermanently)
	})
	c.mux.HandleFunc("GET "+mountPath+"/{$}", c.index)
	c.mux.HandleFunc("GET "+mountPath+"/assets/{path...}", c.asset)
	c.mux.HandleFunc(mountPath+"/", c.unmatched)
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// Routes returns the API routes as "METHOD /path/{param}".
func (c *Console) Routes() []string {
	out := make([]string, len(c.routes))
	for i, rt := range c.routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}

// session is the authenticated reviewer of a request.
type session struct {
	token string
	login reviewstore.Login
}

func (s *session) reviewer() reviewstore.Reviewer { return s.login.Reviewer }
func (s *session) actor() review.Actor            { return s.login.Reviewer.Actor() }
func (s *session) auditActor() string             { return "reviewer:" + s.login.Reviewer.ID }

type handlerFunc func(w http.ResponseWriter, r *http.Request, s *session) error

type route struct {
	method, path string
	// public routes need no login (login itself).
	public bool
	h      handlerFunc
}

func (c *Console) table() []route {
	const api = mountPath + "/api"
	return []route{
		{method: "POST", path: api + "/login", public: true, h: c.login},
		{method: "POST", path: api + "/logout", public: true, h: c.logout},
		{method: "GET", path: api + "/me", h: c.me},
		{method: "GET", path: api + "/cases", h: c.listCases},
		{method: "GET", path: api + "/cases/{id}", h: c.getCase},
		{method: "GET", path: api + "/cases/{id}/images/{name}", h: c.caseImage},
		{method: "GET", path: api + "/cases/{id}/related/{session}/images/{name}", h: c.relatedImage},
		{method: "POST", path: api + "/cases/{id}/claim", h: c.claim},
		{method: "POST", path: api + "/cases/{id}/release", h: c.release},
		{method: "POST", path: api + "/cases/{id}/decide", h: c.decide},
		{method: "POST", path: api + "/cases/{id}/confirm", h: c.confirm},
		{method: "POST", path: api + "/cases/{id}/reject-confirmation", h: c.rejectConfirmation},
		{method: "POST", path: api + "/cases/{id}/escalate", h: c.escalate},
		{method: "POST", path: api + "/cases/{id}/publish", h: c.republish},
	}
}

// wrap applies, in order: the origin check (POST), the login cookie (401),
// the CSRF token (POST), the body limit and content type, the handler.
func (c *Console) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		post := r.Method == http.MethodPost
		if post && !c.sameOrigin(r) {
			c.fail(w, r, nil, errorf(CodeCSRFFailed, "cross-origin request refused"))
			return
		}
		var s *session
		if !rt.public {
			var err error
			if s, err = c.authenticate(r); err != nil {
				c.fail(w, r, nil, err)
				return
			}
			if post && !reviewstore.VerifyCSRF(s.login, r.Header.Get(CSRFHeader)) {
				c.fail(w, r, s, errorf(CodeCSRFFailed, "missing or wrong "+CSRFHeader+" header"))
				return
			}
		}
		if post {
			if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
				c.fail(w, r, s, errorf(CodeUnsupportedMediaType, "the body must be application/json"))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, c.cfg.bodyLimit)
		}
		if err := rt.h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// sameOrigin reports whether a POST may proceed: no Origin header (a
// same-origin request of an older browser, or not a browser: the cookie
// and the CSRF token still apply), or an Origin equal to the request's own
// origin or an allowed one. A "null" origin is refused. Sec-Fetch-Site
// cross-site is refused as well.
func (c *Console) sameOrigin(r *http.Request) bool {
	if strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site") {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	o = strings.ToLower(o)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if r.Host != "" && o == scheme+"://"+strings.ToLower(r.Host) {
		return true
	}
	return c.cfg.origins[o]
}

// fail writes err as the error response and logs it (codes and ids only).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = errorf(CodePayloadTooLarge, fmt.Sprintf("the body exceeds %d bytes", mbe.Limit))
	default:
		ae = &apiError{code: CodeInternal, msg: "internal error", err: err}
	}
	tenant, reviewer := "", ""
	if s != nil {
		tenant, reviewer = s.login.Reviewer.Tenant, s.login.Reviewer.ID
	}
	attrs := []any{"route", r.Pattern, "tenant", tenant, "reviewer", reviewer, "case", r.PathValue("id"), "code", ae.code}
	lvl := slog.LevelDebug
	if errTable.Status(ae.code) >= 500 {
		lvl = slog.LevelWarn
		// Store, broker and audit errors name ids, never personal data.
		attrs = append(attrs, "err", err)
	}
	c.cfg.log.Log(r.Context(), lvl, "console: request failed", attrs...)
	writeError(w, ae.code, ae.msg)
}

// unmatched answers requests no route matched: 405 when the path exists
// under another method, else 404.
func (c *Console) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST"} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pat := c.mux.Handler(r2); pat != mountPath+"/" && pat != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, CodeMethodNotAllowed, "method not allowed")
		return
	}
	writeError(w, CodeNotFound, "not found")
}

func remoteHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// audit records an entry; the caller decides what a failure means.
func (c *Console) audit(r *http.Request, s *session, action, subject string, details map[string]string) error {
	return c.deps.Auditor.Record(r.Context(), AuditEvent{Tenant: s.login.Reviewer.Tenant, Actor: s.auditActor(),
		Action: action, Subject: subject, Details: details})
}

// auditAfter records the entry of a change that is already done: a
// failure is logged, as the change cannot be refused any more.
func (c *Console) auditAfter(r *http.Request, s *session, action, subject string, details map[string]string) {
	if err := c.audit(r, s, action, subject, details); err != nil {
		c.cfg.log.Warn("console: audit record failed", "action", action, "tenant", s.login.Reviewer.Tenant,
			"reviewer", s.login.Reviewer.ID, "subject", subject, "err", err)
	}
}
