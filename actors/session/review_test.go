package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openekyc/ekyc/actors/session"
	"github.com/openekyc/ekyc/cluster"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
)

// failing is a check that finds a problem, so passIfAllPass decides REVIEW.
func failing(context.Context, *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error) {
	return &ekycv1.CheckResult{Status: ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, ReasonCodes: []string{"DOCUMENT_EXPIRED"}}, nil
}

var reviewedAt = time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC)

func reviewMsg(sid, caseID, reviewDecisionID string, o ekycv1.Outcome) *ekycv1.ProcessReviewDecision {
	return &ekycv1.ProcessReviewDecision{Decision: &ekycv1.ReviewDecision{
		TenantId: "t1", SessionId: sid, CaseId: caseID, EventId: caseID, ReviewDecisionId: reviewDecisionID,
		Outcome: o, ReasonCodes: []string{"DOCUMENT_EXPIRED"}, ReviewerId: "rev-1", ConfirmedBy: "rev-2",
		DecidedAt: timestamppb.New(reviewedAt),
	}}
}

func sendReview(t *testing.T, m *cluster.Member, msg *ekycv1.ProcessReviewDecision) *ekycv1.ProcessAck {
	t.Helper()
	resp, err := m.Request(context.Background(), cluster.SessionKind, cluster.SessionIdentity(msg.Decision.TenantId, msg.Decision.SessionId), msg)
	require.NoError(t, err)
	ack, ok := resp.(*ekycv1.ProcessAck)
	require.True(t, ok, "reply %T", resp)
	return ack
}

func reviewEnv(t *testing.T, mutate func(*session.Deps)) *env {
	return newEnv(t, func(d *session.Deps) {
		d.Checkers[ekycv1.CheckKind_CHECK_KIND_DOCUMENT] = failing
		if mutate != nil {
			mutate(d)
		}
	})
}

// TestReviewDecisionFinalisesOnce: a session in REVIEW takes the
// reviewer's decision once; the same review decision delivered again
// re-emits the same stored final decision.
func TestReviewDecisionFinalisesOnce(t *testing.T) {
	e := reviewEnv(t, nil)
	first := send(t, e.member, request("s-rev", "e1"))
	require.Equal(t, ekycv1.SessionStatus_SESSION_STATUS_REVIEW, first.GetStatus())
	reviewID := first.GetDecision().GetDecisionId()

	ack := sendReview(t, e.member, reviewMsg("s-rev", "case-1", reviewID, ekycv1.Outcome_OUTCOME_REJECT))
	require.Empty(t, ack.GetError())
	require.Empty(t, ack.GetRejected())
	require.False(t, ack.GetDuplicate())
	require.Equal(t, ekycv1.SessionStatus_SESSION_STATUS_DECIDED, ack.GetStatus())
	d := ack.GetDecision()
	require.Equal(t, session.ReviewedDecisionID("t1", "s-rev", "case-1"), d.GetDecisionId())
	require.NotEqual(t, reviewID, d.GetDecisionId())
	require.Equal(t, ekycv1.Outcome_OUTCOME_REJECT, d.GetOutcome())
	require.True(t, d.GetReviewed())
	require.Equal(t, reviewID, d.GetSupersedesDecisionId())
	require.Equal(t, "case-1", d.GetCaseId())
	require.Equal(t, "case-1", d.GetEventId())
	require.Equal(t, "rev-1", d.GetReviewerId())
	require.Equal(t, "rev-2", d.GetConfirmedBy())
	require.Equal(t, []string{"DOCUMENT_EXPIRED"}, d.GetReasonCodes())
	require.Equal(t, "test", d.GetPolicyId(), "policy kept")
	require.EqualValues(t, 1, d.GetPolicyVersion())
	require.Equal(t, reviewedAt, d.GetDecidedAt().AsTime())
	require.Len(t, d.GetChecks(), 1, "the checks stay with the final decision")

	again := sendReview(t, e.member, reviewMsg("s-rev", "case-1", reviewID, ekycv1.Outcome_OUTCOME_REJECT))
	require.Empty(t, again.GetError())
	require.True(t, again.GetDuplicate())
	require.Equal(t, d.GetDecisionId(), again.GetDecision().GetDecisionId())

	out := e.rec.emitted()
	require.Len(t, out, 3, "REVIEW, final, final again")
	require.Equal(t, reviewID, out[0].GetDecisionId())
	require.Equal(t, d.GetDecisionId(), out[1].GetDecisionId())
	require.Equal(t, d.GetDecisionId(), out[2].GetDecisionId())
	require.Equal(t, out[1].GetDecidedAt().AsTime(), out[2].GetDecidedAt().AsTime(), "the stored decision, re-emitted")

	st, err := e.store.Get(context.Background(), "t1", "s-rev")
	require.NoError(t, err)
	require.EqualValues(t, 3, st.GetVersion(), "processing, review, decided: the redelivery wrote nothing")
	require.Equal(t, ekycv1.SessionStatus_SESSION_STATUS_DECIDED, st.GetStatus())
	require.Equal(t, d.GetDecisionId(), st.GetDecision().GetDecisionId())
	require.Len(t, st.GetPreviousDecisions(), 1)
	require.Equal(t, reviewID, st.GetPreviousDecisions()[0].GetDecisionId())
	require.Equal(t, ekycv1.Outcome_OUTCOME_REVIEW, st.GetPreviousDecisions()[0].GetOutcome())
	require.Equal(t, []string{"e1", "case-1"}, st.GetAppliedEventIds())

	// A later request event for the session re-emits the final decision.
	late := send(t, e.member, request("s-rev", "e2"))
	require.True(t, late.GetDuplicate())
	require.Equal(t, d.GetDecisionId(), late.GetDecision().GetDecisionId())
}

