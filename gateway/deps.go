package gateway

import (
	"context"
	"errors"
	"slices"
	"time"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/apistate"
)

// The gateway depends on the rest of the node through the small interfaces
// below, defined here on the consumer side; the node adapts store/tenants,
// store/blobs, store/keys, store/sessions, store/audit, store/webhooks and
// the Kafka producer to them.

var (
	// ErrUnauthenticated is returned by an Authenticator for a secret that is
	// unknown, malformed or revoked. The gateway answers 401 and does not
	// tell the cases apart.
	ErrUnauthenticated = errors.New("gateway: unauthenticated")
	// ErrNotFound is returned by Webhooks (and may be returned by
	// SessionStates and Eraser) for something that does not exist in the
	// caller's tenant.
	ErrNotFound = errors.New("gateway: not found")
)

// Scopes of API keys. Each scope includes the ones below it: admin ⊇ write
// ⊇ read.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
	ScopeAdmin = "admin"
)

var scopeRank = map[string]int{ScopeRead: 1, ScopeWrite: 2, ScopeAdmin: 3}

// Principal is the authenticated caller: an API key of a tenant, or a
// session token (token.go).
type Principal struct {
	Tenant string
	KeyID  string
	Scopes []string
	// Session is set for a session token (never by an Authenticator): the
	// caller may then use the routes that accept session tokens for this
	// session only.
	Session string
}

// Allows reports whether the principal holds scope, directly or through a
// higher one.
func (p Principal) Allows(scope string) bool {
	want := scopeRank[scope]
	return want > 0 && slices.ContainsFunc(p.Scopes, func(s string) bool { return scopeRank[s] >= want })
}

// Authenticator resolves an API key secret (the bearer token) to its
// principal. Implementations compare hashes in constant time and return
// ErrUnauthenticated for an unknown or revoked key.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (Principal, error)
}

// Blobs stores uploaded images (encrypted at rest by the implementation).
type Blobs interface {
	Put(ctx context.Context, tenant, session, name, contentType string, data []byte) error
	// URI is the image reference put in the VerificationRequest, readable by
	// the node's checks.
	URI(tenant, session, name string) string
}

// Sealer seals the personal data of session drafts with the session's data
// key (store/keys.Ring); see store/apistate.
type Sealer = apistate.Sealer

// Publisher publishes a verification request to Kafka and returns once the
// broker acknowledged it.
type Publisher interface {
	Publish(ctx context.Context, req *ekycv1.VerificationRequest) error
}

// SessionStates reads the authoritative session state (store/sessions.Store).
// A session that has not been stored yet is sessions.ErrNotFound (or
// ErrNotFound).
type SessionStates interface {
	Get(ctx context.Context, tenant, session string) (*ekycv1.SessionState, error)
}

// AuditEvent is one entry of the audit log. It carries ids and codes, never
// personal data.
type AuditEvent struct {
	Tenant string
	// Actor is the API key id.
	Actor string
	// Action: store/audit names (session.created, session.submitted, session.data_accessed, session.erase_requested, webhook.replayed).
	Action string
	// Subject is the session or webhook event id.
	Subject string
	Details map[string]string
}

// Auditor appends to the audit log.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent) error
}

// Eraser erases a session's images and personal data everywhere outside
// the gateway's own state (blobs, the session store's sealed request, the
// face index, the session's data key). It must be idempotent; a session it
// does not know is not an error (or ErrNotFound, which the gateway treats
// as done).
type Eraser interface {
	Erase(ctx context.Context, tenant, session string) error
}

// WebhookAttempt is one delivery attempt of a webhook event.
type WebhookAttempt struct {
	At         time.Time
	StatusCode int // 0 when no response was received
	Error      string
	Duration   time.Duration
}

// WebhookEvent is one webhook event of a tenant and its delivery log.
type WebhookEvent struct {
	ID        string
	SessionID string
	// Type, e.g. "verification.decided".
	Type string
	// Status: "pending", "delivered" or "failed".
	Status    string
	CreatedAt time.Time
	Attempts  []WebhookAttempt
}

// Webhooks is the webhook delivery log. Every call is scoped by tenant: an
// event of another tenant is ErrNotFound.
type Webhooks interface {
	// Events returns the tenant's most recent events, newest first, at most
	// limit.
	Events(ctx context.Context, tenant string, limit int) ([]WebhookEvent, error)
	// Event returns one event with its attempts.
	Event(ctx context.Context, tenant, id string) (WebhookEvent, error)
	// Replay schedules a new delivery of the event.
	Replay(ctx context.Context, tenant, id string) error
}

// FaceBox is a detected face in a probed frame, in fractions of the
// frame's width and height (0..1, origin top left).
type FaceBox struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
	// Score is the detector's face probability.
	Score float64 `json:"score"`
}

// FaceProber finds the faces in a camera frame (the node's face detector).
// It backs the live selfie feedback of the web SDK; nothing it sees is
// stored.
type FaceProber interface {
	ProbeFaces(ctx context.Context, image []byte) ([]FaceBox, error)
}

// Deps are the gateway's collaborators. Authenticator, State, Blobs and
// Publisher are required; without SessionStates a session's status comes
// from the draft only; without Auditor nothing is audited (the report
// endpoint then still works); without Eraser, Webhooks or FaceProber their
// endpoints answer 503 not_available.
type Deps struct {
	Authenticator Authenticator
	// State holds drafts and idempotency records; its Sealer seals PII.
	State         *apistate.Store
	Blobs         Blobs
	Publisher     Publisher
	SessionStates SessionStates
	Auditor       Auditor
	Eraser        Eraser
	Webhooks      Webhooks
	// FaceProber backs POST /v1/sessions/{id}/selfie/probe; without it
	// that endpoint answers 503 not_available.
	FaceProber FaceProber
}
