package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	rv "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/keys"
	"github.com/openekyc/ekyc/store/review"
	"github.com/openekyc/ekyc/store/tenants"
)

// reviewerClient is a browser-like client of the console: a cookie jar and
// the CSRF token returned at login.
type reviewerClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func newReviewerClient(t *testing.T, base string) *reviewerClient {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &reviewerClient{t: t, base: base, hc: &http.Client{Jar: jar}}
}

func (c *reviewerClient) do(method, path string, body any, csrf bool) (int, map[string]any, http.Header) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.hc.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	var out map[string]any
	if len(raw) > 0 && json.Valid(raw) {
		require.NoError(c.t, json.Unmarshal(raw, &out))
	}
	return resp.StatusCode, out, resp.Header
}

func (c *reviewerClient) login(tenant, user, pass string) {
	c.t.Helper()
	code, out, _ := c.do("POST", "/console/api/login", map[string]string{"tenant": tenant, "username": user, "password": pass}, false)
	require.Equal(c.t, http.StatusOK, code, "%v", out)
	c.csrf = out["csrf_token"].(string)
}

// scrape returns the node's /metrics.
func scrape(t *testing.T, n *node.Node) string {
	t.Helper()
	resp, err := http.Get("http://" + n.AdminAddr() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// requireDashboardMetrics checks that every ekyc_* metric a Grafana
// dashboard's PromQL names appears in a /metrics scrape.
func requireDashboardMetrics(t *testing.T, path, metrics string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.NotEmpty(t, dash.Panels)
	name := regexp.MustCompile(`\bekyc_[a-z_]+\b`)
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			names := name.FindAllString(tg.Expr, -1)
			require.NotEmpty(t, names, "%s: no ekyc metric in %q", p.Title, tg.Expr)
			for _, m := range names {
				require.Regexp(t, `(?m)^`+m+`(\{| )`, metrics, "%s: %s is not exported", p.Title, m)
			}
		}
	}
}

// openTenants opens the node's tenants store as the CLI does (node
// stopped); the caller closes it before starting the node.
func openTenants(ctx context.Context, t *testing.T, cfg config.Config) *tenants.Store {
	t.Helper()
	envKeys, err := envelope.LoadOrCreateKeyFile(cfg.MasterKeyFile)
	require.NoError(t, err)
	ts, err := tenants.Open(ctx, filepath.Join(cfg.DataDir, "tenants"), tenants.WithSealer(envKeys))
	require.NoError(t, err)
	return ts
}

type reviewerSpec struct {
	tenant, username string
	role             rv.Role
}

// addReviewers creates reviewers with password pass as `ekyc reviewer
// create` does (node stopped), with cheap argon2id parameters.
func addReviewers(ctx context.Context, t *testing.T, cfg config.Config, pass string, specs ...reviewerSpec) {
	t.Helper()
	master, err := keys.FileMaster(cfg.MasterKeyFile)
	require.NoError(t, err)
	ring, err := keys.Open(ctx, node.KeyringDir(cfg), master)
	require.NoError(t, err)
	defer func() { require.NoError(t, ring.Close()) }()
	rs, err := review.Open(ctx, node.ReviewDir(cfg), ring, review.WithArgon2(review.Argon2Params{Time: 1, MemoryKiB: 1024, Threads: 1, KeyLen: 32, SaltLen: 16}))
	require.NoError(t, err)
	defer func() { require.NoError(t, rs.Close()) }()
	for _, s := range specs {
		_, err = rs.CreateReviewer(ctx, s.tenant, s.username, pass, s.role)
		require.NoError(t, err)
	}
}

