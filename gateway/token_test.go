package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/gateway"
)

var testTokenKey = bytes.Repeat([]byte{0x5a}, 32)

// token issues a session token for id with key and returns it.
func (h *harness) token(key, id string) (string, time.Time) {
	h.t.Helper()
	r := h.do("POST", "/v1/sessions/"+id+"/token", nil, withKey(key))
	require.Equal(h.t, http.StatusCreated, r.Status, "%s", r.Body)
	m := r.json(h.t)
	tok := m["token"].(string)
	exp, err := time.Parse(time.RFC3339, m["expires_at"].(string))
	require.NoError(h.t, err)
	return tok, exp
}

func TestSessionTokenCompletesItsSession(t *testing.T) {
	h := newHarness(t, nil, gateway.WithTokenKey(testTokenKey))
	id := h.create(keyAWrite, "document", "face")
	tok, exp := h.token(keyAWrite, id)
	require.True(t, strings.HasPrefix(tok, gateway.SessionTokenPrefix))
	require.Equal(t, h.clock.Now().Add(gateway.DefaultTokenTTL).UTC(), exp)
	require.NotContains(t, tok, piiSurname)

	r := h.do("GET", "/v1/sessions/"+id, nil, withKey(tok))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "created", r.json(t)["status"])
	r = h.upload(tok, id, "document?side=front", readFace(t, "obama.jpg"), "image/jpeg")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	body, ct := multipartBody(t, "file", "selfie.png", "image/png", pngOf(t, "obama2.jpg"))
	r = h.do("PUT", "/v1/sessions/"+id+"/selfie", body, withKey(tok), withContentType(ct))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = h.do("POST", "/v1/sessions/"+id+"/submit", nil, withKey(tok), withIdempotencyKey("browser-submit-1"))
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	require.Len(t, h.pub.published(), 1)
	require.Equal(t, "tenant-a", h.pub.published()[0].GetTenantId())
	require.Equal(t, id, h.pub.published()[0].GetSessionId())
	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(tok))
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "submitted", r.json(t)["status"])
	// After the submit the token can no longer change the session.
	r = h.upload(tok, id, "selfie", readFace(t, "obama.jpg"), "image/jpeg")
	require.Equal(t, http.StatusConflict, r.Status)

	require.Contains(t, h.audit.actions(), "tenant-a ka-write session.token_issued "+id)
	require.Contains(t, h.audit.actions(), "tenant-a session-token:"+id+" session.submitted "+id, "the audit names the token's session as the actor")
	require.NotContains(t, h.logs.String(), tok, "tokens are secrets: never logged")
}

func TestSessionTokenIsBoundToItsSessionAndRoutes(t *testing.T) {
	h := newHarness(t, nil, gateway.WithTokenKey(testTokenKey))
	id := h.ready(keyAWrite)
	other := h.ready(keyAWrite)
	idB := h.ready(keyBWrite)
	h.hooks.add("tenant-a", gateway.WebhookEvent{ID: "ev-1", SessionID: id, Type: "verification.decided", Status: "delivered"})
	tok, _ := h.token(keyAWrite, id)

	// Another session of the same tenant, or of another tenant: 404, as if
	// it did not exist.
	for _, sid := range []string{other, idB} {
		r := h.do("GET", "/v1/sessions/"+sid, nil, withKey(tok))
		require.Equal(t, http.StatusNotFound, r.Status)
		require.Equal(t, "not_found", r.errCode(t))
		r = h.upload(tok, sid, "selfie", readFace(t, "obama.jpg"), "image/jpeg")
		require.Equal(t, http.StatusNotFound, r.Status)
		r = h.do("POST", "/v1/sessions/"+sid+"/submit", nil, withKey(tok))
		require.Equal(t, http.StatusNotFound, r.Status)
	}
	// Routes that never take a session token: 401, even for its session.
	calls := []struct {
		method, path string
		body         []byte
	}{
		{"POST", "/v1/sessions", jsonBody(createBody("screening"))},
		{"GET", "/v1/sessions/" + id + "/report", nil},
		{"DELETE", "/v1/sessions/" + id, nil},
		{"POST", "/v1/sessions/" + id + "/token", nil},
		{"GET", "/v1/webhooks/events", nil},
		{"GET", "/v1/webhooks/events/ev-1", nil},
		{"POST", "/v1/webhooks/events/ev-1/replay", nil},
	}
	for _, c := range calls {
		r := h.do(c.method, c.path, c.body, withKey(tok))
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s %s", c.method, c.path)
		require.Equal(t, "unauthenticated", r.errCode(t))
	}
	require.Empty(t, h.pub.published())
	require.Empty(t, h.eraser.calls())
	require.Empty(t, h.hooks.replayed())
	require.Equal(t, 3, h.idsIssued(), "no session was created with the token")
}

