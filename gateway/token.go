package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/openekyc/ekyc/store/apistate"
)

// Session tokens let a browser (the web SDK on a tenant's page) act on one
// session without ever holding the tenant's API key. The tenant's server
// creates the session with its key, asks POST /v1/sessions/{id}/token for a
// token and hands the token to the page.
//
// A token is stateless: "est_" + base64url(payload) + "." +
// base64url(HMAC-SHA256(key, domain || payload)), the payload being
// {"v":1,"t":tenant,"s":session,"e":expiry unix seconds}. The key is the
// gateway's WithTokenKey secret (the node derives it from its master key),
// so any node with the same key verifies any node's tokens and nothing is
// stored. The consequence is that a token cannot be revoked before it
// expires; what it can do is bounded instead: it reads the status of its
// one session, uploads its images and submits it — uploads and submits
// stop being accepted once the session is submitted or erased, and an
// erased session's status carries no data. Hence the short lifetime
// (DefaultTokenTTL).
//
// The payload is not secret (tenant and session ids, no personal data) but
// is authenticated: any change to it, or to the MAC, is 401, as is an
// expired token.

// SessionTokenPrefix starts every session token, which tells it apart
// from an API key without a lookup.
const SessionTokenPrefix = "est_"

// Session token defaults and bounds.
const (
	DefaultTokenTTL = 30 * time.Minute
	MaxTokenTTL     = 24 * time.Hour
	// MinTokenKeyLen is the shortest WithTokenKey secret accepted.
	MinTokenKeyLen = 32
)

// tokenDomain separates this MAC from any other use of the key.
const tokenDomain = "ekyc-gateway-session-token-v1\x00"

// WithTokenKey enables session tokens (POST /v1/sessions/{id}/token and
// Authorization: Bearer est_... on the session routes) with key, the HMAC
// secret: at least MinTokenKeyLen random bytes, the same on every node.
// Without it the token endpoint answers 503 not_available and session
// tokens are refused like unknown API keys.
func WithTokenKey(key []byte) Option {
	return func(c *config) { c.tokenKey = append([]byte(nil), key...) }
}

// WithTokenTTL sets how long a session token lives (default
// DefaultTokenTTL, at most MaxTokenTTL).
func WithTokenTTL(d time.Duration) Option { return func(c *config) { c.tokenTTL = d } }

// WithCORSOrigins lists the origins ("https://shop.example.com") whose
// pages may call the routes that accept session tokens from the browser:
// those routes answer CORS preflight requests (OPTIONS) and set
// Access-Control-Allow-Origin for them. None by default: same-origin
// pages only. "*" is not accepted: name the origins.
func WithCORSOrigins(origins []string) Option {
	return func(c *config) { c.corsOrigins = append(c.corsOrigins, origins...) }
}

type tokenPayload struct {
	V int    `json:"v"`
	T string `json:"t"`
	S string `json:"s"`
	E int64  `json:"e"`
}

var b64 = base64.RawURLEncoding

// errBadToken is any token that does not verify: malformed, tampered,
// signed with another key, or expired. Callers do not tell them apart.
var errBadToken = errors.New("gateway: invalid session token")

// signToken returns the token for (tenant, session) expiring at exp.
func signToken(key []byte, tenant, session string, exp time.Time) string {
	payload, _ := json.Marshal(tokenPayload{V: 1, T: tenant, S: session, E: exp.Unix()})
	p := b64.EncodeToString(payload)
	return SessionTokenPrefix + p + "." + b64.EncodeToString(tokenMAC(key, p))
}

func tokenMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tokenDomain))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// verifyToken checks the token's MAC (in constant time) and expiry and
// returns its tenant and session.
func verifyToken(key []byte, token string, now time.Time) (tenant, session string, err error) {
	rest, ok := strings.CutPrefix(token, SessionTokenPrefix)
	if !ok {
		return "", "", errBadToken
	}
	p, mac, ok := strings.Cut(rest, ".")
	if !ok || p == "" || mac == "" {
		return "", "", errBadToken
	}
	got, err := b64.DecodeString(mac)
	if err != nil || !hmac.Equal(got, tokenMAC(key, p)) {
		return "", "", errBadToken
	}
	raw, err := b64.DecodeString(p)
	if err != nil {
		return "", "", errBadToken
	}
	var tp tokenPayload
	if err := json.Unmarshal(raw, &tp); err != nil || tp.V != 1 || tp.T == "" || !idPattern.MatchString(tp.S) {
		return "", "", errBadToken
	}
	if !now.Before(time.Unix(tp.E, 0)) {
		return "", "", errBadToken
	}
	return tp.T, tp.S, nil
}

// tokenPrincipal is the principal of a verified session token. Its key id
// names the session, so the per-key rate limit is per session and the
// audit log shows which session's token acted.
func tokenPrincipal(tenant, session string) Principal {
	return Principal{Tenant: tenant, KeyID: "session-token:" + session, Scopes: []string{ScopeWrite}, Session: session}
}

