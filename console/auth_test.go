package console

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	review "github.com/openekyc/ekyc/services/review"
)

func TestLoginSetsCookieAndCSRF(t *testing.T) {
	e := newEnv(t)
	rv := e.reviewer("acme", "alice", review.RoleReviewer)

	r := e.request("POST", "/console/api/login", map[string]string{"tenant": "acme", "username": "alice", "password": password}, nil, nil)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, "no-store", r.Header().Get("Cache-Control"))
	body := r.json(t)
	require.NotEmpty(t, body["csrf_token"])
	require.Equal(t, map[string]any{"id": rv.ID, "username": "alice", "role": "reviewer", "tenant": "acme"}, body["reviewer"])
	cookies := r.Result().Cookies()
	require.Len(t, cookies, 1)
	ck := cookies[0]
	require.Equal(t, CookieName, ck.Name)
	require.Equal(t, "/console", ck.Path)
	require.True(t, ck.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
	require.False(t, ck.Secure, "plain HTTP request")
	require.NotContains(t, r.Body.String(), ck.Value, "the session token is only in the cookie")

	c := e.login("acme", "alice")
	me := c.get("/console/api/me")
	require.Equal(t, http.StatusOK, me.Code)
	require.Equal(t, "no-store", me.Header().Get("Cache-Control"))
	require.Equal(t, rv.ID, me.json(t)["reviewer"].(map[string]any)["id"])
	require.Len(t, e.audit.find("review.login", rv.ID), 2)
}

func TestLoginCookieSecureOverTLS(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	req := `{"tenant":"acme","username":"alice","password":"` + password + `"}`
	r := e.requestURL("POST", "https://ekyc.test/console/api/login", req)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.True(t, r.Result().Cookies()[0].Secure)
}

func TestLoginFailuresLookAlike(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	dis := e.reviewer("acme", "dora", review.RoleReviewer)
	_, err := e.store.SetDisabled(context.Background(), "acme", dis.ID, true)
	require.NoError(t, err)
	e.reviewer("other", "bob", review.RoleReviewer)

	var bodies []string
	for _, tc := range []struct{ name, tenant, user, pass string }{
		{"wrong password", "acme", "alice", "wrong password 123"},
		{"unknown user", "acme", "nobody", password},
		{"disabled", "acme", "dora", password},
		{"other tenant's reviewer", "acme", "bob", password},
		{"unknown tenant", "nope", "alice", password},
	} {
		r := e.request("POST", "/console/api/login", map[string]string{"tenant": tc.tenant, "username": tc.user, "password": tc.pass}, nil, nil)
		require.Equal(t, http.StatusUnauthorized, r.Code, tc.name)
		require.Equal(t, "unauthenticated", r.code(t), tc.name)
		require.Empty(t, r.Result().Cookies(), tc.name)
		bodies = append(bodies, r.Body.String())
	}
	for _, b := range bodies[1:] {
		require.Equal(t, bodies[0], b, "every failure answers the same")
	}
	require.NotContains(t, bodies[0], "alice")
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, WithLoginLimits(Limit{Rate: 1.0 / 60, Burst: 3}, Limit{Rate: 1, Burst: 100}))
	e.reviewer("acme", "alice", review.RoleReviewer)
	bad := map[string]string{"tenant": "acme", "username": "alice", "password": "wrong password 123"}
	for range 3 {
		require.Equal(t, http.StatusUnauthorized, e.request("POST", "/console/api/login", bad, nil, nil).Code)
	}
	r := e.request("POST", "/console/api/login", bad, nil, nil)
	require.Equal(t, http.StatusTooManyRequests, r.Code)
	require.Equal(t, "rate_limited", r.code(t))
	require.Equal(t, "60", r.Header().Get("Retry-After"))
	// The right password is refused too while the bucket is empty (the
	// limit is checked before the password).
	good := map[string]string{"tenant": "acme", "username": "ALICE", "password": password}
	require.Equal(t, http.StatusTooManyRequests, e.request("POST", "/console/api/login", good, nil, nil).Code)
	// Another username is not affected.
	require.Equal(t, http.StatusUnauthorized, e.request("POST", "/console/api/login",
		map[string]string{"tenant": "acme", "username": "mallory", "password": "x"}, nil, nil).Code)

	e.clock.add(time.Minute)
	require.Equal(t, http.StatusOK, e.request("POST", "/console/api/login", good, nil, nil).Code)
	// A success gave its token back: the next attempt still gets through.
	require.Equal(t, http.StatusOK, e.request("POST", "/console/api/login", good, nil, nil).Code)
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	e := newEnv(t, WithLoginLimits(Limit{}, Limit{Rate: 1.0 / 60, Burst: 2}))
	for _, u := range []string{"u1", "u2"} {
		require.Equal(t, http.StatusUnauthorized, e.request("POST", "/console/api/login",
			map[string]string{"tenant": "acme", "username": u, "password": "wrong password 123"}, nil, nil).Code)
	}
	require.Equal(t, http.StatusTooManyRequests, e.request("POST", "/console/api/login",
		map[string]string{"tenant": "acme", "username": "u3", "password": "wrong password 123"}, nil, nil).Code)
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	rv := e.reviewer("acme", "alice", review.RoleReviewer)
	c := e.login("acme", "alice")

	// Without the CSRF token a live login is not ended.
	r := e.request("POST", "/console/api/logout", nil, nil, c.cookie)
	require.Equal(t, http.StatusForbidden, r.Code)
	require.Equal(t, "csrf_failed", r.code(t))
	require.Equal(t, http.StatusOK, c.get("/console/api/me").Code)

	r = c.post("/console/api/logout", nil)
	require.Equal(t, http.StatusNoContent, r.Code)
	ck := r.Result().Cookies()
	require.Len(t, ck, 1)
	require.Equal(t, -1, ck[0].MaxAge)
	me := c.get("/console/api/me")
	require.Equal(t, http.StatusUnauthorized, me.Code)
	require.Equal(t, "unauthenticated", me.code(t))
	require.Len(t, e.audit.find("review.logout", rv.ID), 1)
}

