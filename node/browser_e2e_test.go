package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/inference/ort"
	"github.com/openekyc/ekyc/internal/docgen"
	"github.com/openekyc/ekyc/internal/fakecam"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	rv "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/tenants"
)

// browserFlowResult is what e2e/browser/flow.mjs reports.
type browserFlowResult struct {
	SessionID    string   `json:"session_id"`
	DemoStatus   string   `json:"demo_status"`
	DemoOutcome  string   `json:"demo_outcome"`
	DemoReasons  string   `json:"demo_reasons"`
	SelfieFaces  string   `json:"selfie_faces"`
	SelfieHint   string   `json:"selfie_feedback"`
	CaseID       string   `json:"case_id"`
	CaseDecision string   `json:"case_decision"`
	PageErrors   []string `json:"page_errors"`
	Evidence     struct {
		Images        []any    `json:"images"`
		DedupSessions []string `json:"dedup_sessions"`
		DedupImages   int      `json:"dedup_images"`
		Face          string   `json:"face"`
		Checks        []string `json:"checks"`
		Reasons       string   `json:"reasons"`
		MRZFields     string   `json:"mrz_fields"`
		MRZChecks     string   `json:"mrz_checks"`
	} `json:"evidence"`
}

// browserReady skips the test unless Debian's Chromium and the npm
// packages of e2e/browser are installed (deploy/local/browser.sh, which
// make test runs).
func browserReady(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("browser test skipped: Node.js (node) is not installed")
	}
	st := exec.Command(filepath.Join("..", "deploy", "local", "browser.sh"), "status")
	if out, err := st.CombinedOutput(); err != nil {
		t.Skipf("browser test skipped: %s— run deploy/local/browser.sh install (Debian chromium + playwright-core)", out)
	}
	if c := os.Getenv("EKYC_CHROMIUM"); c != "" {
		return c
	}
	return "/usr/bin/chromium"
}

// TestBrowserDemoToReviewEndToEnd drives the real pages in Debian's
// Chromium (headless, through playwright-core) against a whole node:
//
//   - an earlier applicant was approved through the API (checks: face);
//   - a new applicant opens /demo, whose capture (the web SDK) gets its
//     frames from Chromium's fake camera playing a Y4M made from a test
//     photo of the same person: document and selfie are captured,
//     uploaded with the session token and submitted; the face check finds
//     the earlier session's face (1:N dedup) and the session goes to
//     REVIEW (FACE_DUPLICATE_IDENTITY), which the page shows;
//   - a reviewer logs into /console, finds the case, claims it (key c),
//     sees the evidence (the decrypted images, the checks, the duplicate
//     match with the other session and its images) and rejects it (key r)
//     with a reason and a comment;
//   - the final decision (reviewed REJECT, superseding the REVIEW one)
//     arrives on the decisions topic, and both the verification.decided
//     and the review.decided webhooks arrive, signed.
//
// Screenshots of both pages are written to e2e/browser/artifacts
// (EKYC_TEST_ARTIFACTS overrides).
func TestBrowserDemoToReviewEndToEnd(t *testing.T) {
	e := newBrowserEnv(t, "face")

	// The earlier applicant, through the API.
	code, got := e.api.do("POST", "/v1/sessions", "application/json", []byte(`{"checks":["face"]}`))
	require.Equal(t, http.StatusCreated, code, "%v", got)
	first := got["id"].(string)
	code, got = e.api.do("PUT", "/v1/sessions/"+first+"/document?side=front", "image/jpeg", readTestdata(t, "faces", "obama2.jpg"))
	require.Equal(t, http.StatusOK, code, "%v", got)
	code, got = e.api.do("PUT", "/v1/sessions/"+first+"/selfie", "image/jpeg", readTestdata(t, "faces", "obama2.jpg"))
	require.Equal(t, http.StatusOK, code, "%v", got)
	code, got = e.api.do("POST", "/v1/sessions/"+first+"/submit", "", nil)
	require.Equal(t, http.StatusAccepted, code, "%v", got)
	out := collect(e.ctx, t, e.n.Brokers(), e.cfg, func(o *outputs) bool { return len(o.decisions[first]) > 0 })
	require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, out.decisions[first][0].GetOutcome(), "%v", out.decisions[first][0].GetReasonCodes())

	// The fake camera: another photo of the same person.
	img, _, err := image.Decode(bytes.NewReader(readTestdata(t, "faces", "obama.jpg")))
	require.NoError(t, err)
	res := e.runFlow(img, "FACE_DUPLICATE_IDENTITY", "")

	// The applicant's page showed the REVIEW outcome of a new session.
	require.NotEqual(t, first, res.SessionID)
	require.Contains(t, res.DemoReasons, "FACE_DUPLICATE_IDENTITY")
	// The reviewer saw the evidence.
	require.ElementsMatch(t, []any{"document_front", "portrait", "selfie"}, res.Evidence.Images,
		"document and selfie decrypted for the reviewer, and the portrait cropped from the document image")
	require.Contains(t, res.Evidence.DedupSessions, first, "the duplicate match names the earlier session")
	require.Positive(t, res.Evidence.DedupImages, "and shows its images")
	require.Contains(t, res.Evidence.Face, "face match")
	require.Contains(t, res.Evidence.Checks, "check-face")
	require.Contains(t, res.Evidence.Reasons, "FACE_DUPLICATE_IDENTITY")
	e.requireReviewedReject(res, "FACE_DUPLICATE_IDENTITY")
}

