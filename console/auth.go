package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	reviewstore "github.com/openekyc/ekyc/store/review"
)

type reviewerJSON struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	Tenant   string `json:"tenant"`
}

func reviewerView(r reviewstore.Reviewer) reviewerJSON {
	return reviewerJSON{ID: r.ID, Username: r.Username, Role: string(r.Role), Tenant: r.Tenant}
}

type loginRequest struct {
	Tenant   string `json:"tenant"`
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Reviewer  reviewerJSON `json:"reviewer"`
	CSRFToken string       `json:"csrf_token"`
	ExpiresAt time.Time    `json:"expires_at"`
}

type meResponse struct {
	Reviewer  reviewerJSON `json:"reviewer"`
	ExpiresAt time.Time    `json:"expires_at"`
}

// errLoginFailed is the one answer to every failed login: which of tenant,
// username, password or the reviewer's state was wrong is not told.
var errLoginFailed = errorf(CodeUnauthenticated, "login failed")

// login: POST /console/api/login {tenant, username, password}.
func (c *Console) login(w http.ResponseWriter, r *http.Request, _ *session) error {
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Tenant == "" || req.Username == "" || req.Password == "" {
		return errorf(CodeInvalidRequest, "tenant, username and password are required")
	}
	userKey := req.Tenant + "\x00" + strings.ToLower(req.Username)
	ip := c.cfg.clientIP(r)
	if ok, wait := c.limiter.reserve(userKey, ip, c.cfg.now()); !ok {
		w.Header().Set("Retry-After", fmt.Sprint(retryAfter(wait)))
		return errorf(CodeRateLimited, "too many login attempts")
	}
	rv, err := c.deps.Reviews.Authenticate(r.Context(), req.Tenant, req.Username, req.Password)
	if errors.Is(err, reviewstore.ErrUnauthenticated) {
		c.cfg.log.Info("console: login failed", "tenant", req.Tenant)
		return errLoginFailed
	}
	if err != nil {
		c.limiter.refund(userKey, ip) // not a guess that failed
		return unavailable(err)
	}
	token, csrf, expiry, err := c.deps.Reviews.NewLoginSession(r.Context(), rv)
	if errors.Is(err, reviewstore.ErrUnauthenticated) { // disabled in between
		return errLoginFailed
	}
	if err != nil {
		c.limiter.refund(userKey, ip)
		return unavailable(err)
	}
	c.limiter.refund(userKey, ip)
	s := &session{token: token, login: reviewstore.Login{Reviewer: rv, Expiry: expiry}}
	c.auditAfter(r, s, "review.login", rv.ID, nil)
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: mountPath, Expires: expiry,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	return writeJSON(w, http.StatusOK, loginResponse{Reviewer: reviewerView(rv), CSRFToken: csrf, ExpiresAt: expiry.UTC()})
}

// logout: POST /console/api/logout. With a live login it needs the CSRF
// token and ends the login; without one it only clears the cookie.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, _ *session) error {
	s, err := c.authenticate(r)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.code == CodeUnauthenticated:
		s = nil
	case err != nil:
		return err
	case !reviewstore.VerifyCSRF(s.login, r.Header.Get(CSRFHeader)):
		return errorf(CodeCSRFFailed, "missing or wrong "+CSRFHeader+" header")
	}
	if s != nil {
		if err := c.deps.Reviews.Logout(r.Context(), s.token); err != nil {
			return unavailable(err)
		}
		c.auditAfter(r, s, "review.logout", s.login.Reviewer.ID, nil)
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: mountPath, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// me: GET /console/api/me.
func (c *Console) me(w http.ResponseWriter, _ *http.Request, s *session) error {
	return writeJSON(w, http.StatusOK, meResponse{Reviewer: reviewerView(s.reviewer()), ExpiresAt: s.login.Expiry.UTC()})
}

// authenticate finds the request's login from its cookie.
func (c *Console) authenticate(r *http.Request) (*session, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return nil, errorf(CodeUnauthenticated, "not logged in")
	}
	l, err := c.deps.Reviews.LoginSession(r.Context(), ck.Value)
	if errors.Is(err, reviewstore.ErrUnauthenticated) {
		return nil, errorf(CodeUnauthenticated, "not logged in, or the login expired")
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if l.Reviewer.Tenant == "" || l.Reviewer.ID == "" {
		return nil, errorf(CodeUnauthenticated, "not logged in")
	}
	return &session{token: ck.Value, login: l}, nil
}

// decodeJSON decodes a request body into v: one JSON object, no unknown
// fields. An empty body decodes as {}.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errorf(CodeInvalidJSON, jsonErrorMessage(err))
	}
	if dec.More() {
		return errorf(CodeInvalidJSON, "the body holds more than one JSON value")
	}
	return nil
}

// jsonErrorMessage names the problem without echoing the body (it may
// hold a password or a comment).
func jsonErrorMessage(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return "field " + te.Field + " has the wrong type"
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed JSON"
}
