package node_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/internal/testgen"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/blobs"
	"github.com/openekyc/ekyc/store/keys"
	"github.com/openekyc/ekyc/store/sessions"
	"github.com/openekyc/ekyc/store/sessions/pebblestore"
	"github.com/openekyc/ekyc/store/tenants"
)

// testClock is a node clock the test moves forward.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// produceRequest sends a document-only verification request (MRZ text, no
// image) of tenant to the requests topic.
func produceRequest(ctx context.Context, t *testing.T, cl *kgo.Client, cfg config.Config, tenant, session string) {
	t.Helper()
	p := testgen.TD3{Issuer: "UTO", Nationality: "UTO", Surname: "ERIKSSON", Given: "ANNA", Number: "L01234567", Sex: "F",
		Birth: time.Date(1980, 1, 2, 0, 0, 0, 0, time.UTC), Expiry: fixedNow.AddDate(3, 0, 0)}
	lines := p.Lines()
	req := &ekycv1.VerificationRequest{TenantId: tenant, SessionId: session, EventId: "evt-" + session,
		Applicant:       &ekycv1.Applicant{GivenNames: "Anna", Surname: "Eriksson", DateOfBirth: "1980-01-02", Nationality: "UTO"},
		Document:        &ekycv1.Document{Type: ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, MrzLines: lines[:]},
		RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT}}
	v, err := proto.Marshal(req)
	require.NoError(t, err)
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Kafka.Topics.Requests, Key: []byte(session), Value: v}).FirstErr())
}

