// Package session is the session virtual actor (cluster kind "session"): one
// activation per tenant_id/session_id. It orchestrates and holds no domain
// logic: it loads the session state, fans out the requested checks, asks the
// decider, persists with compare-and-set, and emits the decision.
//
// Correctness does not rely on single activation. Every write is a CAS on the
// stored version; a conflict makes the actor reload and re-apply, and a session
// that is already decided only re-emits its stored decision. Events are
// idempotent by event_id.
package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openekyc/ekyc/cluster"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/store/sessions"
)

// maxAppliedEvents bounds the event ids remembered per session.
const maxAppliedEvents = 32

// maxCASAttempts bounds reload-and-reapply loops on conflicts.
const maxCASAttempts = 8

// Kind returns the cluster kind for session actors sharing deps.
func Kind(deps *Deps) *pcluster.Kind {
	return pcluster.NewKind(cluster.SessionKind, actor.PropsFromProducer(func() actor.Actor {
		return &grain{deps: deps}
	}))
}

type grain struct {
	deps      *Deps
	tenantID  string
	sessionID string
	// state caches the last state this activation read or wrote. It is only a
	// cache: every write is checked against the store's version.
	state *ekycv1.SessionState
}

func (g *grain) log() *slog.Logger {
	l := g.deps.Logger
	if l == nil {
		l = slog.Default()
	}
	return l.With("tenant", g.tenantID, "session", g.sessionID)
}

func (g *grain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *pcluster.ClusterInit:
		t, s, err := cluster.ParseSessionIdentity(m.Identity.Identity)
		if err != nil {
			g.log().Error("bad identity; stopping", "err", err)
			ctx.Stop(ctx.Self())
			return
		}
		g.tenantID, g.sessionID = t, s
		if g.deps.Metrics != nil {
			g.deps.Metrics.Activations.Inc()
		}
		if g.deps.PassivateAfter > 0 {
			ctx.SetReceiveTimeout(g.deps.PassivateAfter)
		}
	case *actor.ReceiveTimeout:
		ctx.Stop(ctx.Self()) // passivation: state lives in the store
	case *actor.Stopped:
		if g.deps.Metrics != nil && g.tenantID != "" {
			g.deps.Metrics.Activations.Dec()
		}
	case *ekycv1.ProcessVerification:
		ctx.Respond(g.process(m))
	case *ekycv1.ProcessReviewDecision:
		ctx.Respond(g.processReview(m))
	case *ekycv1.GetSession:
		ctx.Respond(g.get(m))
	}
}

func (g *grain) opContext() (context.Context, context.CancelFunc) {
	d := g.deps.OpTimeout
	if d <= 0 {
		d = 30 * time.Second
	}
	return context.WithTimeout(context.Background(), d)
}

func (g *grain) get(m *ekycv1.GetSession) *ekycv1.SessionState {
	ctx, cancel := g.opContext()
	defer cancel()
	st, err := g.deps.Store.Get(ctx, g.tenantID, g.sessionID)
	if err != nil {
		return &ekycv1.SessionState{TenantId: g.tenantID, SessionId: g.sessionID}
	}
	return st
}

func (g *grain) process(m *ekycv1.ProcessVerification) *ekycv1.ProcessAck {
	start := time.Now()
	defer func() {
		if g.deps.Metrics != nil {
			g.deps.Metrics.EventDuration.Observe(time.Since(start).Seconds())
		}
	}()
	req := m.GetRequest()
	if req.GetTenantId() != g.tenantID || req.GetSessionId() != g.sessionID {
		return &ekycv1.ProcessAck{TenantId: g.tenantID, SessionId: g.sessionID, Error: "request does not belong to this session actor"}
	}
	ctx, cancel := g.opContext()
	defer cancel()
	for attempt := 0; attempt < maxCASAttempts; attempt++ {
		ack, err := g.apply(ctx, m)
		if err == nil {
			return ack
		}
		if errors.Is(err, sessions.ErrConflict) || errors.Is(err, sessions.ErrUnknownOutcome) {
			// Another activation (or an unknown LWT outcome) moved the state:
			// forget the cache, reload and re-apply.
			if g.deps.Metrics != nil {
				g.deps.Metrics.Conflicts.Inc()
			}
			g.state = nil
			continue
		}
		g.state = nil
		g.log().Warn("event not applied; it will be retried", "event", req.GetEventId(), "err", err)
		return &ekycv1.ProcessAck{TenantId: g.tenantID, SessionId: g.sessionID, Error: err.Error()}
	}
	return &ekycv1.ProcessAck{TenantId: g.tenantID, SessionId: g.sessionID, Error: "too many concurrent writers on this session"}
}

