package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/actors/webhook"
	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/internal/testgen"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/tenants"
)

// flakyReceiver answers 500 while down, then accepts; it verifies every
// signature and keeps a de-duplicated view by Idempotency-Key.
type flakyReceiver struct {
	mu        sync.Mutex
	up        bool
	secrets   []string
	refused   int
	delivered map[string]int
	outcomes  map[string]string // session → outcome
	badSig    int
}

func (r *flakyReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.up {
		r.refused++
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if err := webhook.Verify(req.Header.Get(webhook.SignatureHeader), body, r.secrets, 0, time.Now()); err != nil {
		r.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev struct {
		Data struct {
			SessionID string `json:"session_id"`
			Outcome   string `json:"outcome"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.delivered[req.Header.Get("Idempotency-Key")]++
	r.outcomes[ev.Data.SessionID] = ev.Data.Outcome
	w.WriteHeader(http.StatusOK)
}

// TestWebhooksSurviveRestart: 40 decisions whose webhooks the receiver
// refuses (500) until the node has been stopped; after a restart of the
// node on the same data directory every decision's webhook arrives, signed,
// with its outcome, exactly once in the receiver's de-duplicated view.
func TestWebhooksSurviveRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	// A retry budget of ~30 s: long enough to outlive the restart.
	cfg.Webhooks.Schedule = nil
	for range 100 {
		cfg.Webhooks.Schedule = append(cfg.Webhooks.Schedule, config.Duration(300*time.Millisecond))
	}
	rcv := &flakyReceiver{delivered: map[string]int{}, outcomes: map[string]string{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()

	envKeys, err := envelope.LoadOrCreateKeyFile(cfg.MasterKeyFile)
	require.NoError(t, err)
	ts, err := tenants.Open(ctx, filepath.Join(cfg.DataDir, "tenants"), tenants.WithSealer(envKeys))
	require.NoError(t, err)
	require.NoError(t, ts.CreateTenant(ctx, tenants.Tenant{ID: "demo", Name: "Demo"}))
	secret, err := ts.RotateWebhookSecret(ctx, "demo")
	require.NoError(t, err)
	rcv.secrets = []string{secret}
	require.NoError(t, ts.Close())

	start := func() *node.Node {
		n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
		require.NoError(t, err)
		return n
	}
	n := start()
	const sessions = 40
	cl := mustClient(t, n.Brokers())
	want := map[string]string{}
	for i := range sessions {
		sid := fmt.Sprintf("wh-%02d", i)
		p := testgen.TD3{Issuer: "UTO", Nationality: "UTO", Surname: "ERIKSSON", Given: "ANNA", Number: fmt.Sprintf("L%08d", i), Sex: "F",
			Birth: time.Date(1980, 1, 2, 0, 0, 0, 0, time.UTC), Expiry: fixedNow.AddDate(3, 0, 0)}
		if i%4 == 3 { // a minor: REVIEW
			p.Birth = fixedNow.AddDate(-15, 0, 0)
		}
		lines := p.Lines()
		req := &ekycv1.VerificationRequest{TenantId: "demo", SessionId: sid, EventId: "evt-" + sid, CallbackUrl: srv.URL + "/ekyc",
			Applicant:       &ekycv1.Applicant{GivenNames: "Anna", Surname: "Eriksson", DateOfBirth: p.Birth.Format("2006-01-02"), Nationality: "UTO"},
			Document:        &ekycv1.Document{Type: ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, MrzLines: lines[:]},
			RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT}}
		v, err := proto.Marshal(req)
		require.NoError(t, err)
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Kafka.Topics.Requests, Key: []byte(sid), Value: v}).FirstErr())
	}
	out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions) == sessions })
	require.Len(t, out.decisions, sessions)
	for sid, ds := range out.decisions {
		want[sid] = ds[0].GetOutcome().String()[len("OUTCOME_"):]
	}
	// The receiver has refused attempts before the node stops.
	require.Eventually(t, func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return rcv.refused >= sessions },
		time.Minute, 20*time.Millisecond)
	n.Close(true)

	rcv.mu.Lock()
	rcv.up = true
	rcv.mu.Unlock()
	n = start()
	defer n.Close(true)
	require.Eventually(t, func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return len(rcv.outcomes) == sessions },
		2*time.Minute, 20*time.Millisecond)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	require.Zero(t, rcv.badSig)
	require.Equal(t, want, rcv.outcomes)
	require.Len(t, rcv.delivered, sessions, "one event per decision")
	for id, c := range rcv.delivered {
		require.Equal(t, 1, c, "event %s delivered %d times", id, c)
	}
}
