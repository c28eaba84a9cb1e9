package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/gateway"
	"github.com/openekyc/ekyc/internal/envelope"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/apistate"
	"github.com/openekyc/ekyc/store/sessions"
)

// ------------------------------------------------- OpenAPI conformance ---

var (
	specOnce   sync.Once
	spec       *openapi3.T
	specRouter routers.Router
	specErr    error

	// covered records the operationIds the tests exercised.
	covered sync.Map
)

func loadSpec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("image/jpeg", openapi3filter.FileBodyDecoder)
		openapi3filter.RegisterBodyDecoder("image/png", openapi3filter.FileBodyDecoder)
		l := openapi3.NewLoader()
		spec, specErr = l.LoadFromData(gateway.OpenAPI())
		if specErr != nil {
			return
		}
		if specErr = spec.Validate(l.Context); specErr != nil {
			return
		}
		specRouter, specErr = legacy.NewRouter(spec)
	})
	require.NoError(t, specErr)
	return spec, specRouter
}

// TestMain runs the tests, then (when all of them ran: no -run or -skip)
// checks that every operation of the OpenAPI document was exercised.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	all := flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == ""
	if code == 0 && all {
		l := openapi3.NewLoader()
		doc, err := l.LoadFromData(gateway.OpenAPI())
		if err != nil {
			fmt.Println("openapi:", err)
			os.Exit(1)
		}
		var missing []string
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if _, ok := covered.Load(op.OperationID); !ok {
					missing = append(missing, method+" "+path+" ("+op.OperationID+")")
				}
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			fmt.Println("FAIL: documented operations no test exercised:\n  " + strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// ------------------------------------------------------------ fakes ---

// keyTable is an Authenticator over a fixed table of hashed secrets,
// compared in constant time.
type keyTable struct {
	keys    map[[32]byte]gateway.Principal
	revoked map[[32]byte]bool
}

func (k *keyTable) Authenticate(_ context.Context, secret string) (gateway.Principal, error) {
	h := sha256.Sum256([]byte(secret))
	for stored, p := range k.keys {
		if subtle.ConstantTimeCompare(stored[:], h[:]) == 1 {
			if k.revoked[stored] {
				return gateway.Principal{}, gateway.ErrUnauthenticated
			}
			return p, nil
		}
	}
	return gateway.Principal{}, gateway.ErrUnauthenticated
}

// API keys of the tests.
const (
	keyARead   = "sk_a_read_0123456789"
	keyAWrite  = "sk_a_write_0123456789"
	keyAWrite2 = "sk_a_write2_0123456789"
	keyAAdmin  = "sk_a_admin_0123456789"
	keyBAdmin  = "sk_b_admin_0123456789"
	keyBWrite  = "sk_b_write_0123456789"
	keyRevoked = "sk_a_revoked_0123456789"
)

func newKeyTable() *keyTable {
	kt := &keyTable{keys: map[[32]byte]gateway.Principal{}, revoked: map[[32]byte]bool{}}
	add := func(secret, tenant, id string, scopes ...string) {
		kt.keys[sha256.Sum256([]byte(secret))] = gateway.Principal{Tenant: tenant, KeyID: id, Scopes: scopes}
	}
	add(keyARead, "tenant-a", "ka-read", gateway.ScopeRead)
	add(keyAWrite, "tenant-a", "ka-write", gateway.ScopeWrite)
	add(keyAWrite2, "tenant-a", "ka-write2", gateway.ScopeWrite)
	add(keyAAdmin, "tenant-a", "ka-admin", gateway.ScopeAdmin)
	add(keyBAdmin, "tenant-b", "kb-admin", gateway.ScopeAdmin)
	add(keyBWrite, "tenant-b", "kb-write", gateway.ScopeWrite)
	add(keyRevoked, "tenant-a", "ka-revoked", gateway.ScopeAdmin)
	kt.revoked[sha256.Sum256([]byte(keyRevoked))] = true
	return kt
}

// memBlobs is a map-backed blob store.
type memBlobs struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (b *memBlobs) Put(_ context.Context, tenant, session, name, _ string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[tenant+"/"+session+"/"+name] = append([]byte(nil), data...)
	return nil
}

func (b *memBlobs) URI(tenant, session, name string) string {
	return "blob://" + tenant + "/" + session + "/" + name
}

func (b *memBlobs) get(tenant, session, name string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[tenant+"/"+session+"/"+name]
}

func (b *memBlobs) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

// recPublisher records published requests; fail makes Publish fail.
type recPublisher struct {
	mu       sync.Mutex
	fail     error
	attempts []*ekycv1.VerificationRequest
	reqs     []*ekycv1.VerificationRequest
}

func (p *recPublisher) Publish(_ context.Context, req *ekycv1.VerificationRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := proto.Clone(req).(*ekycv1.VerificationRequest)
	p.attempts = append(p.attempts, c)
	if p.fail != nil {
		return p.fail
	}
	p.reqs = append(p.reqs, c)
	return nil
}

func (p *recPublisher) published() []*ekycv1.VerificationRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.reqs)
}