// browserEnv is a node with the demo on (demo.checks), a tenant "demo"
// with a webhook receiver, an API key and a reviewer, ready for
// e2e/browser/flow.mjs.
type browserEnv struct {
	t        *testing.T
	ctx      context.Context
	cfg      config.Config
	n        *node.Node
	base     string
	api      apiClient
	rcv      *eventReceiver
	chromium string
}

const browserReviewerPassword = "correct horse battery"

func newBrowserEnv(t *testing.T, checks ...string) *browserEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if _, err := os.Stat(filepath.Join(ort.DefaultDir(), "face_embed")); err != nil {
		t.Skipf("face models not in %s: run make models", ort.DefaultDir())
	}
	chromium := browserReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)

	cfg := testConfig(t)
	cfg.Checks.Timeout = config.Duration(60 * time.Second)
	cfg.Cluster.RequestTimeout = config.Duration(4 * time.Minute)
	cfg.Demo.Enabled = true
	cfg.Demo.Tenant = "demo"
	cfg.Demo.Checks = checks
	// The page is opened as http://localhost:PORT (a secure context, so the
	// camera is offered): the listener must answer on that name.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	cfg.Gateway.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	rcv := &eventReceiver{}
	hooks := httptest.NewServer(rcv)
	t.Cleanup(hooks.Close)

	// The tenant, its webhook secret, an API key and a reviewer, as the
	// CLI creates them while the node is stopped.
	ts := openTenants(ctx, t, cfg)
	require.NoError(t, ts.CreateTenant(ctx, tenants.Tenant{ID: "demo", Name: "Demo", WebhookURL: hooks.URL + "/hooks"}))
	secret, err := ts.RotateWebhookSecret(ctx, "demo")
	require.NoError(t, err)
	rcv.secrets = []string{secret}
	apiKey, _, err := ts.CreateKey(ctx, "demo", "backend", tenants.ScopeWrite)
	require.NoError(t, err)
	require.NoError(t, ts.Close())
	addReviewers(ctx, t, cfg, browserReviewerPassword, reviewerSpec{"demo", "alice", rv.RoleReviewer})

	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()))
	require.NoError(t, err)
	t.Cleanup(func() { n.Close(true) })
	base := "http://localhost:" + strconv.Itoa(port)
	return &browserEnv{t: t, ctx: ctx, cfg: cfg, n: n, base: base, api: apiClient{t: t, base: base, key: apiKey}, rcv: rcv, chromium: chromium}
}

// runFlow plays img on the fake camera and runs e2e/browser/flow.mjs: the
// demo flow, then the reviewer rejecting the case with reason. Screenshots
// go to e2e/browser/artifacts[/sub] (EKYC_TEST_ARTIFACTS overrides the
// root). It checks what every scenario shows: a new session in REVIEW on
// the page, one face seen by the selfie feedback, no page error, the case
// of that decision decided REJECT, and the screenshots.
func (e *browserEnv) runFlow(img image.Image, reason, sub string) browserFlowResult {
	t := e.t
	t.Helper()
	video := filepath.Join(t.TempDir(), "camera.y4m")
	f, err := os.Create(video)
	require.NoError(t, err)
	require.NoError(t, fakecam.Write(f, img, 960, 720, 10))
	require.NoError(t, f.Close())

	artifacts := os.Getenv("EKYC_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts, err = filepath.Abs(filepath.Join("..", "e2e", "browser", "artifacts"))
		require.NoError(t, err)
	}
	artifacts = filepath.Join(artifacts, sub)
	cmd := exec.CommandContext(e.ctx, "node", filepath.Join("..", "e2e", "browser", "flow.mjs"))
	cmd.Env = append(os.Environ(),
		"EKYC_E2E_BASE="+e.base, "EKYC_E2E_CHROMIUM="+e.chromium, "EKYC_E2E_VIDEO="+video, "EKYC_E2E_ARTIFACTS="+artifacts,
		"EKYC_E2E_TENANT=demo", "EKYC_E2E_USER=alice", "EKYC_E2E_PASSWORD="+browserReviewerPassword, "EKYC_E2E_REASON="+reason)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("browser flow log:\n%s", stderr.String())
	require.NoError(t, err, "the browser flow failed (screenshot in %s)", artifacts)
	var res browserFlowResult
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res), "flow output: %s", stdout.String())

	require.Empty(t, res.PageErrors, "no page logged or threw an error")
	require.NotEmpty(t, res.SessionID)
	require.Equal(t, "review", res.DemoStatus)
	require.Equal(t, "review", res.DemoOutcome, "the gateway reports outcomes in lower case")
	// The selfie step's live feedback came from the node's face detector.
	require.Equal(t, "1", res.SelfieFaces, "one face in the fake camera's frames (feedback: %s)", res.SelfieHint)
	require.Equal(t, rv.CaseID("demo", decisionOf(e.ctx, t, e.n, e.cfg, res.SessionID).GetDecisionId()), res.CaseID)
	require.Contains(t, res.CaseDecision, "REJECT")
	for _, s := range []string{"demo-capture.png", "demo-selfie.png", "demo-result.png", "console-queue.png", "console-case.png", "console-decided.png"} {
		st, err := os.Stat(filepath.Join(artifacts, s))
		require.NoError(t, err, "screenshot %s", s)
		require.Positive(t, st.Size())
	}
	return res
}