func TestSessionTokenExpiredOrTampered(t *testing.T) {
	h := newHarness(t, nil, gateway.WithTokenKey(testTokenKey), gateway.WithTokenTTL(5*time.Minute))
	id := h.create(keyAWrite, "document")
	other := h.create(keyAWrite, "document")
	tok, exp := h.token(keyAWrite, id)
	require.Equal(t, h.clock.Now().Add(5*time.Minute).UTC(), exp)

	get := func(tok string) resp {
		return h.do("GET", "/v1/sessions/"+id, nil, withKey(tok))
	}
	require.Equal(t, http.StatusOK, get(tok).Status)

	payload, mac, ok := strings.Cut(strings.TrimPrefix(tok, gateway.SessionTokenPrefix), ".")
	require.True(t, ok)
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	require.NoError(t, err)
	// The payload rewritten to name another session, the old MAC kept.
	forged := bytes.Replace(raw, []byte(id), []byte(other), 1)
	require.NotEqual(t, raw, forged)
	otherTok, _ := h.token(keyAWrite, other)
	otherPayload, otherMAC, _ := strings.Cut(strings.TrimPrefix(otherTok, gateway.SessionTokenPrefix), ".")
	// A token of another gateway key.
	h2 := newHarness(t, nil, gateway.WithTokenKey(bytes.Repeat([]byte{0x33}, 32)))
	id2 := h2.create(keyAWrite, "document")
	require.Equal(t, id, id2, "both harnesses number sessions alike")
	foreign, _ := h2.token(keyAWrite, id2)

	flip := []byte(mac)
	if flip[0] == 'A' {
		flip[0] = 'B'
	} else {
		flip[0] = 'A'
	}
	bad := map[string]string{
		"forged payload":   gateway.SessionTokenPrefix + base64.RawURLEncoding.EncodeToString(forged) + "." + mac,
		"swapped MAC":      gateway.SessionTokenPrefix + payload + "." + otherMAC,
		"other payload":    gateway.SessionTokenPrefix + otherPayload + "." + mac,
		"flipped MAC":      gateway.SessionTokenPrefix + payload + "." + string(flip),
		"no MAC":           gateway.SessionTokenPrefix + payload,
		"empty MAC":        gateway.SessionTokenPrefix + payload + ".",
		"not base64":       gateway.SessionTokenPrefix + "!!!." + mac,
		"other key":        foreign,
		"prefix only":      gateway.SessionTokenPrefix,
		"garbage":          gateway.SessionTokenPrefix + "x.y",
		"truncated":        tok[:len(tok)-3],
		"uppercase prefix": strings.ToUpper(gateway.SessionTokenPrefix) + payload + "." + mac,
	}
	for name, b := range bad {
		r := get(b)
		require.Equal(t, http.StatusUnauthorized, r.Status, name)
		require.Equal(t, "unauthenticated", r.errCode(t), name)
	}

	// Valid until its expiry, not at it.
	h.clock.Advance(5*time.Minute - time.Second)
	require.Equal(t, http.StatusOK, get(tok).Status)
	h.clock.Advance(time.Second)
	r := get(tok)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	r = h.upload(tok, id, "document", readFace(t, "obama.jpg"), "image/jpeg")
	require.Equal(t, http.StatusUnauthorized, r.Status)
	// A fresh token works again.
	tok2, _ := h.token(keyAWrite, id)
	require.Equal(t, http.StatusOK, get(tok2).Status)
}

func TestSessionTokenEndpointRules(t *testing.T) {
	h := newHarness(t, nil, gateway.WithTokenKey(testTokenKey))
	id := h.create(keyAWrite, "document")
	idB := h.create(keyBWrite, "document")

	r := h.do("POST", "/v1/sessions/"+id+"/token", nil, withKey(keyARead))
	require.Equal(t, http.StatusForbidden, r.Status)
	r = h.do("POST", "/v1/sessions/"+idB+"/token", nil, withKey(keyAWrite))
	require.Equal(t, http.StatusNotFound, r.Status, "another tenant's session")
	r = h.do("POST", "/v1/sessions/nope-404/token", nil, withKey(keyAWrite))
	require.Equal(t, http.StatusNotFound, r.Status)
	r = h.do("POST", "/v1/sessions/"+id+"/token", nil, withKey(""))
	require.Equal(t, http.StatusUnauthorized, r.Status)

	// An idempotent retry gets the same token back.
	r1 := h.do("POST", "/v1/sessions/"+id+"/token", nil, withIdempotencyKey("tok-1"))
	require.Equal(t, http.StatusCreated, r1.Status)
	r2 := h.do("POST", "/v1/sessions/"+id+"/token", nil, withIdempotencyKey("tok-1"))
	require.Equal(t, http.StatusCreated, r2.Status)
	require.Equal(t, "true", r2.Header.Get("Idempotent-Replayed"))
	require.Equal(t, r1.Body, r2.Body)

	// An erased session gets no token; the tokens it had read an erased
	// session.
	tok, _ := h.token(keyAWrite, id)
	r = h.do("DELETE", "/v1/sessions/"+id, nil, withKey(keyAAdmin))
	require.Equal(t, http.StatusNoContent, r.Status)
	r = h.do("POST", "/v1/sessions/"+id+"/token", nil)
	require.Equal(t, http.StatusConflict, r.Status)
	require.Equal(t, "session_not_modifiable", r.errCode(t))
	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(tok))
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "erased", r.json(t)["status"])
	r = h.upload(tok, id, "document", readFace(t, "obama.jpg"), "image/jpeg")
	require.Equal(t, http.StatusConflict, r.Status)
}

