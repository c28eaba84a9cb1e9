// Package gateway is ekyc's HTTP API, versioned under /v1 and described by
// the OpenAPI 3 document it serves at /v1/openapi.json (openapi.json in
// this directory, embedded).
//
// A client creates a session with the applicant's data and the checks it
// wants, uploads the document and selfie images, and submits it; submit
// publishes a VerificationRequest to Kafka (the same message a Kafka client
// would produce), after which the session actor decides it and the status
// and report endpoints read the session store. See docs/api.md.
//
// Every request but the OpenAPI document needs an API key (Authorization:
// Bearer <key>) and is scoped by the key's tenant: a session, image or
// webhook event of another tenant answers 404 exactly like a missing one.
// Scopes: GET needs read, POST and PUT write, DELETE and webhook replay
// admin (admin ⊇ write ⊇ read).
//
// A browser uses a session token instead (token.go): issued by POST
// /v1/sessions/{id}/token to the tenant's server, bound to one session and
// accepted only by that session's status, uploads and submit, with CORS
// for the origins of WithCORSOrigins.
//
// Limits: a token bucket per tenant and one per key (429 with Retry-After),
// a body size limit (JSON) and image limits (bytes, JPEG/PNG detected from
// the bytes, width and height).
//
// Every POST honours an Idempotency-Key header: the first response (status
// and body) is stored for 24h in store/apistate under (tenant, key); a retry
// with the same key and the same method, path and body gets it back
// verbatim (with Idempotent-Replayed: true), a reuse of the key with another
// request gets 422 idempotency_key_reused. Requests with the same key run
// one at a time (a lock per key in this process), so concurrent duplicates
// never both execute. 5xx responses are not stored: the retry runs again.
//
// Logs carry tenant and session ids, routes and error codes, never personal
// data.
package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/openekyc/ekyc/internal/httperr"
)

// Defaults.
const (
	DefaultBodyLimit     = 1 << 20  // JSON bodies
	DefaultImageMaxBytes = 10 << 20 // one image
	DefaultImageMinSide  = 200
	DefaultImageMaxSide  = 10000
	// multipartOverhead is allowed on top of the image limit for the
	// multipart envelope.
	multipartOverhead = 64 << 10
)

// ImageLimits bound uploaded images.
type ImageLimits struct {
	MaxBytes  int64
	MinWidth  int
	MinHeight int
	MaxWidth  int
	MaxHeight int
}

type config struct {
	bodyLimit int64
	images    ImageLimits
	tenantRL  Limit
	keyRL     Limit
	perTenant map[string]Limit
	now       func() time.Time
	newID     func() string
	log       *slog.Logger
	// Session tokens and CORS (token.go).
	tokenKey    []byte
	tokenTTL    time.Duration
	corsOrigins []string
}

// Option configures New.
type Option func(*config)

// WithBodyLimit sets the largest JSON request body, in bytes (default 1 MiB).
func WithBodyLimit(n int64) Option { return func(c *config) { c.bodyLimit = n } }

// WithImageLimits sets the image limits (default 10 MiB, 200..10000 pixels
// on each side). Zero fields keep their default.
func WithImageLimits(l ImageLimits) Option {
	return func(c *config) {
		if l.MaxBytes > 0 {
			c.images.MaxBytes = l.MaxBytes
		}
		if l.MinWidth > 0 {
			c.images.MinWidth = l.MinWidth
		}
		if l.MinHeight > 0 {
			c.images.MinHeight = l.MinHeight
		}
		if l.MaxWidth > 0 {
			c.images.MaxWidth = l.MaxWidth
		}
		if l.MaxHeight > 0 {
			c.images.MaxHeight = l.MaxHeight
		}
	}
}

// WithRateLimits sets the token buckets every tenant and every API key get
// (default: none). A zero Limit disables that bucket.
func WithRateLimits(perTenant, perKey Limit) Option {
	return func(c *config) { c.tenantRL, c.keyRL = perTenant, perKey }
}

// WithTenantRateLimit overrides the per-tenant bucket of one tenant.
func WithTenantRateLimit(tenant string, l Limit) Option {
	return func(c *config) {
		if c.perTenant == nil {
			c.perTenant = map[string]Limit{}
		}
		c.perTenant[tenant] = l
	}
}

