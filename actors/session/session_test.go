package session_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/actors/session"
	"github.com/openekyc/ekyc/cluster"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/store/sessions"
	"github.com/openekyc/ekyc/store/sessions/pebblestore"
)

// recorder is an Emitter that records every emit and can be made to fail.
type recorder struct {
	mu    sync.Mutex
	out   []*ekycv1.Decision
	fails atomic.Int32
}

func (r *recorder) Emit(_ context.Context, d *ekycv1.Decision, _ ekycv1.Encoding) error {
	if r.fails.Load() > 0 {
		r.fails.Add(-1)
		return errors.New("broker unavailable")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out = append(r.out, d)
	return nil
}

func (r *recorder) emitted() []*ekycv1.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*ekycv1.Decision(nil), r.out...)
}

// passIfScore decides APPROVE when every check passed, REVIEW otherwise; it
// is a stand-in for the policy engine so these tests isolate orchestration.
func passIfAllPass(_ *ekycv1.VerificationRequest, checks []*ekycv1.CheckResult) (session.Verdict, error) {
	v := session.Verdict{Outcome: ekycv1.Outcome_OUTCOME_APPROVE, Score: 100, PolicyID: "test", PolicyVersion: 1}
	for _, c := range checks {
		if c.GetStatus() != ekycv1.CheckStatus_CHECK_STATUS_PASS {
			v.Outcome, v.Score = ekycv1.Outcome_OUTCOME_REVIEW, 50
			v.ReasonCodes = append(v.ReasonCodes, c.GetReasonCodes()...)
		}
	}
	return v, nil
}

func passing(context.Context, *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error) {
	return &ekycv1.CheckResult{Status: ekycv1.CheckStatus_CHECK_STATUS_PASS, Score: 1}, nil
}

type env struct {
	store  sessions.Store
	rec    *recorder
	deps   *session.Deps
	member *cluster.Member
}

func newEnv(t *testing.T, mutate func(*session.Deps)) *env {
	t.Helper()
	st, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	rec := &recorder{}
	deps := &session.Deps{
		Store:          st,
		Checkers:       map[ekycv1.CheckKind]session.Checker{ekycv1.CheckKind_CHECK_KIND_DOCUMENT: passing},
		Decide:         passIfAllPass,
		Emitter:        rec,
		CheckTimeout:   200 * time.Millisecond,
		CheckRetries:   1,
		PassivateAfter: time.Minute,
		OpTimeout:      10 * time.Second,
		Metrics:        session.NewMetrics(nil),
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mutate != nil {
		mutate(deps)
	}
	e := &env{store: st, rec: rec, deps: deps}
	e.member = startMember(t, deps)
	return e
}

func startMember(t *testing.T, deps *session.Deps) *cluster.Member {
	t.Helper()
	m, err := cluster.Start(cluster.Config{Name: "test", Host: "127.0.0.1", RequestTimeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, session.Kind(deps))
	require.NoError(t, err)
	t.Cleanup(func() { m.Shutdown(true) })
	return m
}

func request(sid, eid string, kinds ...ekycv1.CheckKind) *ekycv1.ProcessVerification {
	if len(kinds) == 0 {
		kinds = []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT}
	}
	return &ekycv1.ProcessVerification{Request: &ekycv1.VerificationRequest{
		TenantId: "t1", SessionId: sid, EventId: eid, RequestedChecks: kinds,
	}}
}

func send(t *testing.T, m *cluster.Member, msg *ekycv1.ProcessVerification) *ekycv1.ProcessAck {
	t.Helper()
	resp, err := m.Request(context.Background(), cluster.SessionKind, cluster.SessionIdentity(msg.Request.TenantId, msg.Request.SessionId), msg)
	require.NoError(t, err)
	ack, ok := resp.(*ekycv1.ProcessAck)
	require.True(t, ok, "reply %T", resp)
	return ack
}

func TestDecideOnceAndReemitOnRedelivery(t *testing.T) {
	e := newEnv(t, nil)
	ack := send(t, e.member, request("s1", "e1"))
	require.Empty(t, ack.GetError())
	require.False(t, ack.GetDuplicate())
	require.Equal(t, ekycv1.SessionStatus_SESSION_STATUS_DECIDED, ack.GetStatus())
	require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, ack.GetDecision().GetOutcome())

	// Redelivery of the same event: no second decision, the stored one is re-emitted.
	again := send(t, e.member, request("s1", "e1"))
	require.True(t, again.GetDuplicate())
	require.Equal(t, ack.GetDecision().GetDecisionId(), again.GetDecision().GetDecisionId())
	out := e.rec.emitted()
	require.Len(t, out, 2)
	require.Equal(t, out[0].GetDecisionId(), out[1].GetDecisionId())
	require.Equal(t, 1.0, testutil.ToFloat64(e.deps.Metrics.Decisions.WithLabelValues("OUTCOME_APPROVE")))

	st, err := e.store.Get(context.Background(), "t1", "s1")
	require.NoError(t, err)
	require.EqualValues(t, 2, st.GetVersion(), "created(processing) then decided: two CAS writes")
	require.Equal(t, []string{"e1"}, st.GetAppliedEventIds())
	require.Equal(t, session.DecisionID("t1", "s1", "e1"), st.GetDecision().GetDecisionId())
}