// TestRetentionEndToEnd: tenant acme (tenants store) and tenant demo
// (configuration) keep sessions 30 days, tenant keep has no retention.
// Sessions are created through the HTTP API (one submitted and decided,
// one abandoned draft with an image) and through Kafka; the clock moves
// 31 days on; one run of the retention job erases exactly the old
// sessions of the tenants with retention (data keys shredded, blobs gone,
// state without request but with its decision, drafts shown erased,
// audit entries by "retention", counted per tenant), and a second run
// erases nothing. Restarted with retention.keep_decisions false and the
// job on its interval, the node deletes the states of the sessions past
// their retention, the one erased earlier included.
func TestRetentionEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	cfg.Inference.Backend = "none"
	cfg.Analytics.Backend = "none"
	cfg.Retention.Interval = 0 // first phase: runs by hand
	cfg.Tenants = []config.Tenant{
		{ID: "demo", DefaultPolicy: "default", RetentionDays: 30},
		{ID: "keep", DefaultPolicy: "default"},
	}
	require.True(t, cfg.Retention.KeepDecisions)
	require.Zero(t, cfg.Retention.DefaultDays)

	envKeys, err := envelope.LoadOrCreateKeyFile(cfg.MasterKeyFile)
	require.NoError(t, err)
	ts, err := tenants.Open(ctx, filepath.Join(cfg.DataDir, "tenants"), tenants.WithSealer(envKeys))
	require.NoError(t, err)
	require.NoError(t, ts.CreateTenant(ctx, tenants.Tenant{ID: "acme", Name: "Acme", RetentionDays: 30}))
	keyA, _, err := ts.CreateKey(ctx, "acme", "ci", tenants.ScopeAdmin)
	require.NoError(t, err)
	require.NoError(t, ts.Close())

	clock := &testClock{now: fixedNow}
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(clock.Now))
	require.NoError(t, err)
	defer func() { n.Close(true) }()
	a := apiClient{t: t, base: "http://" + n.GatewayAddr(), key: keyA}

	// Through the HTTP API: G submitted and decided, D abandoned with an image.
	docImg, err := os.ReadFile(filepath.Join("..", "testdata", "faces", "obama2.jpg"))
	require.NoError(t, err)
	p := testgen.TD3{Issuer: "UTO", Nationality: "UTO", Surname: "QORVATH", Given: "ZYXWA", Number: "L98765432", Sex: "F",
		Birth: time.Date(1975, 5, 6, 0, 0, 0, 0, time.UTC), Expiry: fixedNow.AddDate(4, 0, 0)}
	lines := p.Lines()
	create, err := json.Marshal(map[string]any{
		"applicant": map[string]any{"given_names": "Zyxwa", "surname": "Qorvath", "date_of_birth": "1975-05-06", "nationality": "UTO"},
		"document":  map[string]any{"type": "passport", "issuing_country": "UTO", "mrz_lines": lines[:]},
		"checks":    []string{"document"},
	})
	require.NoError(t, err)
	newDraft := func() string {
		code, out := a.do("POST", "/v1/sessions", "application/json", create)
		require.Equal(t, http.StatusCreated, code, "%v", out)
		id := out["id"].(string)
		code, out = a.do("PUT", "/v1/sessions/"+id+"/document?side=front", "image/jpeg", docImg)
		require.Equal(t, http.StatusOK, code, "%v", out)
		return id
	}
	g, d := newDraft(), newDraft()
	code, out := a.do("POST", "/v1/sessions/"+g+"/submit", "", nil)
	require.Equal(t, http.StatusAccepted, code, "%v", out)

	// Through Kafka: K (demo, 30 days), N (keep, no retention).
	cl := mustClient(t, n.Brokers())
	produceRequest(ctx, t, cl, cfg, "demo", "ret-k")
	produceRequest(ctx, t, cl, cfg, "keep", "ret-n")
	decided := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool {
		return len(o.decisions[g]) > 0 && len(o.decisions["ret-k"]) > 0 && len(o.decisions["ret-n"]) > 0
	})
	require.NotEmpty(t, decided.decisions[g])
	require.NotEmpty(t, decided.decisions["ret-k"])
	require.NotEmpty(t, decided.decisions["ret-n"])
	require.Empty(t, decided.dlq)

	// Y (demo) 20 days later: younger than 30 days at the run.
	clock.Set(fixedNow.Add(20 * 24 * time.Hour))
	produceRequest(ctx, t, cl, cfg, "demo", "ret-y")
	decided = collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions["ret-y"]) > 0 })
	require.NotEmpty(t, decided.decisions["ret-y"])

	// Nothing is past its retention yet.
	erased, failed := n.RunRetention(ctx)
	require.Zero(t, erased)
	require.Zero(t, failed)

	clock.Set(fixedNow.Add(31 * 24 * time.Hour))
	erased, failed = n.RunRetention(ctx)
	require.Equal(t, 3, erased, "G, D and K")
	require.Zero(t, failed)
	require.Equal(t, 2.0, counter(t, n, "ekyc_retention_erased_total", "acme"))
	require.Equal(t, 1.0, counter(t, n, "ekyc_retention_erased_total", "demo"))
	require.Zero(t, counter(t, n, "ekyc_retention_erased_total", "keep"))
	for _, id := range []string{g, d} {
		code, sess := a.do("GET", "/v1/sessions/"+id, "", nil)
		require.Equal(t, http.StatusOK, code, "%v", sess)
		require.Equal(t, "erased", sess["status"], "%v", sess)
	}
	// A second run finds nothing left to erase.
	erased, failed = n.RunRetention(ctx)
	require.Zero(t, erased)
	require.Zero(t, failed)
	n.Close(true)

	// Offline: keys, blobs, states and the audit log.
	master, err := keys.FileMaster(cfg.MasterKeyFile)
	require.NoError(t, err)
	ring, err := keys.Open(ctx, filepath.Join(cfg.DataDir, "keys", "ring"), master)
	require.NoError(t, err)
	bs, err := blobs.Open(ctx, cfg.Blobs.URL, ring)
	require.NoError(t, err)
	raw, err := pebblestore.Open(cfg.Store.Pebble.Dir)
	require.NoError(t, err)
	type ref struct{ tenant, session string }
	for _, s := range []ref{{"acme", g}, {"acme", d}, {"demo", "ret-k"}} {
		gone, err := ring.Shredded(ctx, s.tenant, s.session)
		require.NoError(t, err)
		require.True(t, gone, "%v: key not shredded", s)
		names, err := bs.List(ctx, s.tenant, s.session)
		require.NoError(t, err)
		require.Empty(t, names, "%v: blobs left", s)
	}
	for _, s := range []ref{{"acme", g}, {"demo", "ret-k"}} {
		st, err := raw.Get(ctx, s.tenant, s.session)
		require.NoError(t, err)
		require.Nil(t, st.GetRequest())
		require.Empty(t, st.GetSealedRequest(), "%v: request kept", s)
		require.NotNil(t, st.GetErasedAt())
		require.NotNil(t, st.GetDecision(), "%v: the decision record is kept", s)
	}
	_, err = raw.Get(ctx, "acme", d)
	require.ErrorIs(t, err, sessions.ErrNotFound, "an abandoned draft has no state")
	for _, s := range []ref{{"keep", "ret-n"}, {"demo", "ret-y"}} {
		gone, err := ring.Shredded(ctx, s.tenant, s.session)
		require.NoError(t, err)
		require.False(t, gone, "%v: erased", s)
		st, err := raw.Get(ctx, s.tenant, s.session)
		require.NoError(t, err)
		require.NotEmpty(t, st.GetSealedRequest(), "%v: request dropped", s)
		require.Nil(t, st.GetErasedAt())
	}
	require.NoError(t, raw.Close())
	require.NoError(t, bs.Close())
	require.NoError(t, ring.Close())
	requireErasedBy(ctx, t, cfg, map[string][]string{"acme": {g, d}, "demo": {"ret-k"}}, map[string][]string{"keep": {"ret-n"}, "demo": {"ret-y"}})

	// keep_decisions false, the job on its interval, 51 days on: Y is past
	// its retention and erased, and the states of Y, K and G are deleted.
	cfg.Retention.KeepDecisions = false
	cfg.Retention.Interval = config.Duration(20 * time.Millisecond)
	clock.Set(fixedNow.Add(51 * 24 * time.Hour))
	n, err = node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(clock.Now))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return counter(t, n, "ekyc_retention_erased_total", "demo") >= 2 && counter(t, n, "ekyc_retention_erased_total", "acme") >= 1
	}, time.Minute, 20*time.Millisecond)
	n.Close(true) // waits for the job
	require.Equal(t, 2.0, counter(t, n, "ekyc_retention_erased_total", "demo"), "Y erased, K's state deleted, once each")
	require.Equal(t, 1.0, counter(t, n, "ekyc_retention_erased_total", "acme"), "G's state deleted; D has none")
	require.Zero(t, counter(t, n, "ekyc_retention_failures_total", ""))

	raw, err = pebblestore.Open(cfg.Store.Pebble.Dir)
	require.NoError(t, err)
	defer raw.Close()
	for _, s := range []ref{{"acme", g}, {"demo", "ret-k"}, {"demo", "ret-y"}} {
		_, err := raw.Get(ctx, s.tenant, s.session)
		require.ErrorIs(t, err, sessions.ErrNotFound, "%v: state kept", s)
	}
	st, err := raw.Get(ctx, "keep", "ret-n")
	require.NoError(t, err)
	require.NotEmpty(t, st.GetSealedRequest(), "a tenant without retention keeps its sessions")
	requireErasedBy(ctx, t, cfg, map[string][]string{"demo": {"ret-y"}}, map[string][]string{"keep": {"ret-n"}})
}