func (p *recPublisher) setFail(err error) {
	p.mu.Lock()
	p.fail = err
	p.mu.Unlock()
}

// memStates is a map-backed SessionStates.
type memStates struct {
	mu sync.Mutex
	m  map[string]*ekycv1.SessionState
}

func (s *memStates) Get(_ context.Context, tenant, session string) (*ekycv1.SessionState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[tenant+"/"+session]
	if !ok {
		return nil, sessions.ErrNotFound
	}
	return proto.Clone(st).(*ekycv1.SessionState), nil
}

func (s *memStates) put(st *ekycv1.SessionState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[st.GetTenantId()+"/"+st.GetSessionId()] = proto.Clone(st).(*ekycv1.SessionState)
}

// recAuditor records audit events; fail makes Record fail.
type recAuditor struct {
	mu     sync.Mutex
	fail   error
	events []gateway.AuditEvent
}

func (a *recAuditor) Record(_ context.Context, e gateway.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	a.events = append(a.events, e)
	return nil
}

func (a *recAuditor) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.events {
		out = append(out, e.Tenant+" "+e.Actor+" "+e.Action+" "+e.Subject)
	}
	return out
}

// recEraser records erasures and, like the node's eraser, destroys the
// session's data key.
type recEraser struct {
	mu     sync.Mutex
	sealer *envSealer
	erased []string
}

func (e *recEraser) Erase(_ context.Context, tenant, session string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.erased = append(e.erased, tenant+"/"+session)
	e.sealer.shred(tenant, session)
	return nil
}

func (e *recEraser) calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.erased)
}

// memWebhooks is a tenant-scoped webhook log.
type memWebhooks struct {
	mu      sync.Mutex
	events  map[string][]gateway.WebhookEvent // by tenant, oldest first
	replays []string
}

func (w *memWebhooks) add(tenant string, e gateway.WebhookEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events[tenant] = append(w.events[tenant], e)
}

func (w *memWebhooks) Events(_ context.Context, tenant string, limit int) ([]gateway.WebhookEvent, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	evs := slices.Clone(w.events[tenant])
	slices.Reverse(evs)
	if len(evs) > limit {
		evs = evs[:limit]
	}
	return evs, nil
}

func (w *memWebhooks) Event(_ context.Context, tenant, id string) (gateway.WebhookEvent, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events[tenant] {
		if e.ID == id {
			return e, nil
		}
	}
	return gateway.WebhookEvent{}, gateway.ErrNotFound
}

func (w *memWebhooks) Replay(ctx context.Context, tenant, id string) error {
	if _, err := w.Event(ctx, tenant, id); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.replays = append(w.replays, tenant+"/"+id)
	return nil
}

func (w *memWebhooks) replayed() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.replays)
}

// envSealer is the real AES-256-GCM envelope encryption, with tenant and
// session bound into the associated data. Like store/keys, it can destroy
// a session's key (shred): the session's values then never open again.
type envSealer struct {
	k        *envelope.Keyring
	mu       sync.Mutex
	shredded map[string]bool
}

var errShredded = errors.New("session key destroyed")

func (s *envSealer) live(tenant, session string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shredded[tenant+"/"+session] {
		return errShredded
	}
	return nil
}

func (s *envSealer) shred(tenant, session string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shredded[tenant+"/"+session] = true
}

func (s *envSealer) Seal(_ context.Context, tenant, session string, p, aad []byte) ([]byte, error) {
	if err := s.live(tenant, session); err != nil {
		return nil, err
	}
	return s.k.Seal(p, append([]byte(tenant+"\x00"+session+"\x00"), aad...))
}

