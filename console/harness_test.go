package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	review "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/blobs"
	"github.com/openekyc/ekyc/store/keys"
	reviewstore "github.com/openekyc/ekyc/store/review"
)

var cheapArgon = reviewstore.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const password = "correct horse battery"

// Specimen TD3 MRZ of ICAO 9303 (fictional person).
var specimenMRZ = []string{
	"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
	"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fakeEvidence struct {
	mu       sync.Mutex
	sessions map[string]*ekycv1.SessionState
	images   map[string][]byte
}

func (f *fakeEvidence) Session(_ context.Context, tenant, session string) (*ekycv1.SessionState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.sessions[tenant+"/"+session]
	if !ok {
		return nil, ErrNotFound
	}
	return st, nil
}

func (f *fakeEvidence) Image(_ context.Context, tenant, session, name string) ([]byte, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.images[tenant+"/"+session+"/"+name]
	if !ok {
		return nil, "", ErrNotFound
	}
	return b, "image/jpeg", nil
}

type fakePublisher struct {
	mu   sync.Mutex
	fail bool
	got  []ReviewDecision
}

func (p *fakePublisher) PublishReviewDecision(_ context.Context, d ReviewDecision) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("broker unavailable")
	}
	p.got = append(p.got, d)
	return nil
}

func (p *fakePublisher) setFail(v bool) { p.mu.Lock(); p.fail = v; p.mu.Unlock() }
func (p *fakePublisher) published() []ReviewDecision {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

type fakeAuditor struct {
	mu     sync.Mutex
	events []AuditEvent
}

func (a *fakeAuditor) Record(_ context.Context, e AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

func (a *fakeAuditor) find(action, subject string) []AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []AuditEvent
	for _, e := range a.events {
		if e.Action == action && (subject == "" || e.Subject == subject) {
			out = append(out, e)
		}
	}
	return out
}

type env struct {
	t        *testing.T
	store    *reviewstore.Store
	console  *Console
	clock    *clock
	evidence *fakeEvidence
	pub      *fakePublisher
	audit    *fakeAuditor
	rules    map[string]review.Rules
	rulesMu  sync.Mutex
}

func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	ctx := context.Background()
	mk := make([]byte, 32)
	_, err := rand.Read(mk)
	require.NoError(t, err)
	master, err := keys.NewMaster(mk)
	require.NoError(t, err)
	ring, err := keys.Open(ctx, t.TempDir(), master)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ring.Close() })
	clk := &clock{t: t0}
	st, err := reviewstore.Open(ctx, filepath.Join(t.TempDir(), "review"), ring,
		reviewstore.WithArgon2(cheapArgon), reviewstore.WithClock(clk.now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	e := &env{t: t, store: st, clock: clk,
		evidence: &fakeEvidence{sessions: map[string]*ekycv1.SessionState{}, images: map[string][]byte{}},
		pub:      &fakePublisher{}, audit: &fakeAuditor{}, rules: map[string]review.Rules{}}
	base := []Option{WithClock(clk.now), WithLogger(slog.New(slog.DiscardHandler)), WithRules(func(tenant string) review.Rules {
		e.rulesMu.Lock()
		defer e.rulesMu.Unlock()
		return e.rules[tenant]
	})}
	c, err := New(Deps{Reviews: st, Evidence: e.evidence, Publisher: e.pub, Auditor: e.audit}, append(base, opts...)...)
	require.NoError(t, err)
	e.console = c
	return e
}

func (e *env) setRules(tenant string, r review.Rules) {
	e.rulesMu.Lock()
	defer e.rulesMu.Unlock()
	e.rules[tenant] = r
}

func (e *env) reviewer(tenant, username string, role review.Role) reviewstore.Reviewer {
	e.t.Helper()
	r, err := e.store.CreateReviewer(context.Background(), tenant, username, password, role)
	require.NoError(e.t, err)
	return r
}

// openCase creates a case for a REVIEW decision of session in tenant, and
// its session state (with images document_front and selfie, the specimen
// MRZ and the given checks).
func (e *env) openCase(tenant, session string, codes []string, checks ...*ekycv1.CheckResult) review.Case {
	e.t.Helper()
	decisionID := "dec-" + session
	k, err := review.NewCase(review.Opening{Tenant: tenant, SessionID: session, DecisionID: decisionID, Reasons: codes,
		OpenedAt: e.clock.now()}, review.DefaultSLA())
	require.NoError(e.t, err)
	k, created, err := e.store.Create(context.Background(), k)
	require.NoError(e.t, err)
	require.True(e.t, created)
	e.addSession(tenant, session, decisionID, codes, checks...)
	return k
}

func (e *env) addSession(tenant, session, decisionID string, codes []string, checks ...*ekycv1.CheckResult) {
	req := &ekycv1.VerificationRequest{
		TenantId: tenant, SessionId: session, EventId: "ev-" + session,
		Applicant: &ekycv1.Applicant{GivenNames: "Anna Maria", Surname: "Eriksson", DateOfBirth: "1974-08-12", Nationality: "UTO"},
		Document: &ekycv1.Document{Type: ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, MrzLines: specimenMRZ,
			Images: []*ekycv1.ImageRef{{Uri: blobs.URI(tenant, session, ImageDocumentFront), ContentType: "image/jpeg", Side: "front"}}},
		Selfies:         []*ekycv1.ImageRef{{Uri: blobs.URI(tenant, session, ImageSelfie), ContentType: "image/jpeg", Side: "selfie"}},
		RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT, ekycv1.CheckKind_CHECK_KIND_FACE, ekycv1.CheckKind_CHECK_KIND_SCREENING},
		SubmittedAt:     timestamppb.New(e.clock.now()),
	}
	st := &ekycv1.SessionState{TenantId: tenant, SessionId: session, Status: ekycv1.SessionStatus_SESSION_STATUS_REVIEW, Version: 2,
		Request: req, Checks: checks, CreatedAt: timestamppb.New(e.clock.now()),
		Decision: &ekycv1.Decision{DecisionId: decisionID, TenantId: tenant, SessionId: session, Outcome: ekycv1.Outcome_OUTCOME_REVIEW,
			Score: 55, ReasonCodes: codes, PolicyId: "default", PolicyVersion: 3, Checks: checks, DecidedAt: timestamppb.New(e.clock.now())}}
	e.evidence.mu.Lock()
	defer e.evidence.mu.Unlock()
	e.evidence.sessions[tenant+"/"+session] = st
	e.evidence.images[tenant+"/"+session+"/"+ImageDocumentFront] = []byte("\xff\xd8front-" + session)
	e.evidence.images[tenant+"/"+session+"/"+ImageSelfie] = []byte("\xff\xd8selfie-" + session)
}

