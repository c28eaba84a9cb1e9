package console

import (
	"context"
	"errors"
	"time"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	review "github.com/openekyc/ekyc/services/review"
	reviewstore "github.com/openekyc/ekyc/store/review"
)

// The console depends on the rest of the node through the small interfaces
// below, defined here on the consumer side (like gateway/deps.go); the node
// adapts store/review, store/sessions, store/blobs, store/audit and the
// Kafka producer to them.

// ErrNotFound is returned by Evidence for a session or an image that does
// not exist in the tenant (an erased one included; store/sessions'
// ErrNotFound is accepted for a session too). The console answers 404
// for it; any other error is 503.
var ErrNotFound = errors.New("console: not found")

// Reviews is the review store: reviewers' logins and the cases.
// *store/review.Store satisfies it.
type Reviews interface {
	Authenticate(ctx context.Context, tenant, username, password string) (reviewstore.Reviewer, error)
	NewLoginSession(ctx context.Context, r reviewstore.Reviewer) (token, csrf string, expiry time.Time, err error)
	LoginSession(ctx context.Context, token string) (reviewstore.Login, error)
	Logout(ctx context.Context, token string) error
	List(ctx context.Context, tenant string, f reviewstore.Filter) ([]review.Case, error)
	Get(ctx context.Context, tenant, id string) (review.Case, error)
	Update(ctx context.Context, tenant, id string, expectedVersion uint64, fn func(review.Case) (review.Case, error)) (review.Case, error)
}

// Evidence reads what a reviewer looks at: the session state (request,
// checks, decision; the request decrypted) and the session's images
// (decrypted). Both are scoped by tenant and return ErrNotFound for a
// session or image the tenant does not have.
type Evidence interface {
	Session(ctx context.Context, tenant, session string) (*ekycv1.SessionState, error)
	// Image returns the image's bytes and content type.
	Image(ctx context.Context, tenant, session, name string) ([]byte, string, error)
}

// ReviewDecision is a reviewer's final decision on a case, handed to the
// session actor (the node maps it to ekycv1.ReviewDecision on the
// ekyc.review.decisions topic, event id = case id). It holds ids, codes
// and times only: the reviewer's comment (free text, possibly personal
// data) stays in the case.
type ReviewDecision struct {
	Tenant    string
	SessionID string
	CaseID    string
	// ReviewDecisionID is the id of the REVIEW decision the case was
	// opened for, which this decision finalises.
	ReviewDecisionID string
	// Outcome is review.OutcomeApprove or review.OutcomeReject.
	Outcome     review.Outcome
	ReasonCodes []string
	ReviewerID  string
	// ConfirmedBy is the second reviewer under the four-eyes rule, if any.
	ConfirmedBy string
	// DecidedAt is when the case was decided (the confirmation's time under
	// four-eyes).
	DecidedAt time.Time
}

// Publisher hands a ReviewDecision on and returns once it is durable (the
// broker acknowledged it). Publishing one case twice must be harmless:
// the consumer finalises a session once per case id.
type Publisher interface {
	PublishReviewDecision(ctx context.Context, d ReviewDecision) error
}

// AuditEvent is one entry of the audit log (the shape of
// gateway.AuditEvent). It carries ids and codes, never personal data nor a
// reviewer's comment.
type AuditEvent struct {
	Tenant string
	// Actor is "reviewer:<reviewer id>".
	Actor string
	// Action: review.login, review.logout, review.<transition>
	// (review.claim, review.release, review.decide, review.confirm,
	// review.reject_confirmation, review.escalate), review.published,
	// session.data_accessed.
	Action string
	// Subject is the case id (review.*) or the session id
	// (session.data_accessed).
	Subject string
	Details map[string]string
}

// Auditor appends to the audit log.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent) error
}

// Deps are the console's collaborators; all four are required.
type Deps struct {
	Reviews   Reviews
	Evidence  Evidence
	Publisher Publisher
	Auditor   Auditor
	// MRZ, optional, reads the MRZ of a session whose request carried
	// only a document image, for the evidence view.
	MRZ MRZReader
}

// MRZReader reads the machine-readable zone from a session's document
// image (the node: OCR through its inference pools). The lines are
// computed for the reviewer's request and never stored: the session state
// keeps only the document check's signals. ErrNotFound (or any error)
// leaves the evidence without an MRZ.
type MRZReader interface {
	ReadMRZ(ctx context.Context, tenant, session string) ([]string, error)
}