func (s *envSealer) Open(_ context.Context, tenant, session string, c, aad []byte) ([]byte, error) {
	if err := s.live(tenant, session); err != nil {
		return nil, err
	}
	return s.k.Open(c, append([]byte(tenant+"\x00"+session+"\x00"), aad...))
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ---------------------------------------------------------- harness ---

type harness struct {
	t      *testing.T
	g      *gateway.Gateway
	state  *apistate.Store
	blobs  *memBlobs
	pub    *recPublisher
	states *memStates
	audit  *recAuditor
	eraser *recEraser
	hooks  *memWebhooks
	clock  *fakeClock
	logs   *syncBuffer

	idMu  sync.Mutex
	idSeq int
}

// newHarness builds a gateway over real apistate (Pebble in a temp dir,
// real envelope encryption) and in-test implementations of the other
// dependencies. mutate may drop dependencies.
func newHarness(t *testing.T, mutate func(*gateway.Deps), opts ...gateway.Option) *harness {
	t.Helper()
	key := make([]byte, envelope.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	kr, err := envelope.New(key)
	require.NoError(t, err)
	sealer := &envSealer{k: kr, shredded: map[string]bool{}}
	st, err := apistate.Open(filepath.Join(t.TempDir(), "api"), sealer)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	h := &harness{t: t, state: st,
		blobs:  &memBlobs{m: map[string][]byte{}},
		pub:    &recPublisher{},
		states: &memStates{m: map[string]*ekycv1.SessionState{}},
		audit:  &recAuditor{},
		eraser: &recEraser{sealer: sealer},
		hooks:  &memWebhooks{events: map[string][]gateway.WebhookEvent{}},
		clock:  &fakeClock{now: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)},
		logs:   &syncBuffer{},
	}
	deps := gateway.Deps{Authenticator: newKeyTable(), State: st, Blobs: h.blobs, Publisher: h.pub,
		SessionStates: h.states, Auditor: h.audit, Eraser: h.eraser, Webhooks: h.hooks}
	if mutate != nil {
		mutate(&deps)
	}
	base := []gateway.Option{
		gateway.WithClock(h.clock.Now),
		gateway.WithIDGenerator(h.nextID),
		gateway.WithLogger(slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}
	h.g, err = gateway.New(deps, append(base, opts...)...)
	require.NoError(t, err)
	return h
}

func (h *harness) nextID() string {
	h.idMu.Lock()
	defer h.idMu.Unlock()
	h.idSeq++
	return fmt.Sprintf("ses-%04d", h.idSeq)
}

func (h *harness) idsIssued() int {
	h.idMu.Lock()
	defer h.idMu.Unlock()
	return h.idSeq
}

// resp is a completed response.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// errCode returns the error code of an error response, checking its shape.
func (r resp) errCode(t *testing.T) string {
	t.Helper()
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &b), "body: %s", r.Body)
	require.NotEmpty(t, b.Error.Message)
	return b.Error.Code
}

type reqOpt func(*reqCfg)

type reqCfg struct {
	key         string
	contentType string
	headers     map[string]string
	// invalidRequest: the request deliberately breaks the document (bad
	// JSON, wrong content type, ...); only the response is validated.
	invalidRequest bool
	// undocumented: the path/method is not in the document (404/405 tests).
	undocumented bool
}

func withKey(k string) reqOpt            { return func(c *reqCfg) { c.key = k } }
func withContentType(ct string) reqOpt   { return func(c *reqCfg) { c.contentType = ct } }
func withHeader(k, v string) reqOpt      { return func(c *reqCfg) { c.headers[k] = v } }
func invalidRequest() reqOpt             { return func(c *reqCfg) { c.invalidRequest = true } }
func undocumented() reqOpt               { return func(c *reqCfg) { c.undocumented = true } }
func withIdempotencyKey(k string) reqOpt { return withHeader("Idempotency-Key", k) }
func withAuthorization(v string) reqOpt  { return withHeader("Authorization", v) }
func jsonBody(v any) []byte              { b, _ := json.Marshal(v); return b }

// do sends one request through the gateway, validating the request (unless
// marked invalid) and always the response against the OpenAPI document.
func (h *harness) do(method, path string, body []byte, opts ...reqOpt) resp {
	h.t.Helper()
	r, err := h.doErr(method, path, body, opts...)
	require.NoError(h.t, err)
	return r
}