// client is a browser of one reviewer: its cookie and CSRF token.
type client struct {
	e      *env
	cookie *http.Cookie
	csrf   string
	id     string
}

type resp struct {
	*httptest.ResponseRecorder
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body.Bytes(), &m), r.Body.String())
	return m
}

func (r resp) code(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	errObj, ok := m["error"].(map[string]any)
	require.True(t, ok, "no error object: %s", r.Body.String())
	return errObj["code"].(string)
}

// request sends a request to the console as mounted by the node.
func (e *env) request(method, path string, body any, hdr map[string]string, cookie *http.Cookie) resp {
	e.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, "http://ekyc.test"+path, rd)
	req.RemoteAddr = "192.0.2.10:5555"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	mux := http.NewServeMux()
	mux.Handle("/console/", e.console)
	mux.Handle("/console", e.console)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return resp{rec}
}

func (e *env) login(tenant, username string) *client {
	e.t.Helper()
	r := e.request("POST", "/console/api/login", map[string]string{"tenant": tenant, "username": username, "password": password}, nil, nil)
	require.Equal(e.t, http.StatusOK, r.Code, r.Body.String())
	var lr loginResponse
	require.NoError(e.t, json.Unmarshal(r.Body.Bytes(), &lr))
	var ck *http.Cookie
	for _, c := range r.Result().Cookies() {
		if c.Name == CookieName {
			ck = c
		}
	}
	require.NotNil(e.t, ck)
	return &client{e: e, cookie: &http.Cookie{Name: CookieName, Value: ck.Value}, csrf: lr.CSRFToken, id: lr.Reviewer.ID}
}

func (c *client) get(path string) resp {
	c.e.t.Helper()
	return c.e.request("GET", path, nil, nil, c.cookie)
}

func (c *client) post(path string, body any) resp {
	c.e.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	return c.e.request("POST", path, body, map[string]string{CSRFHeader: c.csrf, "Origin": "http://ekyc.test"}, c.cookie)
}

func casePath(id string, rest ...string) string {
	p := "/console/api/cases/" + id
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

func (e *env) stored(tenant, id string) review.Case {
	e.t.Helper()
	k, err := e.store.Get(context.Background(), tenant, id)
	require.NoError(e.t, err)
	return k
}

// requestURL sends a JSON body to a full URL (https:// makes a TLS request).
func (e *env) requestURL(method, url, body string) resp {
	e.t.Helper()
	req := httptest.NewRequest(method, url, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.console.ServeHTTP(rec, req)
	return resp{rec}
}
