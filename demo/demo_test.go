package demo_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/demo"
)

// starter is a Starter returning fixed answers and counting calls.
type starter struct {
	id, token string
	err       error
	calls     int
}

func (s *starter) Start(context.Context) (string, string, error) {
	s.calls++
	return s.id, s.token, s.err
}

func serve(h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPageAndAssets(t *testing.T) {
	h := demo.New(demo.Deps{Starter: &starter{id: "s-1", token: "est_x.y"}})
	r := serve(h, "GET", "/demo", nil)
	require.Equal(t, http.StatusMovedPermanently, r.Code)
	require.Equal(t, "/demo/", r.Header().Get("Location"))

	r = serve(h, "GET", "/demo/", nil)
	require.Equal(t, http.StatusOK, r.Code)
	require.Equal(t, "text/html; charset=utf-8", r.Header().Get("Content-Type"))
	require.Equal(t, "no-cache", r.Header().Get("Cache-Control"))
	csp := r.Header().Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'self'")
	require.Contains(t, csp, "script-src 'self'")
	require.Equal(t, "DENY", r.Header().Get("X-Frame-Options"))
	page := r.Body.String()
	for _, id := range []string{"demo-status", "demo-capture", "demo-result", "demo-outcome", "demo-error", "demo-events", "demo-session-id"} {
		require.Contains(t, page, `data-testid="`+id+`"`)
	}
	// Nothing is loaded from elsewhere: every reference is the node's.
	require.NotRegexp(t, `(src|href)="(https?:)?//`, page)
	refs := regexp.MustCompile(`(?:src|href)="(/demo/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	require.Len(t, refs, 2, "the page names its script and its stylesheet")
	for _, ref := range refs {
		a := serve(h, "GET", ref[1], nil)
		require.Equal(t, http.StatusOK, a.Code, ref[1])
		require.Contains(t, a.Header().Get("Cache-Control"), "immutable")
		switch {
		case strings.HasSuffix(ref[1], ".js"):
			require.Contains(t, a.Header().Get("Content-Type"), "javascript")
			require.NotContains(t, a.Body.String(), "https://", "no external URLs in the bundle")
		case strings.HasSuffix(ref[1], ".css"):
			require.Contains(t, a.Header().Get("Content-Type"), "text/css")
		}
	}
	for _, p := range []string{"/demo/assets/nope.js", "/demo/assets/", "/demo/demo.go", "/demo/other"} {
		require.Equal(t, http.StatusNotFound, serve(h, "GET", p, nil).Code, p)
	}
	// A dotted path is cleaned (redirected) by the mux, never served.
	require.NotEqual(t, http.StatusOK, serve(h, "GET", "/demo/assets/../demo.go", nil).Code)
}

func TestStart(t *testing.T) {
	s := &starter{id: "ses-0001", token: "est_payload.mac"}
	h := demo.New(demo.Deps{Starter: s})
	r := serve(h, "POST", "/demo/api/start", map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"})
	require.Equal(t, http.StatusCreated, r.Code, r.Body.String())
	require.Equal(t, "no-store", r.Header().Get("Cache-Control"))
	var got struct {
		SessionID string `json:"session_id"`
		Token     string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &got))
	require.Equal(t, "ses-0001", got.SessionID)
	require.Equal(t, "est_payload.mac", got.Token)
	require.Equal(t, 1, s.calls)

	// Cross-site: refused before a session is made.
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "https://evil.example"},
		{"Origin": "null"},
	} {
		r := serve(h, "POST", "/demo/api/start", hdr)
		require.Equal(t, http.StatusForbidden, r.Code, "%v", hdr)
	}
	require.Equal(t, 1, s.calls)
	require.Equal(t, http.StatusNotFound, serve(h, "GET", "/demo/api/start", nil).Code)
}

func TestStartFailures(t *testing.T) {
	code := func(h http.Handler) (int, string) {
		r := serve(h, "POST", "/demo/api/start", nil)
		var b struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		body, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(body, &b), "%s", body)
		return r.Code, b.Error.Code
	}
	c, e := code(demo.New(demo.Deps{}))
	require.Equal(t, http.StatusServiceUnavailable, c)
	require.Equal(t, "not_available", e)
	c, e = code(demo.New(demo.Deps{Starter: &starter{err: errors.New("store down at key tenant/demo")}}))
	require.Equal(t, http.StatusServiceUnavailable, c)
	require.Equal(t, "unavailable", e)
	c, e = code(demo.New(demo.Deps{Starter: &starter{id: "../bad", token: "est_x.y"}}))
	require.Equal(t, http.StatusInternalServerError, c)
	require.Equal(t, "internal", e)
	c, _ = code(demo.New(demo.Deps{Starter: &starter{id: "ok-id", token: ""}}))
	require.Equal(t, http.StatusInternalServerError, c)
}

func TestStartRateLimit(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := &starter{id: "ses-1", token: "est_p.m"}
	h := demo.New(demo.Deps{Starter: s, StartsPerMinute: 3, Now: func() time.Time { return now }})
	for i := 0; i < 3; i++ {
		require.Equal(t, http.StatusCreated, serve(h, "POST", "/demo/api/start", nil).Code, "start %d within the burst", i)
	}
	r := serve(h, "POST", "/demo/api/start", nil)
	require.Equal(t, http.StatusTooManyRequests, r.Code)
	require.Equal(t, "20", r.Header().Get("Retry-After"), "3 a minute: one every 20 s")
	require.Equal(t, 3, s.calls, "a refused start makes no session")
	now = now.Add(20 * time.Second)
	require.Equal(t, http.StatusCreated, serve(h, "POST", "/demo/api/start", nil).Code)
	require.Equal(t, http.StatusTooManyRequests, serve(h, "POST", "/demo/api/start", nil).Code)
}