func TestSessionTokensOffWithoutKey(t *testing.T) {
	h := newHarness(t, nil)
	id := h.create(keyAWrite, "document")
	r := h.do("POST", "/v1/sessions/"+id+"/token", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.Equal(t, "not_available", r.errCode(t))

	// A token some other node signed is just an unknown credential here.
	other := newHarness(t, nil, gateway.WithTokenKey(testTokenKey))
	oid := other.create(keyAWrite, "document")
	require.Equal(t, id, oid)
	tok, _ := other.token(keyAWrite, oid)
	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(tok))
	require.Equal(t, http.StatusUnauthorized, r.Status)
}

func TestNewRejectsBadTokenAndCORSOptions(t *testing.T) {
	h := newHarness(t, nil)
	for name, opts := range map[string][]gateway.Option{
		"short key":      {gateway.WithTokenKey([]byte("too short"))},
		"zero ttl":       {gateway.WithTokenTTL(0)},
		"long ttl":       {gateway.WithTokenTTL(gateway.MaxTokenTTL + time.Second)},
		"wildcard":       {gateway.WithCORSOrigins([]string{"*"})},
		"with path":      {gateway.WithCORSOrigins([]string{"https://shop.example/app"})},
		"no scheme":      {gateway.WithCORSOrigins([]string{"shop.example"})},
		"other scheme":   {gateway.WithCORSOrigins([]string{"ftp://shop.example"})},
		"wildcard sub":   {gateway.WithCORSOrigins([]string{"https://*.shop.example"})},
		"empty":          {gateway.WithCORSOrigins([]string{""})},
		"with user info": {gateway.WithCORSOrigins([]string{"https://u@shop.example"})},
	} {
		deps := gateway.Deps{Authenticator: newKeyTable(), State: h.state, Blobs: h.blobs, Publisher: h.pub}
		_, err := gateway.New(deps, opts...)
		require.Error(t, err, name)
	}
}

// preflight sends a CORS preflight as a browser would.
func preflight(g http.Handler, path, origin, method string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodOptions, path, nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Access-Control-Request-Method", method)
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	return rec
}

func TestCORSForTokenRoutes(t *testing.T) {
	const shop = "https://shop.example"
	h := newHarness(t, nil, gateway.WithTokenKey(testTokenKey), gateway.WithCORSOrigins([]string{shop + "/", "http://localhost:5173"}))
	id := h.create(keyAWrite, "document", "face")
	tok, _ := h.token(keyAWrite, id)

	for path, methods := range map[string]string{
		"/v1/sessions/" + id:               "GET",
		"/v1/sessions/" + id + "/document": "PUT",
		"/v1/sessions/" + id + "/selfie":   "PUT",
		"/v1/sessions/" + id + "/submit":   "POST",
	} {
		rec := preflight(h.g, path, shop, methods)
		require.Equal(t, http.StatusNoContent, rec.Code, path)
		require.Equal(t, shop, rec.Header().Get("Access-Control-Allow-Origin"))
		require.Equal(t, methods, rec.Header().Get("Access-Control-Allow-Methods"), path)
		require.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "Authorization")
		require.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "Content-Type")
		require.Contains(t, rec.Header().Values("Vary"), "Origin")
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"), "no cookies: the token travels in a header")

		rec = preflight(h.g, path, "https://evil.example", methods)
		require.Equal(t, http.StatusForbidden, rec.Code)
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
		rec = preflight(h.g, path, "", methods)
		require.Equal(t, http.StatusForbidden, rec.Code)
	}
	// Origins compare case-insensitively, as configured without the slash.
	rec := preflight(h.g, "/v1/sessions/"+id, "HTTP://LOCALHOST:5173", "GET")
	require.Equal(t, http.StatusNoContent, rec.Code)
	// Routes that do not take tokens are not offered to browsers.
	for _, path := range []string{"/v1/sessions", "/v1/sessions/" + id + "/report", "/v1/sessions/" + id + "/token", "/v1/webhooks/events"} {
		rec := preflight(h.g, path, shop, "POST")
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code, path)
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), path)
	}
	rec = preflight(h.g, "/v1/nothing", shop, "GET")
	require.Equal(t, http.StatusNotFound, rec.Code)

	// The actual requests carry the header for the allowed origin only,
	// errors included (so the page can read them).
	r := h.do("GET", "/v1/sessions/"+id, nil, withKey(tok), withHeader("Origin", shop))
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, shop, r.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, r.Header.Get("Access-Control-Expose-Headers"), "Retry-After")
	r = h.do("POST", "/v1/sessions/"+id+"/submit", nil, withKey(tok), withHeader("Origin", shop))
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Equal(t, shop, r.Header.Get("Access-Control-Allow-Origin"))
	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(tok), withHeader("Origin", "https://evil.example"))
	require.Equal(t, http.StatusOK, r.Status, "CORS is the browser's to enforce; the token authenticates")
	require.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
	r = h.do("GET", "/v1/sessions/"+id+"/report", nil, withKey(keyAWrite), withHeader("Origin", shop))
	require.Equal(t, http.StatusOK, r.Status)
	require.Empty(t, r.Header.Get("Access-Control-Allow-Origin"), "the report is never for browsers")
}