type tokenIssued struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// issueToken: POST /v1/sessions/{id}/token.
func (g *Gateway) issueToken(w http.ResponseWriter, r *http.Request, p Principal) error {
	if len(g.cfg.tokenKey) == 0 {
		return errorf(CodeNotAvailable, "session tokens are not configured on this node")
	}
	// No body is defined; whatever is sent is ignored but bounded.
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return err
	}
	d, _, err := g.loadSession(r, p)
	if err != nil {
		return err
	}
	if d != nil && d.Status == apistate.StatusErased {
		return errorf(CodeConflict, "the session was erased")
	}
	id := r.PathValue("id")
	exp := g.cfg.now().Add(g.cfg.tokenTTL).Truncate(time.Second)
	tok := signToken(g.cfg.tokenKey, p.Tenant, id, exp)
	g.audit(r, p, "session.token_issued", id, map[string]string{"expires_at": exp.UTC().Format(time.RFC3339)})
	g.cfg.log.Info("gateway: session token issued", "tenant", p.Tenant, "session", id)
	return writeJSON(w, http.StatusCreated, tokenIssued{Token: tok, ExpiresAt: exp.UTC()})
}

// ----------------------------------------------------------------- CORS ---

// corsAllowHeaders are the request headers a browser may send to the
// token routes.
const corsAllowHeaders = "Authorization, Content-Type, Idempotency-Key"

// corsExposeHeaders are the response headers its script may read.
const corsExposeHeaders = "Retry-After, Idempotent-Replayed"

// corsMaxAge is how long a browser may cache a preflight answer, seconds.
const corsMaxAge = "600"

func normOrigin(o string) string {
	return strings.ToLower(strings.TrimRight(strings.TrimSpace(o), "/"))
}

// allowedOrigin reports whether the request's Origin is configured.
func (g *Gateway) allowedOrigin(r *http.Request) (string, bool) {
	o := r.Header.Get("Origin")
	if o == "" || len(g.origins) == 0 {
		return "", false
	}
	return o, g.origins[normOrigin(o)]
}

// corsHeaders sets the CORS response headers of a token route for an
// allowed origin.
func (g *Gateway) corsHeaders(w http.ResponseWriter, r *http.Request) {
	if len(g.origins) == 0 {
		return
	}
	w.Header().Add("Vary", "Origin")
	if o, ok := g.allowedOrigin(r); ok {
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Set("Access-Control-Expose-Headers", corsExposeHeaders)
	}
}

// preflight answers OPTIONS. For a path of a route that accepts session
// tokens, requested from an allowed origin, it is 204 with the CORS
// headers; a disallowed origin is 403 (the browser then blocks the
// request); any other path is 405 like every unserved method.
func (g *Gateway) preflight(w http.ResponseWriter, r *http.Request) {
	var methods []string
	for _, m := range []string{"GET", "PUT", "POST"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pat := g.mux.Handler(r2); g.tokenPatterns[pat] {
			methods = append(methods, m)
		}
	}
	if len(methods) == 0 {
		g.unmatched(w, r)
		return
	}
	w.Header().Add("Vary", "Origin")
	o, ok := g.allowedOrigin(r)
	if !ok {
		writeError(w, CodeForbidden, "the origin is not allowed to call this API from a browser")
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", o)
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// validateCORSOrigins checks the configured origins: scheme://host[:port],
// no path, no wildcard.
func validateCORSOrigins(origins []string) (map[string]bool, error) {
	m := map[string]bool{}
	for _, o := range origins {
		n := normOrigin(o)
		scheme, host, ok := strings.Cut(n, "://")
		if !ok || (scheme != "https" && scheme != "http") || host == "" || strings.ContainsAny(host, "/*?#@ ") {
			return nil, fmt.Errorf("gateway: CORS origin %q: want scheme://host[:port]", o)
		}
		m[n] = true
	}
	return m, nil
}

// ErrTokensNotConfigured is returned by StartSession when the gateway has
// no WithTokenKey.
var ErrTokensNotConfigured = errors.New("gateway: session tokens are not configured")

// StartSession creates a session for tenant with checks and no applicant
// data, exactly as POST /v1/sessions would (same validation, draft and
// audit entry, actor names the caller in the audit log), and issues its
// session token. It is the server side of a capture page run in the same
// process (the node's /demo): the page then uses only the token. A request
// the API would refuse returns an error whose message is the API's.
func (g *Gateway) StartSession(ctx context.Context, tenant, actor string, checks []string) (session, token string, expires time.Time, err error) {
	if len(g.cfg.tokenKey) == 0 {
		return "", "", time.Time{}, ErrTokensNotConfigured
	}
	p := Principal{Tenant: tenant, KeyID: actor, Scopes: []string{ScopeWrite}}
	out, err := g.newSession(ctx, p, createSessionRequest{Checks: checks})
	if err != nil {
		return "", "", time.Time{}, err
	}
	exp := g.cfg.now().Add(g.cfg.tokenTTL).Truncate(time.Second)
	g.auditCtx(ctx, p, "session.token_issued", out.ID, map[string]string{"expires_at": exp.UTC().Format(time.RFC3339)})
	return out.ID, signToken(g.cfg.tokenKey, tenant, out.ID, exp), exp.UTC(), nil
}