// requireReviewedReject: the reviewer's REJECT comes back through Kafka and
// the session actor as the final decision, and both webhooks arrive,
// signed, without the reviewer's comment.
func (e *browserEnv) requireReviewedReject(res browserFlowResult, reason string) {
	t := e.t
	t.Helper()
	out := collect(e.ctx, t, e.n.Brokers(), e.cfg, func(o *outputs) bool { return len(o.decisions[res.SessionID]) > 1 })
	ds := out.decisions[res.SessionID]
	final := ds[len(ds)-1]
	require.True(t, final.GetReviewed())
	require.Equal(t, ekycv1.Outcome_OUTCOME_REJECT, final.GetOutcome())
	require.Equal(t, ds[0].GetDecisionId(), final.GetSupersedesDecisionId())
	require.Equal(t, []string{reason}, final.GetReasonCodes())
	require.NotEmpty(t, final.GetReviewerId())
	require.Eventually(t, func() bool {
		_, _, a := e.rcv.find("verification.decided", res.SessionID)
		_, _, b := e.rcv.find("review.decided", res.SessionID)
		return a && b
	}, 2*time.Minute, 50*time.Millisecond)
	ev, _, _ := e.rcv.find("verification.decided", res.SessionID)
	require.Equal(t, "REVIEW", ev.Data.Outcome)
	ev, raw, _ := e.rcv.find("review.decided", res.SessionID)
	require.Equal(t, "REJECT", ev.Data.Outcome)
	require.NotContains(t, raw, "e2e reviewer", "the reviewer's comment stays in the console")
	e.rcv.mu.Lock()
	require.Zero(t, e.rcv.badSig)
	e.rcv.mu.Unlock()
}

// decisionOf returns the first decision published for session.
func decisionOf(ctx context.Context, t *testing.T, n *node.Node, cfg config.Config, session string) *ekycv1.Decision {
	t.Helper()
	out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions[session]) > 0 })
	return out.decisions[session][0]
}

func readTestdata(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{".."}, append([]string{"testdata"}, parts...)...)...))
	require.NoError(t, err)
	return b
}