// requireErasedBy checks the audit log: every session of erased has a
// session.erased entry by the retention job, no session of kept has one,
// and the chain verifies.
func requireErasedBy(ctx context.Context, t *testing.T, cfg config.Config, erased, kept map[string][]string) {
	t.Helper()
	log, err := audit.Open(ctx, filepath.Join(cfg.DataDir, "audit"))
	require.NoError(t, err)
	defer log.Close()
	_, err = log.Verify(ctx)
	require.NoError(t, err)
	byRetention := func(tenant string) map[string]bool {
		entries, err := log.List(ctx, tenant, 1000)
		require.NoError(t, err)
		out := map[string]bool{}
		for _, e := range entries {
			if e.Action == audit.ActionSessionErased {
				require.Equal(t, "retention", e.Actor, "%s/%s erased by %s", tenant, e.Subject, e.Actor)
				out[e.Subject] = true
			}
		}
		return out
	}
	for tenant, ids := range erased {
		got := byRetention(tenant)
		for _, id := range ids {
			require.True(t, got[id], "%s/%s: no session.erased entry", tenant, id)
		}
	}
	for tenant, ids := range kept {
		got := byRetention(tenant)
		for _, id := range ids {
			require.False(t, got[id], "%s/%s erased", tenant, id)
		}
	}
}
