package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
)

// ReviewedDecisionID is the id of the final decision a review case makes:
// deterministic per (tenant, session, case), so a redelivered review
// decision, or one recomputed after a crash before it was stored, names
// the same decision. The "review/" prefix keeps it apart from the ids of
// request events.
func ReviewedDecisionID(tenantID, sessionID, caseID string) string {
	return DecisionID(tenantID, sessionID, "review/"+caseID)
}

// reject is a permanent refusal of an event: it can never apply, so the
// caller dead-letters it instead of retrying.
type reject string

func (r reject) Error() string { return string(r) }

// processReview finalises a session in REVIEW with a reviewer's decision.
// Like process, it reloads and re-applies on a CAS conflict. The answer is
// a ProcessAck: Rejected set when the review decision can never apply (the
// session is not in review, or was finalised by another case), Error set
// when it failed for now and must be retried.
func (g *grain) processReview(m *ekycv1.ProcessReviewDecision) *ekycv1.ProcessAck {
	start := time.Now()
	defer func() {
		if g.deps.Metrics != nil {
			g.deps.Metrics.EventDuration.Observe(time.Since(start).Seconds())
		}
	}()
	rd := m.GetDecision()
	if rd.GetTenantId() != g.tenantID || rd.GetSessionId() != g.sessionID {
		return &ekycv1.ProcessAck{TenantId: g.tenantID, SessionId: g.sessionID, Rejected: "review decision does not belong to this session actor"}
	}
	if rd.GetCaseId() == "" || rd.GetEventId() == "" {
		return &ekycv1.ProcessAck{TenantId: g.tenantID, SessionId: g.sessionID, Rejected: "review decision without case id or event id"}
	}
	if o := rd.GetOutcome(); o != ekycv1.Outcome_OUTCOME_APPROVE && o != ekycv1.Outcome_OUTCOME_REJECT {
		return &ekycv1.ProcessAck{TenantId: g.tenantID, SessionId: g.sessionID, Rejected: "review decision outcome must be APPROVE or REJECT, got " + o.String()}
	}
	ctx, cancel := g.opContext()
	defer cancel()
	for attempt := 0; attempt < maxCASAttempts; attempt++ {
		ack, err := g.applyReview(ctx, m)
		if err == nil {
			return ack
		}
		var rj reject
		if errors.As(err, &rj) {
			g.log().Info("review decision rejected", "case", rd.GetCaseId(), "reason", string(rj))
			return &ekycv1.ProcessAck{TenantId: g.tenantID, SessionId: g.sessionID, Rejected: string(rj)}
		}
		if errors.Is(err, sessions.ErrConflict) || errors.Is(err, sessions.ErrUnknownOutcome) {
			if g.deps.Metrics != nil {
				g.deps.Metrics.Conflicts.Inc()
			}
			g.state = nil
			continue
		}
		g.state = nil
		g.log().Warn("review decision not applied; it will be retried", "case", rd.GetCaseId(), "err", err)
		return &ekycv1.ProcessAck{TenantId: g.tenantID, SessionId: g.sessionID, Error: err.Error()}
	}
	return &ekycv1.ProcessAck{TenantId: g.tenantID, SessionId: g.sessionID, Error: "too many concurrent writers on this session"}
}

