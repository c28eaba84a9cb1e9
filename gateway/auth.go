package gateway

import (
	"errors"
	"net/http"
	"strings"
)

// maxSecretLen bounds the bearer token handed to the Authenticator.
const maxSecretLen = 512

// authenticate resolves the request's bearer token. On failure it has
// written the 401 (or 503) response. Unknown, revoked and malformed keys
// get the same answer.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request) (Principal, bool) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" || len(secret) > maxSecretLen {
		g.unauthenticated(w, r)
		return Principal{}, false
	}
	if len(g.cfg.tokenKey) > 0 && strings.HasPrefix(secret, SessionTokenPrefix) {
		tenant, session, err := verifyToken(g.cfg.tokenKey, secret, g.cfg.now())
		if err != nil {
			g.unauthenticated(w, r)
			return Principal{}, false
		}
		return tokenPrincipal(tenant, session), true
	}
	p, err := g.deps.Authenticator.Authenticate(r.Context(), secret)
	switch {
	case errors.Is(err, ErrUnauthenticated):
		g.unauthenticated(w, r)
		return Principal{}, false
	case err != nil:
		g.cfg.log.Warn("gateway: authenticator failed", "route", r.Pattern, "err", err)
		writeError(w, CodeUnavailable, "authentication is unavailable, retry")
		return Principal{}, false
	case p.Tenant == "" || p.KeyID == "" || p.Session != "":
		g.cfg.log.Error("gateway: authenticator returned a principal without tenant or key id, or with a session", "route", r.Pattern)
		writeError(w, CodeInternal, "internal error")
		return Principal{}, false
	}
	return p, true
}

func (g *Gateway) unauthenticated(w http.ResponseWriter, r *http.Request) {
	g.cfg.log.Debug("gateway: unauthenticated", "route", r.Pattern)
	w.Header().Set("WWW-Authenticate", `Bearer realm="ekyc"`)
	writeError(w, CodeUnauthenticated, "a valid API key or session token is required (Authorization: Bearer <key>)")
}
