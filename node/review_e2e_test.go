package node_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openekyc/ekyc/actors/webhook"
	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/internal/testgen"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	rv "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/labels"
	"github.com/openekyc/ekyc/store/tenants"
	"github.com/openekyc/ekyc/streams/codec"
)

// hookEvent is a webhook body as a receiver sees it.
type hookEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		SessionID            string   `json:"session_id"`
		DecisionID           string   `json:"decision_id"`
		Outcome              string   `json:"outcome"`
		ReasonCodes          []string `json:"reason_codes"`
		ReviewerID           string   `json:"reviewer_id"`
		SupersedesDecisionID string   `json:"supersedes_decision_id"`
	} `json:"data"`
}

// eventReceiver verifies each webhook's signature and keeps the bodies.
type eventReceiver struct {
	mu      sync.Mutex
	secrets []string
	events  []hookEvent
	raw     []string
	badSig  int
}

func (r *eventReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := webhook.Verify(req.Header.Get(webhook.SignatureHeader), body, r.secrets, 0, time.Now()); err != nil {
		r.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev hookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.events = append(r.events, ev)
	r.raw = append(r.raw, string(body))
	w.WriteHeader(http.StatusOK)
}

func (r *eventReceiver) find(typ, sid string) (hookEvent, string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, e := range r.events {
		if e.Type == typ && e.Data.SessionID == sid {
			return e, r.raw[i], true
		}
	}
	return hookEvent{}, "", false
}

func passportRequest(sid, callback string, birth time.Time) *ekycv1.VerificationRequest {
	p := testgen.TD3{Issuer: "UTO", Nationality: "UTO", Surname: "ERIKSSON", Given: "ANNA", Number: "L01234567", Sex: "F",
		Birth: birth, Expiry: fixedNow.AddDate(3, 0, 0)}
	lines := p.Lines()
	return &ekycv1.VerificationRequest{TenantId: "demo", SessionId: sid, EventId: "evt-" + sid, CallbackUrl: callback,
		Applicant:       &ekycv1.Applicant{GivenNames: "Anna", Surname: "Eriksson", DateOfBirth: birth.Format("2006-01-02"), Nationality: "UTO"},
		Document:        &ekycv1.Document{Type: ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT, MrzLines: lines[:]},
		RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT}}
}