func TestAuthenticatedEndpointsNeedTheCookie(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/console/api/me", "/console/api/cases", "/console/api/cases/x", "/console/api/cases/x/images/selfie"} {
		r := e.request("GET", p, nil, nil, nil)
		require.Equal(t, http.StatusUnauthorized, r.Code, p)
		require.Equal(t, "no-store", r.Header().Get("Cache-Control"))
		r = e.request("GET", p, nil, nil, &http.Cookie{Name: CookieName, Value: "forged"})
		require.Equal(t, http.StatusUnauthorized, r.Code, p)
	}
}

func TestPOSTsNeedCSRFAndSameOrigin(t *testing.T) {
	e := newEnv(t)
	e.reviewer("acme", "alice", review.RoleReviewer)
	k := e.openCase("acme", "s1", []string{"DOC_EXPIRED"})
	c := e.login("acme", "alice")
	path := casePath(k.ID, "claim")

	for _, tc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"no CSRF header", map[string]string{}},
		{"wrong CSRF token", map[string]string{CSRFHeader: "not-the-token"}},
		{"another login's token", map[string]string{CSRFHeader: e.loginOther(t).csrf}},
		{"cross-origin", map[string]string{CSRFHeader: c.csrf, "Origin": "https://evil.example"}},
		{"null origin", map[string]string{CSRFHeader: c.csrf, "Origin": "null"}},
		{"other scheme", map[string]string{CSRFHeader: c.csrf, "Origin": "https://ekyc.test"}},
		{"cross-site fetch", map[string]string{CSRFHeader: c.csrf, "Sec-Fetch-Site": "cross-site"}},
	} {
		r := e.request("POST", path, map[string]any{}, tc.hdr, c.cookie)
		require.Equal(t, http.StatusForbidden, r.Code, tc.name)
		require.Equal(t, "csrf_failed", r.code(t), tc.name)
	}
	require.Equal(t, review.StateOpen, e.stored("acme", k.ID).State, "nothing changed")
	require.Empty(t, e.audit.find("review.claim", ""))

	// A cross-origin login is refused too (login CSRF).
	r := e.request("POST", "/console/api/login", map[string]string{"tenant": "acme", "username": "alice", "password": password},
		map[string]string{"Origin": "https://evil.example"}, nil)
	require.Equal(t, http.StatusForbidden, r.Code)

	// Same origin, no Origin header, and a wrong content type.
	r = e.request("POST", path, "{}", map[string]string{CSRFHeader: c.csrf, "Content-Type": "text/plain"}, c.cookie)
	require.Equal(t, http.StatusUnsupportedMediaType, r.Code)
	r = e.request("POST", path, map[string]any{}, map[string]string{CSRFHeader: c.csrf}, c.cookie)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
	require.Equal(t, review.StateAssigned, e.stored("acme", k.ID).State)
}

func TestAllowedOrigins(t *testing.T) {
	e := newEnv(t, WithAllowedOrigins("https://console.example.com/"))
	e.reviewer("acme", "alice", review.RoleReviewer)
	k := e.openCase("acme", "s1", []string{"DOC_EXPIRED"})
	c := e.login("acme", "alice")
	r := e.request("POST", casePath(k.ID, "claim"), map[string]any{},
		map[string]string{CSRFHeader: c.csrf, "Origin": "https://console.example.com"}, c.cookie)
	require.Equal(t, http.StatusOK, r.Code, r.Body.String())
}

func (e *env) loginOther(t *testing.T) *client {
	t.Helper()
	e.reviewer("acme", "other-reviewer", review.RoleReviewer)
	return e.login("acme", "other-reviewer")
}

func TestNewRequiresDeps(t *testing.T) {
	_, err := New(Deps{})
	require.Error(t, err)
	e := newEnv(t)
	_, err = New(Deps{Reviews: e.store, Evidence: e.evidence, Publisher: e.pub, Auditor: e.audit}, WithDerivedImages("../x"))
	require.Error(t, err)
	_, err = New(Deps{Reviews: e.store, Evidence: e.evidence, Publisher: e.pub, Auditor: e.audit}, WithBodyLimit(0))
	require.Error(t, err)
}

func TestDocsListEveryErrorCodeAndRoute(t *testing.T) {
	b, err := os.ReadFile("../docs/console-api.md")
	require.NoError(t, err)
	doc := string(b)
	for _, spec := range Errors {
		require.Contains(t, doc, "`"+string(spec.Code)+"`", "docs/console-api.md lacks error code %s", spec.Code)
	}
	e := newEnv(t)
	for _, rt := range e.console.Routes() {
		require.Contains(t, doc, "`"+rt+"`", "docs/console-api.md lacks route %s", rt)
	}
	require.True(t, strings.Contains(doc, CookieName))
}