func TestCheckTimeoutIsAnExplicitErrorResult(t *testing.T) {
	var calls atomic.Int32
	e := newEnv(t, func(d *session.Deps) {
		d.Checkers[ekycv1.CheckKind_CHECK_KIND_DOCUMENT] = func(ctx context.Context, _ *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error) {
			calls.Add(1)
			<-ctx.Done()
			return nil, ctx.Err()
		}
	})
	ack := send(t, e.member, request("s-timeout", "e1"))
	require.Empty(t, ack.GetError())
	require.Equal(t, ekycv1.Outcome_OUTCOME_REVIEW, ack.GetDecision().GetOutcome())
	c := ack.GetDecision().GetChecks()[0]
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_ERROR, c.GetStatus())
	require.Equal(t, []string{reasons.CheckTimeout}, c.GetReasonCodes())
	require.EqualValues(t, 2, c.GetAttempts(), "one retry after the first timeout")
	require.EqualValues(t, 2, calls.Load())
}

func TestCheckRetriedAfterError(t *testing.T) {
	var calls atomic.Int32
	e := newEnv(t, func(d *session.Deps) {
		d.Checkers[ekycv1.CheckKind_CHECK_KIND_DOCUMENT] = func(ctx context.Context, r *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error) {
			if calls.Add(1) == 1 {
				return nil, errors.New("transient backend error")
			}
			return passing(ctx, r)
		}
	})
	ack := send(t, e.member, request("s-retry", "e1"))
	c := ack.GetDecision().GetChecks()[0]
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, c.GetStatus())
	require.EqualValues(t, 2, c.GetAttempts())
	require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, ack.GetDecision().GetOutcome())
}

func TestPanickingAndMissingChecks(t *testing.T) {
	e := newEnv(t, func(d *session.Deps) {
		d.Checkers[ekycv1.CheckKind_CHECK_KIND_SCREENING] = func(context.Context, *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error) {
			panic("bug in a check")
		}
	})
	ack := send(t, e.member, request("s-mixed", "e1", ekycv1.CheckKind_CHECK_KIND_FACE, ekycv1.CheckKind_CHECK_KIND_DOCUMENT,
		ekycv1.CheckKind_CHECK_KIND_SCREENING, ekycv1.CheckKind_CHECK_KIND_DOCUMENT))
	checks := ack.GetDecision().GetChecks()
	require.Len(t, checks, 3, "one result per distinct kind")
	byKind := map[ekycv1.CheckKind]*ekycv1.CheckResult{}
	for _, c := range checks {
		byKind[c.GetKind()] = c
	}
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, byKind[ekycv1.CheckKind_CHECK_KIND_DOCUMENT].GetStatus())
	require.Equal(t, []string{reasons.CheckUnavailable}, byKind[ekycv1.CheckKind_CHECK_KIND_FACE].GetReasonCodes())
	require.Equal(t, []string{reasons.CheckError}, byKind[ekycv1.CheckKind_CHECK_KIND_SCREENING].GetReasonCodes())
	require.Contains(t, byKind[ekycv1.CheckKind_CHECK_KIND_SCREENING].GetError(), "panicked")
	require.Equal(t, ekycv1.Outcome_OUTCOME_REVIEW, ack.GetDecision().GetOutcome())
}

func TestDecisionEngineFailureMarksSessionFailed(t *testing.T) {
	e := newEnv(t, func(d *session.Deps) {
		d.Decide = func(*ekycv1.VerificationRequest, []*ekycv1.CheckResult) (session.Verdict, error) {
			return session.Verdict{}, errors.New("policy exploded")
		}
	})
	ack := send(t, e.member, request("s-fail", "e1"))
	require.Equal(t, ekycv1.SessionStatus_SESSION_STATUS_FAILED, ack.GetStatus())
	require.Equal(t, ekycv1.Outcome_OUTCOME_REVIEW, ack.GetDecision().GetOutcome())
	require.Equal(t, []string{reasons.DecisionEngineError}, ack.GetDecision().GetReasonCodes())
}

func TestEmitFailureIsRetriedWithTheSameDecision(t *testing.T) {
	e := newEnv(t, nil)
	e.rec.fails.Store(1)
	ack := send(t, e.member, request("s-emit", "e1"))
	require.NotEmpty(t, ack.GetError(), "the caller must retry: the decision was stored but not emitted")
	require.Empty(t, e.rec.emitted())

	again := send(t, e.member, request("s-emit", "e1"))
	require.Empty(t, again.GetError())
	out := e.rec.emitted()
	require.Len(t, out, 1)
	st, err := e.store.Get(context.Background(), "t1", "s-emit")
	require.NoError(t, err)
	require.Equal(t, st.GetDecision().GetDecisionId(), out[0].GetDecisionId())
	require.EqualValues(t, 2, st.GetVersion(), "the retry did not decide again")
}