// WithClock sets the clock (timestamps, rate limits).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithIDGenerator sets the session id generator (default: random UUIDv4).
// Ids must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$.
func WithIDGenerator(f func() string) Option { return func(c *config) { c.newID = f } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Gateway is the HTTP API. It is an http.Handler.
type Gateway struct {
	deps    Deps
	cfg     config
	mux     *http.ServeMux
	limiter *limiter
	routes  []route
	// idemLocks serialises requests with one idempotency key; subLocks
	// serialises the submits, uploads and erasures of one session.
	idemLocks keyedMutex
	subLocks  keyedMutex
	// origins are the normalised CORS origins; tokenPatterns the mux
	// patterns of the routes that accept session tokens.
	origins       map[string]bool
	tokenPatterns map[string]bool
}

// New returns the gateway.
func New(deps Deps, opts ...Option) (*Gateway, error) {
	switch {
	case deps.Authenticator == nil:
		return nil, errors.New("gateway: Deps.Authenticator is required")
	case deps.State == nil:
		return nil, errors.New("gateway: Deps.State is required")
	case deps.Blobs == nil:
		return nil, errors.New("gateway: Deps.Blobs is required")
	case deps.Publisher == nil:
		return nil, errors.New("gateway: Deps.Publisher is required")
	}
	cfg := config{
		bodyLimit: DefaultBodyLimit,
		images: ImageLimits{MaxBytes: DefaultImageMaxBytes, MinWidth: DefaultImageMinSide, MinHeight: DefaultImageMinSide,
			MaxWidth: DefaultImageMaxSide, MaxHeight: DefaultImageMaxSide},
		now:      time.Now,
		newID:    newUUID,
		log:      slog.Default(),
		tokenTTL: DefaultTokenTTL,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.bodyLimit <= 0 {
		return nil, errors.New("gateway: body limit must be positive")
	}
	im := cfg.images
	if im.MinWidth > im.MaxWidth || im.MinHeight > im.MaxHeight {
		return nil, fmt.Errorf("gateway: image limits: minimum %dx%d above maximum %dx%d", im.MinWidth, im.MinHeight, im.MaxWidth, im.MaxHeight)
	}
	for _, l := range append([]Limit{cfg.tenantRL, cfg.keyRL}, mapValues(cfg.perTenant)...) {
		if l.Rate < 0 || l.Burst < 0 {
			return nil, errors.New("gateway: rate limits must not be negative")
		}
	}
	if len(cfg.tokenKey) > 0 && len(cfg.tokenKey) < MinTokenKeyLen {
		return nil, fmt.Errorf("gateway: the session token key must be at least %d bytes", MinTokenKeyLen)
	}
	if cfg.tokenTTL <= 0 || cfg.tokenTTL > MaxTokenTTL {
		return nil, fmt.Errorf("gateway: the session token lifetime must be in (0, %s]", MaxTokenTTL)
	}
	origins, err := validateCORSOrigins(cfg.corsOrigins)
	if err != nil {
		return nil, err
	}
	g := &Gateway{deps: deps, cfg: cfg, mux: http.NewServeMux(),
		limiter: newLimiter(cfg.tenantRL, cfg.keyRL, cfg.perTenant), origins: origins, tokenPatterns: map[string]bool{}}
	g.routes = g.table()
	for _, rt := range g.routes {
		pat := rt.method + " " + rt.path
		g.mux.Handle(pat, g.wrap(rt))
		if rt.sessionToken {
			g.tokenPatterns[pat] = true
		}
	}
	g.mux.HandleFunc("/", g.unmatched)
	return g, nil
}

func mapValues(m map[string]Limit) []Limit {
	out := make([]Limit, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// ServeHTTP implements http.Handler.
// OPTIONS requests are CORS preflights (token.go).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		g.preflight(w, r)
		return
	}
	g.mux.ServeHTTP(w, r)
}

// Routes returns the served routes as "METHOD /path/{param}", in the
// OpenAPI document's path syntax.
func (g *Gateway) Routes() []string {
	out := make([]string, len(g.routes))
	for i, rt := range g.routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}

// handlerFunc is a route's handler; a returned *apiError is written as the
// error response, any other error as 500 internal.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p Principal) error

type route struct {
	method, path string
	// scope needed; "" for public routes.
	scope string
	// bodyLimit overrides the JSON body limit (image uploads).
	bodyLimit int64
	// sessionToken: the route also accepts a session token for the
	// session in its path (and answers CORS for configured origins).
	sessionToken bool
	h            handlerFunc
}

func (g *Gateway) table() []route {
	imgLimit := g.cfg.images.MaxBytes + multipartOverhead
	return []route{
		{method: "GET", path: "/v1/openapi.json", h: g.openAPI},
		{method: "POST", path: "/v1/sessions", scope: ScopeWrite, h: g.createSession},
		{method: "GET", path: "/v1/sessions/{id}", scope: ScopeRead, sessionToken: true, h: g.getSession},
		{method: "DELETE", path: "/v1/sessions/{id}", scope: ScopeAdmin, h: g.deleteSession},
		{method: "PUT", path: "/v1/sessions/{id}/document", scope: ScopeWrite, bodyLimit: imgLimit, sessionToken: true, h: g.putDocument},
		{method: "PUT", path: "/v1/sessions/{id}/selfie", scope: ScopeWrite, bodyLimit: imgLimit, sessionToken: true, h: g.putSelfie},
		{method: "POST", path: "/v1/sessions/{id}/selfie/probe", scope: ScopeWrite, bodyLimit: MaxProbeBytes, sessionToken: true, h: g.probeSelfie},
		{method: "POST", path: "/v1/sessions/{id}/submit", scope: ScopeWrite, sessionToken: true, h: g.submitSession},
		{method: "POST", path: "/v1/sessions/{id}/token", scope: ScopeWrite, h: g.issueToken},
		{method: "GET", path: "/v1/sessions/{id}/report", scope: ScopeRead, h: g.getReport},
		{method: "GET", path: "/v1/webhooks/events", scope: ScopeRead, h: g.listWebhookEvents},
		{method: "GET", path: "/v1/webhooks/events/{id}", scope: ScopeRead, h: g.getWebhookEvent},
		{method: "POST", path: "/v1/webhooks/events/{id}/replay", scope: ScopeAdmin, h: g.replayWebhookEvent},
	}
}

// wrap applies, in order: CORS headers (token routes), authentication
// (401), the session token's bounds (401 on a route that does not take
// one, 404 for another session), scope (403), rate limits (429), the body
// limit (413), idempotency (POST), the handler.
func (g *Gateway) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.sessionToken {
			g.corsHeaders(w, r)
		}
		var p Principal
		if rt.scope != "" {
			var ok bool
			if p, ok = g.authenticate(w, r); !ok {
				return
			}
			if p.Session != "" {
				if !rt.sessionToken {
					g.unauthenticated(w, r)
					return
				}
				if r.PathValue("id") != p.Session {
					g.fail(w, r, p, sessionNotFound())
					return
				}
			}
			if !p.Allows(rt.scope) {
				g.fail(w, r, p, errorf(CodeForbidden, "the API key lacks the "+rt.scope+" scope"))
				return
			}
			rlKey := p.KeyID
			if p.Session != "" {
				rlKey = "" // session tokens: the tenant's bucket only
			}
			if ok, wait := g.limiter.allow(p.Tenant, rlKey, g.cfg.now()); !ok {
				w.Header().Set("Retry-After", fmt.Sprint(retryAfter(wait)))
				g.fail(w, r, p, errorf(CodeRateLimited, "rate limit exceeded"))
				return
			}
		}
		limit := g.cfg.bodyLimit
		if rt.bodyLimit > 0 {
			limit = rt.bodyLimit
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h := rt.h
		if rt.method == http.MethodPost && rt.scope != "" {
			h = g.idempotent(h)
		}
		if err := h(w, r, p); err != nil {
			g.fail(w, r, p, err)
		}
	})
}