// TestReviewDecisionRejectedInWrongState: never applied to a session that
// is unknown, decided without review, finalised by another case, or with a
// mismatched REVIEW decision id or outcome; nothing is written or emitted.
func TestReviewDecisionRejectedInWrongState(t *testing.T) {
	e := reviewEnv(t, nil)
	// An approved session (no failing check requested: the face check is
	// missing, so use a passing document check on another env).
	ap := newEnv(t, nil)
	approved := send(t, ap.member, request("s-ok", "e1"))
	require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, approved.GetDecision().GetOutcome())
	ack := sendReview(t, ap.member, reviewMsg("s-ok", "case-x", approved.GetDecision().GetDecisionId(), ekycv1.Outcome_OUTCOME_REJECT))
	require.Contains(t, ack.GetRejected(), "not in review")
	require.Empty(t, ack.GetError())
	require.Len(t, ap.rec.emitted(), 1, "nothing emitted for the rejected review decision")
	st, err := ap.store.Get(context.Background(), "t1", "s-ok")
	require.NoError(t, err)
	require.EqualValues(t, 2, st.GetVersion())

	ack = sendReview(t, e.member, reviewMsg("s-none", "case-y", "d", ekycv1.Outcome_OUTCOME_APPROVE))
	require.Equal(t, "unknown session", ack.GetRejected())
	_, err = e.store.Get(context.Background(), "t1", "s-none")
	require.ErrorIs(t, err, sessions.ErrNotFound, "a review decision never creates a session")

	first := send(t, e.member, request("s-rev2", "e1"))
	reviewID := first.GetDecision().GetDecisionId()
	ack = sendReview(t, e.member, reviewMsg("s-rev2", "case-2", "another-decision", ekycv1.Outcome_OUTCOME_APPROVE))
	require.Contains(t, ack.GetRejected(), "another decision")
	ack = sendReview(t, e.member, reviewMsg("s-rev2", "case-2", reviewID, ekycv1.Outcome_OUTCOME_REVIEW))
	require.Contains(t, ack.GetRejected(), "APPROVE or REJECT")
	wrong := reviewMsg("s-rev2", "case-2", reviewID, ekycv1.Outcome_OUTCOME_APPROVE)
	wrong.Decision.SessionId = "s-other"
	resp, err := e.member.Request(context.Background(), cluster.SessionKind, cluster.SessionIdentity("t1", "s-rev2"), wrong)
	require.NoError(t, err)
	require.Contains(t, resp.(*ekycv1.ProcessAck).GetRejected(), "does not belong")

	ok := sendReview(t, e.member, reviewMsg("s-rev2", "case-2", reviewID, ekycv1.Outcome_OUTCOME_APPROVE))
	require.Empty(t, ok.GetRejected())
	require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, ok.GetDecision().GetOutcome())
	other := sendReview(t, e.member, reviewMsg("s-rev2", "case-3", reviewID, ekycv1.Outcome_OUTCOME_REJECT))
	require.Contains(t, other.GetRejected(), "another review case")

	st, err = e.store.Get(context.Background(), "t1", "s-rev2")
	require.NoError(t, err)
	require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, st.GetDecision().GetOutcome(), "the first final decision stands")
	require.Equal(t, "case-2", st.GetDecision().GetCaseId())
}

