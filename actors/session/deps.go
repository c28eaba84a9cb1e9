package session

import (
	"context"
	"log/slog"
	"time"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
)

// Checker runs one check for a request. It must honour ctx's deadline; the
// actor enforces it anyway (see SyncChecker) and retries on error.
type Checker func(ctx context.Context, req *ekycv1.VerificationRequest) (*ekycv1.CheckResult, error)

// Verdict is what the decision engine concluded.
type Verdict struct {
	Outcome       ekycv1.Outcome
	Score         float64
	ReasonCodes   []string
	PolicyID      string
	PolicyVersion int32
}

// Decider turns a request and its check results into a verdict. It must be a
// pure function of its inputs: after a crash the same inputs are decided again
// and must give the same outcome.
type Decider func(req *ekycv1.VerificationRequest, checks []*ekycv1.CheckResult) (Verdict, error)

// Emitter publishes a decision (to Kafka, in the node). It is called after the
// decision is durably stored, and again whenever a redelivered event finds the
// session already decided: consumers dedupe by decision_id.
type Emitter interface {
	Emit(ctx context.Context, d *ekycv1.Decision, enc ekycv1.Encoding) error
}

// Deps is everything a session actor needs; one Deps is shared by all
// activations on a node and must be safe for concurrent use.
type Deps struct {
	Store    sessions.Store
	Checkers map[ekycv1.CheckKind]Checker
	Decide   Decider
	Emitter  Emitter
	// AfterDecided, when set, is called with the stored state of a session
	// at rest (decided, review, failed) before its decision is emitted:
	// after the decision is first stored, and again whenever a redelivered
	// event finds the session at rest. An error leaves the event unapplied,
	// so the consumer retries it (and AfterDecided runs again): it must be
	// idempotent. The node enrols approved applicants in ongoing screening
	// monitoring here.
	AfterDecided func(ctx context.Context, st *ekycv1.SessionState) error
	// Now is the clock (time.Now by default).
	Now func() time.Time
	// CheckTimeout bounds one attempt of one check; CheckRetries is the number
	// of extra attempts after a timeout or error.
	CheckTimeout time.Duration
	CheckRetries int
	// PassivateAfter stops an idle activation.
	PassivateAfter time.Duration
	// OpTimeout bounds the handling of one event (store, checks, emit).
	OpTimeout time.Duration
	// NodeID names this node in decisions.
	NodeID  string
	Metrics *Metrics
	Logger  *slog.Logger
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}