// fail writes err as the error response and logs it (codes and ids only).
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, p Principal, err error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = errorf(CodePayloadTooLarge, fmt.Sprintf("the body exceeds %d bytes", mbe.Limit))
	default:
		// The cause goes to the log only: store errors may name keys, which
		// are ids, but the client needs nothing of it.
		g.cfg.log.Error("gateway: internal error", "route", r.Pattern, "tenant", p.Tenant,
			"session", r.PathValue("id"), "err", err)
		ae = errorf(CodeInternal, "internal error")
	}
	lvl := slog.LevelDebug
	if errTable.Status(ae.code) >= 500 {
		lvl = slog.LevelWarn
	}
	attrs := []any{"route", r.Pattern, "tenant", p.Tenant, "key", p.KeyID, "id", r.PathValue("id"), "code", ae.code}
	if lvl == slog.LevelWarn {
		attrs = append(attrs, "err", err) // store and broker errors: ids, never personal data
	}
	g.cfg.log.Log(r.Context(), lvl, "gateway: request failed", attrs...)
	writeError(w, ae.code, ae.msg)
}

// unmatched answers requests no route matched: 405 when the path exists
// under another method, else 404.
func (g *Gateway) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pat := g.mux.Handler(r2); pat != "/" && pat != "" {
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

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	if err := httperr.WriteJSON(w, status, v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return nil
}

// idPattern is the shape of session and webhook event ids in paths (the
// intake's session id pattern).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// keyedMutex is a set of mutexes by key, removed when unused.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns its unlock function.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