// applyReview applies one review decision against the current state. A
// state that cannot take it is a reject; a moved state is
// sessions.ErrConflict.
func (g *grain) applyReview(ctx context.Context, m *ekycv1.ProcessReviewDecision) (*ekycv1.ProcessAck, error) {
	rd := m.GetDecision()
	st, err := g.load(ctx)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, reject("unknown session")
	}
	cur := st.GetDecision()
	if cur.GetReviewed() {
		if cur.GetCaseId() != rd.GetCaseId() {
			return nil, reject("session already finalised by another review case")
		}
		// Redelivery (or a second publish) of the decision that finalised
		// the session: re-emit the stored final decision, never a new one.
		if g.deps.Metrics != nil {
			g.deps.Metrics.Redeliveries.Inc()
		}
		if err := g.afterDecided(ctx, st); err != nil {
			return nil, err
		}
		if err := g.emit(ctx, cur, m.GetReplyEncoding()); err != nil {
			return nil, err
		}
		return ack(st, true, true), nil
	}
	if !inReview(st) {
		return nil, reject(fmt.Sprintf("session is not in review (status %s, outcome %s)", st.GetStatus(), cur.GetOutcome()))
	}
	if id := rd.GetReviewDecisionId(); id != "" && id != cur.GetDecisionId() {
		return nil, reject("review decision names another decision than the session's REVIEW decision")
	}

	now := g.deps.now()
	next := proto.Clone(st).(*ekycv1.SessionState)
	next.Decision = reviewedDecision(st, rd, g.deps.NodeID, now)
	next.PreviousDecisions = append(next.PreviousDecisions, cur)
	next.Status = ekycv1.SessionStatus_SESSION_STATUS_DECIDED
	next.UpdatedAt = timestamppb.New(now)
	if !contains(next.AppliedEventIds, rd.GetEventId()) {
		next.AppliedEventIds = appendBounded(next.AppliedEventIds, rd.GetEventId())
	}
	if err := g.deps.Store.Put(ctx, next, st.GetVersion()); err != nil {
		return nil, err
	}
	g.state = next
	if g.deps.Metrics != nil {
		g.deps.Metrics.Decisions.WithLabelValues(next.Decision.GetOutcome().String()).Inc()
	}
	if err := g.afterDecided(ctx, next); err != nil {
		return nil, err
	}
	if err := g.emit(ctx, next.GetDecision(), m.GetReplyEncoding()); err != nil {
		return nil, err
	}
	return ack(next, false, true), nil
}

// inReview reports whether st waits for a reviewer: at rest with a REVIEW
// decision (status REVIEW, or FAILED when the decision engine failed and
// sent the session to review), not yet finalised.
func inReview(st *ekycv1.SessionState) bool {
	s := st.GetStatus()
	return (s == ekycv1.SessionStatus_SESSION_STATUS_REVIEW || s == ekycv1.SessionStatus_SESSION_STATUS_FAILED) &&
		st.GetDecision().GetOutcome() == ekycv1.Outcome_OUTCOME_REVIEW && !st.GetDecision().GetReviewed()
}

// reviewedDecision is the final decision of a reviewed session: the
// reviewer's outcome and codes over the REVIEW decision's score, policy
// and checks. Its time is the reviewer's (now when the event has none),
// so a recomputation after a crash gives the same decision.
func reviewedDecision(st *ekycv1.SessionState, rd *ekycv1.ReviewDecision, nodeID string, now time.Time) *ekycv1.Decision {
	prev := st.GetDecision()
	at := now
	if t := rd.GetDecidedAt(); t != nil && t.IsValid() && !t.AsTime().IsZero() {
		at = t.AsTime()
	}
	d := &ekycv1.Decision{
		DecisionId:           ReviewedDecisionID(st.GetTenantId(), st.GetSessionId(), rd.GetCaseId()),
		TenantId:             st.GetTenantId(),
		SessionId:            st.GetSessionId(),
		EventId:              rd.GetEventId(),
		Outcome:              rd.GetOutcome(),
		Score:                prev.GetScore(),
		ReasonCodes:          append([]string(nil), rd.GetReasonCodes()...),
		PolicyId:             prev.GetPolicyId(),
		PolicyVersion:        prev.GetPolicyVersion(),
		Checks:               prev.GetChecks(),
		DecidedAt:            timestamppb.New(at),
		SubmittedAt:          prev.GetSubmittedAt(),
		NodeId:               nodeID,
		Reviewed:             true,
		ReviewerId:           rd.GetReviewerId(),
		ConfirmedBy:          rd.GetConfirmedBy(),
		SupersedesDecisionId: prev.GetDecisionId(),
		CaseId:               rd.GetCaseId(),
	}
	from := st.GetReceivedAt().AsTime()
	if sa := prev.GetSubmittedAt(); sa != nil && sa.IsValid() && !sa.AsTime().After(at) {
		from = sa.AsTime()
	}
	if !at.Before(from) {
		d.ProcessingLatency = durationpb.New(at.Sub(from))
	}
	return d
}