// TestReviewDecisionHookFailureIsRetried: a failing AfterDecided hook
// leaves the review decision unapplied for the caller (an error to retry,
// not a reject); the retry finds the stored final decision, runs the hook
// again and emits it once.
func TestReviewDecisionHookFailureIsRetried(t *testing.T) {
	var (
		mu    sync.Mutex
		calls int
		fail  bool
	)
	e := reviewEnv(t, func(d *session.Deps) {
		d.AfterDecided = func(_ context.Context, st *ekycv1.SessionState) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if fail && st.GetDecision().GetReviewed() {
				fail = false
				return errors.New("labels store unavailable")
			}
			return nil
		}
	})
	first := send(t, e.member, request("s-hook", "e1"))
	mu.Lock()
	fail = true
	mu.Unlock()
	ack := sendReview(t, e.member, reviewMsg("s-hook", "case-h", first.GetDecision().GetDecisionId(), ekycv1.Outcome_OUTCOME_REJECT))
	require.Contains(t, ack.GetError(), "labels store unavailable")
	require.Empty(t, ack.GetRejected())
	require.Len(t, e.rec.emitted(), 1, "the final decision is not emitted before the hook succeeded")

	again := sendReview(t, e.member, reviewMsg("s-hook", "case-h", first.GetDecision().GetDecisionId(), ekycv1.Outcome_OUTCOME_REJECT))
	require.Empty(t, again.GetError())
	require.True(t, again.GetDuplicate())
	out := e.rec.emitted()
	require.Len(t, out, 2)
	require.True(t, out[1].GetReviewed())
	mu.Lock()
	require.Equal(t, 3, calls, "REVIEW, failed final, retried final")
	mu.Unlock()
}

// conflictOnce is a session store whose first write of a reviewed
// decision loses a race: another writer stores the same final decision
// just before it, so the actor gets ErrConflict.
type conflictOnce struct {
	sessions.Store
	mu    sync.Mutex
	armed bool
}

func (c *conflictOnce) Put(ctx context.Context, st *ekycv1.SessionState, expected int64) error {
	c.mu.Lock()
	race := c.armed && st.GetDecision().GetReviewed()
	c.armed = c.armed && !race
	c.mu.Unlock()
	if race {
		// The other writer: an activation elsewhere that applied the same
		// review decision first (its decided_at differs: only the stored
		// one may be emitted).
		other := cloneState(st)
		other.Decision.DecidedAt = timestamppb.New(reviewedAt.Add(time.Second))
		if err := c.Store.Put(ctx, other, expected); err != nil {
			return err
		}
	}
	return c.Store.Put(ctx, st, expected)
}

// TestReviewDecisionCASConflict: the actor loses the CAS race to another
// writer of the same review decision; it reloads, finds the session
// finalised by this case, and emits the stored decision, not its own.
func TestReviewDecisionCASConflict(t *testing.T) {
	var cs *conflictOnce
	e := reviewEnv(t, func(d *session.Deps) {
		cs = &conflictOnce{Store: d.Store}
		d.Store = cs
	})
	first := send(t, e.member, request("s-cas", "e1"))
	cs.mu.Lock()
	cs.armed = true
	cs.mu.Unlock()
	ack := sendReview(t, e.member, reviewMsg("s-cas", "case-c", first.GetDecision().GetDecisionId(), ekycv1.Outcome_OUTCOME_REJECT))
	require.Empty(t, ack.GetError())
	require.True(t, ack.GetDuplicate(), "the other writer's decision was found")
	out := e.rec.emitted()
	require.Len(t, out, 2)
	require.Equal(t, reviewedAt.Add(time.Second), out[1].GetDecidedAt().AsTime(), "only the stored decision is emitted")
	st, err := e.store.Get(context.Background(), "t1", "s-cas")
	require.NoError(t, err)
	require.EqualValues(t, 3, st.GetVersion())
	require.GreaterOrEqual(t, testutilConflicts(e), 1.0)
}

func cloneState(st *ekycv1.SessionState) *ekycv1.SessionState {
	return proto.Clone(st).(*ekycv1.SessionState)
}

func testutilConflicts(e *env) float64 { return testutil.ToFloat64(e.deps.Metrics.Conflicts) }