// TestAfterDecidedRunsBeforeEmitAndIsRetried: the hook sees the stored state
// at rest before the decision is emitted; its failure leaves the event
// unapplied (nothing emitted), and the redelivery runs it again, then emits
// the stored decision.
func TestAfterDecidedRunsBeforeEmitAndIsRetried(t *testing.T) {
	var (
		mu    sync.Mutex
		seen  []*ekycv1.SessionState
		fails atomic.Int32
	)
	fails.Store(1)
	e := newEnv(t, func(d *session.Deps) {
		d.AfterDecided = func(_ context.Context, st *ekycv1.SessionState) error {
			mu.Lock()
			seen = append(seen, st)
			mu.Unlock()
			if fails.Load() > 0 {
				fails.Add(-1)
				return errors.New("monitoring store unavailable")
			}
			return nil
		}
	})
	ack := send(t, e.member, request("s-hook", "e1"))
	require.Contains(t, ack.GetError(), "monitoring store unavailable")
	require.Empty(t, e.rec.emitted(), "not emitted before the hook succeeded")

	again := send(t, e.member, request("s-hook", "e1"))
	require.Empty(t, again.GetError())
	require.Len(t, e.rec.emitted(), 1)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 2)
	for _, st := range seen {
		require.Equal(t, ekycv1.SessionStatus_SESSION_STATUS_DECIDED, st.GetStatus())
		require.EqualValues(t, 2, st.GetVersion(), "called with the stored state")
		require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, st.GetDecision().GetOutcome())
		require.NotNil(t, st.GetRequest())
	}
	st, err := e.store.Get(context.Background(), "t1", "s-hook")
	require.NoError(t, err)
	require.EqualValues(t, 2, st.GetVersion(), "the retry did not decide again")
}

// TestDuplicateActivationsDecideOnce runs two members that do not know each
// other (each believes it owns every identity: the worst case of Proto.Actor's
// alpha cluster during joins) over one store. Both get the same event at the
// same time: exactly one decision is stored, and every emit carries it.
func TestDuplicateActivationsDecideOnce(t *testing.T) {
	st, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	rec := &recorder{}
	var decisions atomic.Int32
	slowDecide := func(r *ekycv1.VerificationRequest, c []*ekycv1.CheckResult) (session.Verdict, error) {
		decisions.Add(1)
		time.Sleep(20 * time.Millisecond) // widen the race window
		return passIfAllPass(r, c)
	}
	mk := func() *cluster.Member {
		return startMember(t, &session.Deps{
			Store: st, Emitter: rec, Decide: slowDecide,
			Checkers:     map[ekycv1.CheckKind]session.Checker{ekycv1.CheckKind_CHECK_KIND_DOCUMENT: passing},
			CheckTimeout: time.Second, OpTimeout: 10 * time.Second, Metrics: session.NewMetrics(nil),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
	}
	a, b := mk(), mk()
	for i := 0; i < 20; i++ {
		sid := "dup-" + string(rune('a'+i))
		var wg sync.WaitGroup
		acks := make([]*ekycv1.ProcessAck, 2)
		for j, m := range []*cluster.Member{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				acks[j] = send(t, m, &ekycv1.ProcessVerification{Request: &ekycv1.VerificationRequest{
					TenantId: "t1", SessionId: sid, EventId: "e1",
					RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT},
				}})
			}()
		}
		wg.Wait()
		require.Empty(t, acks[0].GetError())
		require.Empty(t, acks[1].GetError())
		require.Equal(t, acks[0].GetDecision().GetDecisionId(), acks[1].GetDecision().GetDecisionId())
		require.Equal(t, acks[0].GetDecision().GetDecidedAt().AsTime(), acks[1].GetDecision().GetDecidedAt().AsTime(),
			"both activations report the one stored decision")
		stored, err := st.Get(context.Background(), "t1", sid)
		require.NoError(t, err)
		require.EqualValues(t, 2, stored.GetVersion())
	}
	for _, d := range rec.emitted() {
		stored, err := st.Get(context.Background(), "t1", d.GetSessionId())
		require.NoError(t, err)
		require.Equal(t, stored.GetDecision().GetDecidedAt().AsTime(), d.GetDecidedAt().AsTime(), "only the stored decision is ever emitted")
	}
}

func TestPassivationAndReactivation(t *testing.T) {
	e := newEnv(t, func(d *session.Deps) { d.PassivateAfter = 100 * time.Millisecond })
	first := send(t, e.member, request("s-pass", "e1"))
	require.Eventually(t, func() bool { return testutil.ToFloat64(e.deps.Metrics.Activations) == 0 },
		10*time.Second, 20*time.Millisecond, "the idle activation is stopped")
	again := send(t, e.member, request("s-pass", "e2"))
	require.True(t, again.GetDuplicate(), "a new activation loads the decided state from the store")
	require.Equal(t, first.GetDecision().GetDecisionId(), again.GetDecision().GetDecisionId())
}