// doErr is do for use off the test goroutine: it returns validation
// failures instead of failing the test.
func (h *harness) doErr(method, path string, body []byte, opts ...reqOpt) (resp, error) {
	cfg := reqCfg{key: keyAWrite, headers: map[string]string{}}
	if body != nil {
		cfg.contentType = "application/json"
	}
	for _, o := range opts {
		o(&cfg)
	}
	newReq := func() *http.Request {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req := httptest.NewRequest(method, path, rd)
		if cfg.key != "" {
			req.Header.Set("Authorization", "Bearer "+cfg.key)
		}
		if cfg.contentType != "" {
			req.Header.Set("Content-Type", cfg.contentType)
		}
		for k, v := range cfg.headers {
			req.Header.Set(k, v)
		}
		return req
	}
	_, router := loadSpec(h.t)
	ctx := context.Background()
	var in *openapi3filter.RequestValidationInput
	if !cfg.undocumented {
		vreq := newReq()
		route, params, err := router.FindRoute(vreq)
		if err != nil {
			return resp{}, fmt.Errorf("%s %s is not in the OpenAPI document: %w", method, path, err)
		}
		covered.Store(route.Operation.OperationID, true)
		in = &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if !cfg.invalidRequest {
			if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
				return resp{}, fmt.Errorf("request %s %s does not match the OpenAPI document: %w", method, path, err)
			}
		}
	}
	rec := httptest.NewRecorder()
	h.g.ServeHTTP(rec, newReq())
	out := resp{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	if in != nil {
		err := openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: out.Status, Header: out.Header,
			Body: io.NopCloser(bytes.NewReader(out.Body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}})
		if err != nil {
			return out, fmt.Errorf("response %d to %s %s does not match the OpenAPI document: %w\nbody: %s", out.Status, method, path, err, out.Body)
		}
	}
	return out, nil
}

// --------------------------------------------------------- fixtures ---

func readFace(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "faces", name))
	require.NoError(t, err)
	return b
}

// pngOf re-encodes a test photograph as PNG.
func pngOf(t testing.TB, name string) []byte {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(readFace(t, name)))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// multipartBody wraps data in a multipart/form-data body with field name
// and file name.
func multipartBody(t testing.TB, field, filename, partType string, data []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	hdr := make(map[string][]string)
	hdr["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename=%q`, field, filename)}
	hdr["Content-Type"] = []string{partType}
	pw, err := mw.CreatePart(hdr)
	require.NoError(t, err)
	_, err = pw.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return buf.Bytes(), mw.FormDataContentType()
}

// Applicant data used by the tests; none of it may reach a log line.
const (
	piiGiven   = "Zorabelle"
	piiSurname = "Quixwhistle"
	piiDOB     = "1984-07-19"
)

func createBody(checks ...string) map[string]any {
	return map[string]any{
		"applicant": map[string]any{"given_names": piiGiven, "surname": piiSurname, "date_of_birth": piiDOB,
			"nationality": "UTO", "address": map[string]any{"lines": []string{"1 Test Way"}, "city": "Ankh", "country": "UTO"}},
		"document":     map[string]any{"type": "passport", "issuing_country": "UTO"},
		"checks":       checks,
		"policy_id":    "default",
		"callback_url": "https://client.example/hook",
		"reference":    "client-ref-77",
	}
}

// create makes a session of tenant A (or the key's tenant) and returns its id.
func (h *harness) create(key string, checks ...string) string {
	h.t.Helper()
	r := h.do("POST", "/v1/sessions", jsonBody(createBody(checks...)), withKey(key))
	require.Equal(h.t, http.StatusCreated, r.Status, "%s", r.Body)
	return r.json(h.t)["id"].(string)
}

// upload puts an image as a raw body.
func (h *harness) upload(key, id, which string, data []byte, ct string) resp {
	h.t.Helper()
	return h.do("PUT", "/v1/sessions/"+id+"/"+which, data, withKey(key), withContentType(ct))
}

// ready creates a session with the document and face checks and uploads
// both images.
func (h *harness) ready(key string) string {
	h.t.Helper()
	id := h.create(key, "document", "face", "screening")
	r := h.upload(key, id, "document?side=front", readFace(h.t, "obama.jpg"), "image/jpeg")
	require.Equal(h.t, http.StatusOK, r.Status, "%s", r.Body)
	r = h.upload(key, id, "selfie", readFace(h.t, "obama2.jpg"), "image/jpeg")
	require.Equal(h.t, http.StatusOK, r.Status, "%s", r.Body)
	return id
}

var errBroker = errors.New("broker unreachable")