func TestCORSOffByDefault(t *testing.T) {
	h := newHarness(t, nil, gateway.WithTokenKey(testTokenKey))
	id := h.create(keyAWrite, "document")
	rec := preflight(h.g, "/v1/sessions/"+id, "https://shop.example", "GET")
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	r := h.do("GET", "/v1/sessions/"+id, nil, withHeader("Origin", "https://shop.example"))
	require.Equal(t, http.StatusOK, r.Status)
	require.Empty(t, r.Header.Get("Access-Control-Allow-Origin"))
	require.Empty(t, r.Header.Get("Vary"))
}

func TestSessionTokensTakeFromTheTenantBucketOnly(t *testing.T) {
	h := newHarness(t, nil, gateway.WithTokenKey(testTokenKey),
		gateway.WithRateLimits(gateway.Limit{Rate: 0.001, Burst: 6}, gateway.Limit{Rate: 0.001, Burst: 2}))
	id := h.create(keyAWrite, "document") // tenant 1, key 1
	tok, _ := h.token(keyAWrite, id)      // tenant 2, key 2: the key's bucket is empty now
	r := h.do("GET", "/v1/sessions/"+id, nil, withKey(keyAWrite))
	require.Equal(t, http.StatusTooManyRequests, r.Status, "the API key's own bucket is spent")
	// The token is not the key: its requests take from the tenant's bucket
	// (2 of 6 used; a refused request takes nothing), so 4 more pass, then
	// the tenant's limit holds.
	for i := 0; i < 4; i++ {
		r = h.do("GET", "/v1/sessions/"+id, nil, withKey(tok))
		require.Equal(t, http.StatusOK, r.Status, "request %d", i)
	}
	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(tok))
	require.Equal(t, http.StatusTooManyRequests, r.Status)
	require.NotEmpty(t, r.Header.Get("Retry-After"))
}

func TestStartSessionForAnInProcessPage(t *testing.T) {
	h := newHarness(t, nil, gateway.WithTokenKey(testTokenKey))
	ctx := context.Background()
	id, tok, exp, err := h.g.StartSession(ctx, "tenant-a", "demo-page", []string{"document", "face"})
	require.NoError(t, err)
	require.Equal(t, h.clock.Now().Add(gateway.DefaultTokenTTL).UTC(), exp)
	require.Contains(t, h.audit.actions(), "tenant-a demo-page session.created "+id)
	require.Contains(t, h.audit.actions(), "tenant-a demo-page session.token_issued "+id)

	// The token is an ordinary session token for that session.
	r := h.do("GET", "/v1/sessions/"+id, nil, withKey(tok))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	m := r.json(t)
	require.Equal(t, "created", m["status"])
	require.Equal(t, []any{"document", "face"}, m["requested_checks"])
	// ... and the session belongs to its tenant only.
	r = h.do("GET", "/v1/sessions/"+id, nil, withKey(keyBWrite))
	require.Equal(t, http.StatusNotFound, r.Status)

	// What the API refuses, StartSession refuses with the API's message.
	_, _, _, err = h.g.StartSession(ctx, "tenant-a", "demo-page", []string{"screening"})
	require.ErrorContains(t, err, "a name is required")
	_, _, _, err = h.g.StartSession(ctx, "tenant-a", "demo-page", nil)
	require.ErrorContains(t, err, "at least one check")

	off := newHarness(t, nil)
	_, _, _, err = off.g.StartSession(ctx, "tenant-a", "demo-page", []string{"face"})
	require.ErrorIs(t, err, gateway.ErrTokensNotConfigured)
	require.Zero(t, off.idsIssued(), "nothing created without tokens")
}