func (g *grain) load(ctx context.Context) (*ekycv1.SessionState, error) {
	if g.state != nil {
		return g.state, nil
	}
	st, err := g.deps.Store.Get(ctx, g.tenantID, g.sessionID)
	if errors.Is(err, sessions.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	g.state = st
	return st, nil
}

func terminal(s ekycv1.SessionStatus) bool {
	return s == ekycv1.SessionStatus_SESSION_STATUS_DECIDED ||
		s == ekycv1.SessionStatus_SESSION_STATUS_REVIEW ||
		s == ekycv1.SessionStatus_SESSION_STATUS_FAILED
}

// apply handles one event against the current state. It returns
// sessions.ErrConflict when the state moved underneath it.
func (g *grain) apply(ctx context.Context, m *ekycv1.ProcessVerification) (*ekycv1.ProcessAck, error) {
	req := m.GetRequest()
	st, err := g.load(ctx)
	if err != nil {
		return nil, err
	}
	now := g.deps.now()
	if st == nil {
		// created → processing: the accepted request is stored before any check runs.
		st = &ekycv1.SessionState{
			TenantId:        g.tenantID,
			SessionId:       g.sessionID,
			Status:          ekycv1.SessionStatus_SESSION_STATUS_PROCESSING,
			Request:         req,
			CreatedAt:       timestamppb.New(now),
			UpdatedAt:       timestamppb.New(now),
			ReceivedAt:      timestamppb.New(now),
			AppliedEventIds: []string{req.GetEventId()},
		}
		if err := g.deps.Store.Put(ctx, st, 0); err != nil {
			return nil, err
		}
		g.state = st
	}
	seen := contains(st.GetAppliedEventIds(), req.GetEventId())

	if terminal(st.GetStatus()) {
		// Already decided (redelivery, duplicate activation, or a later event for
		// a decided session): re-emit the stored decision, never decide again.
		if g.deps.Metrics != nil {
			g.deps.Metrics.Redeliveries.Inc()
		}
		if err := g.afterDecided(ctx, st); err != nil {
			return nil, err
		}
		if err := g.emit(ctx, st.GetDecision(), m.GetReplyEncoding()); err != nil {
			return nil, err
		}
		return ack(st, true, true), nil
	}

	// processing (fresh, or resumed after a crash): run the stored request.
	accepted := st.GetRequest()
	checks := g.runChecks(ctx, accepted)
	decidedAt := g.deps.now()
	next := proto.Clone(st).(*ekycv1.SessionState)
	next.Checks = checks
	next.UpdatedAt = timestamppb.New(decidedAt)
	if !seen {
		next.AppliedEventIds = appendBounded(next.AppliedEventIds, req.GetEventId())
	}
	verdict, derr := g.deps.Decide(accepted, checks)
	if derr != nil {
		g.log().Error("decision engine failed; session sent to review", "err", derr)
		verdict = Verdict{Outcome: ekycv1.Outcome_OUTCOME_REVIEW, ReasonCodes: []string{reasons.DecisionEngineError}}
		next.Status = ekycv1.SessionStatus_SESSION_STATUS_FAILED
	} else {
		next.Status = statusFor(verdict.Outcome)
	}
	next.Decision = buildDecision(st, accepted, checks, verdict, decidedAt)
	next.Decision.NodeId = g.deps.NodeID
	if err := g.deps.Store.Put(ctx, next, st.GetVersion()); err != nil {
		return nil, err
	}
	g.state = next
	if g.deps.Metrics != nil {
		g.deps.Metrics.Decisions.WithLabelValues(verdict.Outcome.String()).Inc()
	}
	if err := g.afterDecided(ctx, next); err != nil {
		return nil, err
	}
	if err := g.emit(ctx, next.GetDecision(), m.GetReplyEncoding()); err != nil {
		return nil, err
	}
	return ack(next, false, true), nil
}

// afterDecided runs the AfterDecided hook on a stored state at rest.
func (g *grain) afterDecided(ctx context.Context, st *ekycv1.SessionState) error {
	if g.deps.AfterDecided == nil {
		return nil
	}
	if err := g.deps.AfterDecided(ctx, st); err != nil {
		return fmt.Errorf("after decided: %w", err)
	}
	return nil
}

func (g *grain) emit(ctx context.Context, d *ekycv1.Decision, enc ekycv1.Encoding) error {
	if d == nil {
		return errors.New("session is at rest without a decision")
	}
	if err := g.deps.Emitter.Emit(ctx, d, enc); err != nil {
		if g.deps.Metrics != nil {
			g.deps.Metrics.EmitErrors.Inc()
		}
		return fmt.Errorf("emit decision: %w", err)
	}
	return nil
}

func ack(st *ekycv1.SessionState, duplicate, emitted bool) *ekycv1.ProcessAck {
	return &ekycv1.ProcessAck{
		TenantId:  st.GetTenantId(),
		SessionId: st.GetSessionId(),
		Status:    st.GetStatus(),
		Decision:  st.GetDecision(),
		Duplicate: duplicate,
		Emitted:   emitted,
	}
}

func statusFor(o ekycv1.Outcome) ekycv1.SessionStatus {
	if o == ekycv1.Outcome_OUTCOME_REVIEW {
		return ekycv1.SessionStatus_SESSION_STATUS_REVIEW
	}
	return ekycv1.SessionStatus_SESSION_STATUS_DECIDED
}

// DecisionID is deterministic per (tenant, session, accepted event): a
// decision recomputed after a crash keeps its id.
func DecisionID(tenantID, sessionID, eventID string) string {
	h := sha256.Sum256([]byte(tenantID + "\x00" + sessionID + "\x00" + eventID))
	h[6] = (h[6] & 0x0f) | 0x50 // UUID version 5 layout, SHA-256 based
	h[8] = (h[8] & 0x3f) | 0x80
	s := hex.EncodeToString(h[:16])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func buildDecision(st *ekycv1.SessionState, req *ekycv1.VerificationRequest, checks []*ekycv1.CheckResult, v Verdict, decidedAt time.Time) *ekycv1.Decision {
	from := st.GetReceivedAt().AsTime()
	if sa := req.GetSubmittedAt(); sa != nil && sa.IsValid() && !sa.AsTime().After(decidedAt) {
		from = sa.AsTime()
	}
	return &ekycv1.Decision{
		DecisionId:        DecisionID(st.GetTenantId(), st.GetSessionId(), req.GetEventId()),
		TenantId:          st.GetTenantId(),
		SessionId:         st.GetSessionId(),
		EventId:           req.GetEventId(),
		Outcome:           v.Outcome,
		Score:             v.Score,
		ReasonCodes:       v.ReasonCodes,
		PolicyId:          v.PolicyID,
		PolicyVersion:     v.PolicyVersion,
		Checks:            checks,
		DecidedAt:         timestamppb.New(decidedAt),
		ProcessingLatency: durationpb.New(decidedAt.Sub(from)),
		SubmittedAt:       req.GetSubmittedAt(),
	}
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func appendBounded(ids []string, id string) []string {
	ids = append(ids, id)
	if len(ids) > maxAppliedEvents {
		ids = ids[len(ids)-maxAppliedEvents:]
	}
	return ids
}