// TestDemoMountedByConfig: with demo.enabled the node serves /demo and its
// start endpoint creates a session of demo.tenant whose token works on the
// API (and only there); without it /demo is not served; a demo tenant the
// node does not know stops the start.
func TestDemoMountedByConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cfg := testConfig(t)
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()))
	require.NoError(t, err)
	resp, err := http.Get("http://" + n.GatewayAddr() + "/demo/")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "no demo unless enabled")
	n.Close(true)

	cfg = testConfig(t)
	cfg.Demo.Enabled, cfg.Demo.Tenant = true, "nobody"
	_, err = node.Start(ctx, cfg, node.WithLogger(quietLogger()))
	require.ErrorContains(t, err, `demo.tenant "nobody"`)

	cfg = testConfig(t)
	cfg.Demo.Enabled = true
	// The tenant's own rate limit (tenants[].rate_limit) replaces the
	// node's 200/400 for the demo tenant.
	cfg.Tenants[0].RateLimit = config.RateLimit{RPS: 0.01, Burst: 7}
	n, err = node.Start(ctx, cfg, node.WithLogger(quietLogger()))
	require.NoError(t, err)
	defer n.Close(true)
	base := "http://" + n.GatewayAddr()
	resp, err = http.Get(base + "/demo/")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")

	req, err := http.NewRequest("POST", base+"/demo/api/start", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", base)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var started struct {
		SessionID string `json:"session_id"`
		Token     string `json:"token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&started))
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.True(t, strings.HasPrefix(started.Token, "est_"))

	tok := apiClient{t: t, base: base, key: started.Token}
	code, got := tok.do("GET", "/v1/sessions/"+started.SessionID, "", nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, []any{"document", "face"}, got["requested_checks"])
	code, _ = tok.do("GET", "/v1/webhooks/events", "", nil)
	require.Equal(t, http.StatusUnauthorized, code, "a session token opens its session's routes only")

	// Live selfie feedback: the node's face detector on a camera frame.
	frame := func(img image.Image) []byte {
		var buf bytes.Buffer
		require.NoError(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}))
		return buf.Bytes()
	}
	portrait, _, err := image.Decode(bytes.NewReader(readTestdata(t, "faces", "obama_small.jpg")))
	require.NoError(t, err)
	blank := image.NewGray(image.Rect(0, 0, 320, 240))
	var probe struct {
		Faces []struct{ X, Y, W, H, Score float64 } `json:"faces"`
	}
	probeOf := func(body []byte) int {
		req, err := http.NewRequest("POST", base+"/v1/sessions/"+started.SessionID+"/selfie/probe", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+started.Token)
		req.Header.Set("Content-Type", "image/jpeg")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		probe.Faces = nil
		if resp.StatusCode == http.StatusOK {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&probe))
		}
		return resp.StatusCode
	}
	if _, err := os.Stat(filepath.Join(ort.DefaultDir(), "face_embed")); err == nil {
		require.Equal(t, http.StatusOK, probeOf(frame(portrait)))
		require.Len(t, probe.Faces, 1, "one face in the portrait")
		f := probe.Faces[0]
		require.Greater(t, f.Score, 0.5)
		require.True(t, f.X > 0.2 && f.X+f.W < 0.8 && f.W > 0.1, "a centred face box: %+v", f)
		require.Equal(t, http.StatusOK, probeOf(frame(blank)))
		require.Empty(t, probe.Faces, "no face in a blank frame")
	} else {
		require.Equal(t, http.StatusServiceUnavailable, probeOf(frame(portrait)), "no face models: not available")
	}

	// The tenant's bucket (burst 7) runs dry within a few requests.
	limited := false
	for range 6 {
		code, _ = tok.do("GET", "/v1/sessions/"+started.SessionID, "", nil)
		if code == http.StatusTooManyRequests {
			limited = true
			break
		}
		require.Equal(t, http.StatusOK, code)
	}
	require.True(t, limited, "tenants[].rate_limit applies")

	// A cross-site page cannot start sessions.
	req, err = http.NewRequest("POST", base+"/demo/api/start", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// TestBrowserDocumentReviewEndToEnd is the document path of the same
// flow: the fake camera shows a passport page (internal/docgen: a TD3 page
// with an OCR-B MRZ and a photo) of a 15-year-old; the demo (checks
// document and face) captures it as the document and, held up to the
// camera, as the selfie; the node reads the MRZ from the browser's frame
// (OCR), finds the holder under age (DOC_HOLDER_UNDERAGE → REVIEW); the
// reviewer sees the MRZ fields and checks, the page and the portrait
// cropped from it, and rejects.
func TestBrowserDocumentReviewEndToEnd(t *testing.T) {
	if _, err := os.Stat(filepath.Join(ort.DefaultDir(), "ocr_rec")); err != nil {
		t.Skipf("OCR models not in %s: run make models", ort.DefaultDir())
	}
	e := newBrowserEnv(t, "document", "face")
	font, err := docgen.LoadFont(filepath.Join("..", "testdata", "fonts", "OCRB.ttf"))
	require.NoError(t, err)
	photo, _, err := image.Decode(bytes.NewReader(readTestdata(t, "faces", "obama.jpg")))
	require.NoError(t, err)
	now := time.Now().UTC()
	r := &docgen.Renderer{Font: font, Ref: now, Portrait: photo}
	page, err := r.Render(docgen.TD3, docgen.Holder{DocCode: "P<", Issuer: "UTO", Number: "L01234567", Nationality: "UTO",
		Surname: "ERIKSSON", Given: "ANNA", Sex: "F", Birth: now.AddDate(-15, 0, -10), Expiry: now.AddDate(5, 0, 0)})
	require.NoError(t, err)

	res := e.runFlow(page.Image, "DOC_HOLDER_UNDERAGE", "document")
	require.Contains(t, res.DemoReasons, "DOC_HOLDER_UNDERAGE")
	require.Contains(t, res.Evidence.Checks, "check-document")
	require.Contains(t, res.Evidence.MRZFields, "ERIKSSON", "the MRZ read from the browser's frame, shown to the reviewer")
	require.Contains(t, res.Evidence.MRZChecks, "valid")
	require.Contains(t, res.Evidence.Images, "portrait", "the holder's photo cropped from the page")
	e.requireReviewedReject(res, "DOC_HOLDER_UNDERAGE")
}