// TestConsoleReviewEndToEnd: an under-age applicant's REVIEW decision opens
// a case; a reviewer logs into the console (its own login, not an API key),
// sees the case and its evidence, claims it and rejects it with a reason;
// the final decision (reviewed, REJECT) is published through Kafka and the
// session actor, and the review.decided webhook follows. A POST without the
// CSRF token is refused; a reviewer of another tenant sees nothing.
func TestConsoleReviewEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	cfg.Review.SweepInterval = config.Duration(50 * time.Millisecond)
	rcv := &eventReceiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()

	// Tenants, the webhook secret and reviewers, as the CLI creates them.
	ts := openTenants(ctx, t, cfg)
	require.NoError(t, ts.CreateTenant(ctx, tenants.Tenant{ID: "demo", Name: "Demo"}))
	require.NoError(t, ts.CreateTenant(ctx, tenants.Tenant{ID: "globex", Name: "Globex"}))
	secret, err := ts.RotateWebhookSecret(ctx, "demo")
	require.NoError(t, err)
	rcv.secrets = []string{secret}
	apiKey, _, err := ts.CreateKey(ctx, "demo", "ops", tenants.ScopeAdmin)
	require.NoError(t, err)
	require.NoError(t, ts.Close())
	const pass = "correct horse battery"
	addReviewers(ctx, t, cfg, pass, reviewerSpec{"demo", "alice", rv.RoleReviewer}, reviewerSpec{"globex", "mallory", rv.RoleAdmin})

	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	defer n.Close(true)
	v, err := proto.Marshal(passportRequest("cv-minor", srv.URL+"/ekyc", fixedNow.AddDate(-15, 0, 0)))
	require.NoError(t, err)
	require.NoError(t, mustClient(t, n.Brokers()).ProduceSync(ctx, &kgo.Record{Topic: cfg.Kafka.Topics.Requests, Key: []byte("cv-minor"), Value: v}).FirstErr())
	out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions["cv-minor"]) > 0 })
	first := out.decisions["cv-minor"][0]
	require.Equal(t, ekycv1.Outcome_OUTCOME_REVIEW, first.GetOutcome())
	caseID := rv.CaseID("demo", first.GetDecisionId())

	base := "http://" + n.GatewayAddr()
	alice := newReviewerClient(t, base)
	code, page, _ := alice.do("GET", "/console/", nil, false)
	require.Equal(t, http.StatusOK, code, "the console page is served: %v", page)
	code, _, _ = alice.do("GET", "/console/api/cases", nil, false)
	require.Equal(t, http.StatusUnauthorized, code, "no login, no cases")
	code, _, _ = alice.do("POST", "/console/api/login", map[string]string{"tenant": "demo", "username": "alice", "password": "wrong password!"}, false)
	require.Equal(t, http.StatusUnauthorized, code)
	alice.login("demo", "alice", pass)

	var list map[string]any
	require.Eventually(t, func() bool {
		_, list, _ = alice.do("GET", "/console/api/cases", nil, false)
		cs, _ := list["cases"].([]any)
		return len(cs) == 1
	}, time.Minute, 50*time.Millisecond)
	c0 := list["cases"].([]any)[0].(map[string]any)
	require.Equal(t, caseID, c0["id"])
	require.Equal(t, "document", c0["priority"])
	// The review-queue monitor measures the queue for /metrics.
	require.Eventually(t, func() bool {
		return strings.Contains(scrape(t, n), `ekyc_review_cases_waiting{priority="document",state="open",tenant="demo"} 1`)
	}, time.Minute, 50*time.Millisecond)
	require.Contains(t, scrape(t, n), `ekyc_review_cases_overdue{priority="document",tenant="demo"} 0`)
	// Every metric the review dashboard queries is one the node exports.
	requireDashboardMetrics(t, filepath.Join("..", "deploy", "grafana", "ekyc-review-queue.json"), scrape(t, n))

	code, got, hdr := alice.do("GET", "/console/api/cases/"+caseID, nil, false)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Contains(t, hdr.Get("Cache-Control"), "no-store")
	ev, _ := json.Marshal(got["evidence"])
	require.Contains(t, string(ev), "DOC_HOLDER_UNDERAGE")
	require.Contains(t, string(ev), "Eriksson", "the reviewer sees the applicant")

	// Another tenant's reviewer sees nothing of it.
	mallory := newReviewerClient(t, base)
	mallory.login("globex", "mallory", pass)
	_, ml, _ := mallory.do("GET", "/console/api/cases", nil, false)
	require.Empty(t, ml["cases"])
	code, _, _ = mallory.do("GET", "/console/api/cases/"+caseID, nil, false)
	require.Equal(t, http.StatusNotFound, code)
	code, _, _ = mallory.do("POST", "/console/api/cases/"+caseID+"/claim", map[string]any{}, true)
	require.Equal(t, http.StatusNotFound, code)

	// CSRF: a POST without the token is refused, with it the claim works.
	code, _, _ = alice.do("POST", "/console/api/cases/"+caseID+"/claim", map[string]any{}, false)
	require.Equal(t, http.StatusForbidden, code)
	code, got, _ = alice.do("POST", "/console/api/cases/"+caseID+"/claim", map[string]any{}, true)
	require.Equal(t, http.StatusOK, code, "%v", got)
	code, got, _ = alice.do("POST", "/console/api/cases/"+caseID+"/decide",
		map[string]any{"outcome": "REJECT", "reason_codes": []string{"DOC_HOLDER_UNDERAGE"}, "comment": "holder is 15"}, true)
	require.Equal(t, http.StatusOK, code, "%v", got)

	// The final decision comes back through Kafka and the session actor.
	out = collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions["cv-minor"]) > 1 })
	require.NoError(t, ctx.Err())
	final := out.decisions["cv-minor"][len(out.decisions["cv-minor"])-1]
	require.True(t, final.GetReviewed())
	require.Equal(t, ekycv1.Outcome_OUTCOME_REJECT, final.GetOutcome())
	require.Equal(t, first.GetDecisionId(), final.GetSupersedesDecisionId())
	require.Equal(t, []string{"DOC_HOLDER_UNDERAGE"}, final.GetReasonCodes())
	require.Eventually(t, func() bool { _, _, ok := rcv.find("review.decided", "cv-minor"); return ok }, time.Minute, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		return strings.Contains(scrape(t, n), `ekyc_review_cases_waiting{priority="document",state="open",tenant="demo"} 0`)
	}, time.Minute, 50*time.Millisecond, "a decided case leaves the queue")
	e, raw, _ := rcv.find("review.decided", "cv-minor")
	require.Equal(t, "REJECT", e.Data.Outcome)
	require.NotContains(t, raw, "holder is 15", "the comment stays in the console")
	rcv.mu.Lock()
	require.Zero(t, rcv.badSig)
	rcv.mu.Unlock()

	// Erasure (through the API, of a session submitted over Kafka) also
	// removes its review case.
	api := apiClient{t: t, base: base, key: apiKey}
	code, got = api.do("DELETE", "/v1/sessions/cv-minor", "", nil)
	require.Equal(t, http.StatusNoContent, code, "%v", got)
	code, _, _ = alice.do("GET", "/console/api/cases/"+caseID, nil, false)
	require.Equal(t, http.StatusNotFound, code)
}