// TestReviewDecisionEndToEnd: an under-age applicant's REVIEW decision
// opens a case (priority document); a reviewer's REJECT, produced twice
// (once by the node's publisher, once as JSON by another client), yields
// one final decision (reviewed, REJECT, superseding the REVIEW decision)
// on the decisions topic, a review.decided webhook, a labelled example and
// a DECIDED session state. A review decision for an approved session and
// one with an unknown reason code are dead-lettered.
func TestReviewDecisionEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	rcv := &eventReceiver{}
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

	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	defer n.Close(true)
	cl := mustClient(t, n.Brokers())

	produce := func(topic, key string, m proto.Message, headers ...kgo.RecordHeader) {
		t.Helper()
		v, err := proto.Marshal(m)
		require.NoError(t, err)
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: v, Headers: headers}).FirstErr())
	}
	produce(cfg.Kafka.Topics.Requests, "rv-minor", passportRequest("rv-minor", srv.URL+"/ekyc", fixedNow.AddDate(-15, 0, 0)))
	produce(cfg.Kafka.Topics.Requests, "rv-adult", passportRequest("rv-adult", srv.URL+"/ekyc", time.Date(1980, 1, 2, 0, 0, 0, 0, time.UTC)))
	out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions) == 2 })
	require.NoError(t, ctx.Err())
	first := out.decisions["rv-minor"][0]
	approved := out.decisions["rv-adult"][0]
	require.Equal(t, ekycv1.Outcome_OUTCOME_REVIEW, first.GetOutcome(), "reasons %v", first.GetReasonCodes())
	require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, approved.GetOutcome(), "reasons %v", approved.GetReasonCodes())
	require.NotEmpty(t, first.GetReasonCodes())

	// The REVIEW decision opened a case, of priority document.
	caseID := rv.CaseID("demo", first.GetDecisionId())
	var c rv.Case
	require.Eventually(t, func() bool {
		c, err = n.ReviewStore().Get(ctx, "demo", caseID)
		return err == nil
	}, time.Minute, 20*time.Millisecond, "the case is opened before the REVIEW decision is published")
	require.Equal(t, rv.PriorityDocument, c.Priority)
	require.Equal(t, rv.StateOpen, c.State)
	require.Equal(t, "rv-minor", c.SessionID)
	require.Equal(t, first.GetReasonCodes(), c.Reasons)
	require.Equal(t, fixedNow.Add(24*time.Hour), c.Due, "document SLA from the configuration")
	_, err = n.ReviewStore().Get(ctx, "demo", rv.CaseID("demo", approved.GetDecisionId()))
	require.Error(t, err, "no case for an approved session")

	// The reviewer rejects; the decision is published twice.
	reviewedAt := fixedNow.Add(10 * time.Minute)
	rd := &ekycv1.ReviewDecision{TenantId: "demo", SessionId: "rv-minor", CaseId: caseID, ReviewDecisionId: first.GetDecisionId(),
		Outcome: ekycv1.Outcome_OUTCOME_REJECT, ReasonCodes: []string{first.GetReasonCodes()[0]}, ReviewerId: "reviewer-7",
		DecidedAt: timestamppb.New(reviewedAt)}
	require.NoError(t, n.PublishReviewDecision(ctx, rd))
	require.Equal(t, caseID, rd.GetEventId(), "event id defaults to the case id")
	js, err := protojson.Marshal(rd)
	require.NoError(t, err)
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Kafka.Topics.ReviewDecisions, Key: []byte("rv-minor"), Value: js,
		Headers: []kgo.RecordHeader{{Key: codec.HeaderContentType, Value: []byte(codec.ContentTypeJSON)}}}).FirstErr())

	// Refused: an unknown reason code (validation), and a review decision
	// for the approved session (the session actor's refusal).
	bad := proto.Clone(rd).(*ekycv1.ReviewDecision)
	bad.ReasonCodes = []string{"NOT_A_CODE"}
	produce(cfg.Kafka.Topics.ReviewDecisions, "rv-minor", bad)
	adultCase := rv.CaseID("demo", approved.GetDecisionId())
	produce(cfg.Kafka.Topics.ReviewDecisions, "rv-adult", &ekycv1.ReviewDecision{TenantId: "demo", SessionId: "rv-adult", CaseId: adultCase,
		EventId: adultCase, ReviewDecisionId: approved.GetDecisionId(), Outcome: ekycv1.Outcome_OUTCOME_REJECT,
		ReasonCodes: []string{"DOC_HOLDER_UNDERAGE"}, ReviewerId: "reviewer-7"})
	require.Error(t, n.PublishReviewDecision(ctx, bad), "the publisher validates too")

	out = collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool {
		return len(o.decisions["rv-minor"]) >= 3 && len(o.dlq["rv-minor"]) >= 1 && len(o.dlq["rv-adult"]) >= 1
	})
	require.NoError(t, ctx.Err(), "decisions %d, dead letters %d/%d", len(out.decisions["rv-minor"]), len(out.dlq["rv-minor"]), len(out.dlq["rv-adult"]))

	// One REVIEW decision and one final decision, re-emitted as stored for
	// the second delivery (consumers dedupe by decision_id).
	finals := map[string]*ekycv1.Decision{}
	reviews := 0
	for _, d := range out.decisions["rv-minor"] {
		if !d.GetReviewed() {
			require.Equal(t, first.GetDecisionId(), d.GetDecisionId())
			reviews++
			continue
		}
		if prev, ok := finals[d.GetDecisionId()]; ok {
			require.True(t, proto.Equal(prev, d), "a re-emit carries the stored decision")
		}
		finals[d.GetDecisionId()] = d
	}
	require.Equal(t, 1, reviews)
	require.Len(t, finals, 1, "exactly one final decision")
	var final *ekycv1.Decision
	for _, d := range finals {
		final = d
	}
	require.Equal(t, node.ReviewedDecisionID("demo", "rv-minor", caseID), final.GetDecisionId())
	require.Equal(t, ekycv1.Outcome_OUTCOME_REJECT, final.GetOutcome())
	require.Equal(t, first.GetDecisionId(), final.GetSupersedesDecisionId())
	require.Equal(t, caseID, final.GetCaseId())
	require.Equal(t, "reviewer-7", final.GetReviewerId())
	require.Equal(t, []string{first.GetReasonCodes()[0]}, final.GetReasonCodes())
	require.Equal(t, first.GetPolicyId(), final.GetPolicyId())
	require.Equal(t, first.GetPolicyVersion(), final.GetPolicyVersion())
	require.Equal(t, reviewedAt, final.GetDecidedAt().AsTime())
	require.Len(t, out.decisions["rv-adult"], 1, "the approved session is not decided again")

	for sid, want := range map[string]string{"rv-minor": "reason code", "rv-adult": "not in review"} {
		recs := out.dlq[sid]
		require.Len(t, recs, 1, sid)
		require.Equal(t, "INPUT_VALIDATION_ERROR", header(recs[0], "ekyc-dlq-reason"))
		require.Contains(t, header(recs[0], "ekyc-dlq-detail"), want)
		require.Equal(t, cfg.Kafka.Topics.ReviewDecisions, header(recs[0], "ekyc-source-topic"))
	}

	// The session is DECIDED with the final decision; the REVIEW decision
	// stays in its history.
	st, err := n.Session(ctx, "demo", "rv-minor")
	require.NoError(t, err)
	require.Equal(t, ekycv1.SessionStatus_SESSION_STATUS_DECIDED, st.GetStatus())
	require.Equal(t, final.GetDecisionId(), st.GetDecision().GetDecisionId())
	require.Len(t, st.GetPreviousDecisions(), 1)
	require.Equal(t, first.GetDecisionId(), st.GetPreviousDecisions()[0].GetDecisionId())
	adult, err := n.Session(ctx, "demo", "rv-adult")
	require.NoError(t, err)
	require.Equal(t, approved.GetDecisionId(), adult.GetDecision().GetDecisionId(), "never applied to the approved session")

	// A labelled example, once.
	ex, err := n.Labels().Get(ctx, "demo", caseID)
	require.NoError(t, err)
	require.Equal(t, labels.LabelReject, ex.Label)
	require.Equal(t, first.GetReasonCodes(), ex.ReviewReasons)
	require.Equal(t, final.GetDecisionId(), ex.DecisionID)
	require.Equal(t, "default", ex.PolicyID)
	require.NotEmpty(t, ex.Features)
	var sb strings.Builder
	count, err := n.Labels().Export(ctx, &sb)
	require.NoError(t, err)
	require.Equal(t, 1, count)
	require.NotContains(t, sb.String(), "ERIKSSON")
	require.NotContains(t, sb.String(), "L01234567")

	// The tenant's receiver gets verification.decided for the REVIEW
	// decision, then review.decided for the final one.
	var ev hookEvent
	var raw string
	require.Eventually(t, func() bool {
		var ok bool
		ev, raw, ok = rcv.find("review.decided", "rv-minor")
		return ok
	}, time.Minute, 20*time.Millisecond, "review.decided webhook")
	require.Equal(t, "REJECT", ev.Data.Outcome)
	require.Equal(t, final.GetDecisionId(), ev.Data.DecisionID)
	require.Equal(t, "reviewer-7", ev.Data.ReviewerID)
	require.Equal(t, first.GetDecisionId(), ev.Data.SupersedesDecisionID)
	require.NotContains(t, raw, "Eriksson")
	require.NotContains(t, raw, "comment")
	var rev hookEvent
	require.Eventually(t, func() bool {
		var ok bool
		rev, _, ok = rcv.find("verification.decided", "rv-minor")
		return ok
	}, time.Minute, 20*time.Millisecond, "verification.decided webhook of the REVIEW decision")
	require.Equal(t, "REVIEW", rev.Data.Outcome)
	require.Empty(t, rev.Data.ReviewerID)
	rcv.mu.Lock()
	require.Zero(t, rcv.badSig)
	rcv.mu.Unlock()
}
