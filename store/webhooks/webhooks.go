// Package webhooks defines the webhook outbox: the events a node must POST to
// its tenants' URLs (decisions, review outcomes, monitoring alerts), the
// delivery state of each (pending, delivered, dead), the time of its next
// attempt, and its delivery log (one Attempt per HTTP attempt).
//
// The store is the source of truth for delivery: an event is accepted only
// once Enqueue has made it durable, and every attempt's outcome is written
// before the next one is scheduled, so a restart resumes every pending
// event where it was. Delivery is at least once; receivers de-duplicate by
// the event id (sent as Idempotency-Key).
//
// An event's body may carry applicant identifiers: implementations must
// encrypt it at rest (and its URL, which may carry a receiver's token) and
// keep it out of keys, logs and error strings. Attempts hold no body and no
// response body, only an HTTP status and a short error class.
//
// Implementations:
//   - pebblestore: embedded Pebble under <data_dir>/webhooks, records sealed
//     with AES-256-GCM envelope encryption (internal/envelope).
//
// webhookstest holds the conformance suite every implementation must pass.
package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what Enqueue accepts.
const (
	// MaxIDLen is the longest tenant or event id, in bytes.
	MaxIDLen = 256
	// MaxURLLen is the longest receiver URL, in bytes.
	MaxURLLen = 2048
	// MaxBodySize is the largest event body, in bytes.
	MaxBodySize = 256 << 10
	// MaxLog is how many attempts a record keeps in its delivery log; older
	// attempts are dropped (and counted in Record.DroppedAttempts) when a
	// much-replayed event exceeds it.
	MaxLog = 100
	// MaxErrorLen is the longest Attempt.Error kept; longer ones are cut.
	MaxErrorLen = 200
	// DefaultListLimit and MaxListLimit bound Filter.Limit.
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// Event types.
const (
	TypeVerificationDecided = "verification.decided"
	TypeReviewDecided       = "review.decided"
	TypeMonitoringAlert     = "monitoring.alert"
)

var (
	// ErrNotFound: no such event for this tenant (another tenant's event is
	// not found either).
	ErrNotFound = errors.New("webhooks: event not found")
	// ErrInvalidArgument reports a malformed call. Retrying it cannot
	// succeed.
	ErrInvalidArgument = errors.New("webhooks: invalid argument")
	// ErrStale is returned by RecordAttempt for an attempt that does not
	// belong to the event's current delivery (the event is no longer
	// pending, or was replayed since the attempt started). Nothing is
	// written.
	ErrStale = errors.New("webhooks: stale attempt")
	// ErrCorrupt reports a stored record that cannot be read: damaged,
	// tampered with, or sealed under another key.
	ErrCorrupt = errors.New("webhooks: corrupt record")
	// ErrClosed is returned by calls on a closed store.
	ErrClosed = errors.New("webhooks: store closed")
)

// Sealer encrypts values at rest; aad (the record's key) is authenticated
// but not stored. *envelope.Keyring (internal/envelope) implements it.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// Event is one webhook to deliver.
type Event struct {
	// ID is unique per tenant and is the receiver's Idempotency-Key:
	// printable ASCII without spaces.
	ID     string
	Tenant string
	// Type is one of the Type* constants or another lower-case dotted
	// name ([a-z0-9._-]).
	Type string
	// URL is the receiver's absolute http or https URL.
	URL string
	// Body is the JSON payload, sent as is.
	Body []byte
	// CreatedAt is when the event happened (the store sets it when zero).
	CreatedAt time.Time
}

// State is the delivery state of an event.
type State string

// States.
const (
	// StatePending: a delivery is in progress; the next attempt is due at
	// Record.NextAttemptAt.
	StatePending State = "pending"
	// StateDelivered: the receiver answered 2xx.
	StateDelivered State = "delivered"
	// StateDead: the schedule is exhausted or the receiver answered 410
	// Gone. Replay re-arms it.
	StateDead State = "dead"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	return s == StatePending || s == StateDelivered || s == StateDead
}

// Attempt is one HTTP attempt, as logged. It carries no body, no response
// body and no header values.
type Attempt struct {
	// Delivery is the delivery the attempt belongs to: 1 for the original
	// one, +1 per Replay.
	Delivery int
	// N is the attempt's number within its delivery, from 1.
	N int
	// At is when the attempt started.
	At time.Time
	// Status is the HTTP status, or 0 when no response came (connection
	// refused, timeout, ...).
	Status int
	// Error is a short class of failure ("connection refused", "timeout",
	// "HTTP 500 Internal Server Error"), empty on success.
	Error string
	// Duration is how long the attempt took.
	Duration time.Duration
}

// Next is the state an attempt leaves its event in.
type Next struct {
	State State
	// At is the next attempt's time when State is StatePending.
	At time.Time
}

// Record is an event with its delivery state and log.
type Record struct {
	Event
	State State
	// Delivery counts deliveries: 1, then +1 per Replay.
	Delivery int
	// Attempts is the number of attempts of the current delivery (it
	// drives the retry schedule).
	Attempts int
	// NextAttemptAt is when the next attempt is due (pending only).
	NextAttemptAt time.Time
	// UpdatedAt is the time of the last change.
	UpdatedAt time.Time
	// Log is the delivery log, oldest first, at most MaxLog attempts.
	Log []Attempt
	// DroppedAttempts counts the oldest attempts dropped from Log.
	DroppedAttempts int
}

// Filter selects the events of List.
type Filter struct {
	// State, when set, keeps only the events in that state.
	State State
	// Type, when set, keeps only the events of that type.
	Type string
	// After is a cursor: only events with an id greater than After are
	// listed (the last id of the previous page).
	After string
	// Limit is the page size (0: DefaultListLimit; at most MaxListLimit).
	Limit int
}

// Store is the webhook outbox. Implementations are safe for concurrent use.
type Store interface {
	// Enqueue adds an event, pending and due at once, and returns only
	// when it is durable. It is idempotent by (tenant, id): an event that
	// exists already is left as it is (the first version wins) and
	// created is false.
	Enqueue(ctx context.Context, e Event) (created bool, err error)

	// Due returns up to limit pending events whose next attempt is at or
	// before now, earliest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Record, error)

	// NextDue returns the earliest next-attempt time of all pending events
	// (ok false when none is pending).
	NextDue(ctx context.Context) (at time.Time, ok bool, err error)

	// RecordAttempt appends a to the event's log and moves it to next:
	// StatePending with next.At, StateDelivered or StateDead. a.Delivery
	// must be the event's current delivery and the event must be pending
	// (ErrStale otherwise). The write is durable when it returns.
	RecordAttempt(ctx context.Context, tenant, id string, a Attempt, next Next) (Record, error)

	// Get returns an event with its log (ErrNotFound if tenant has no such
	// event).
	Get(ctx context.Context, tenant, id string) (Record, error)

	// List returns a page of tenant's events in id order.
	List(ctx context.Context, tenant string, f Filter) ([]Record, error)

	// Replay re-arms an event: a delivered or dead event starts a new
	// delivery (Delivery+1, Attempts 0) due at `at`, with the same id and
	// body; a pending event keeps its delivery and is brought forward to
	// `at` if that is earlier. It returns the updated record.
	Replay(ctx context.Context, tenant, id string, at time.Time) (Record, error)

	// Pending returns the number of pending events.
	Pending(ctx context.Context) (int, error)

	// Close releases the store. It is idempotent; other calls after Close
	// return ErrClosed.
	Close() error
}

// ValidateKey checks a (tenant, event id) pair.
func ValidateKey(tenant, id string) error {
	if err := ValidateTenant(tenant); err != nil {
		return err
	}
	switch {
	case id == "":
		return fmt.Errorf("%w: empty event id", ErrInvalidArgument)
	case len(id) > MaxIDLen:
		return fmt.Errorf("%w: event id is %d bytes long, the limit is %d", ErrInvalidArgument, len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		// The id is sent as a header value (Idempotency-Key).
		if c := id[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: event id holds a byte outside printable ASCII at offset %d", ErrInvalidArgument, i)
		}
	}
	return nil
}

// ValidateTenant checks a tenant id.
func ValidateTenant(tenant string) error {
	switch {
	case tenant == "":
		return fmt.Errorf("%w: empty tenant id", ErrInvalidArgument)
	case len(tenant) > MaxIDLen:
		return fmt.Errorf("%w: tenant id is %d bytes long, the limit is %d", ErrInvalidArgument, len(tenant), MaxIDLen)
	case !utf8.ValidString(tenant):
		return fmt.Errorf("%w: tenant id is not valid UTF-8", ErrInvalidArgument)
	}
	return nil
}

// ValidateType checks an event type: 1 to 64 bytes of [a-z0-9._-].
func ValidateType(typ string) error {
	if typ == "" || len(typ) > 64 {
		return fmt.Errorf("%w: event type must be 1 to 64 bytes", ErrInvalidArgument)
	}
	for _, c := range []byte(typ) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: event type may hold only [a-z0-9._-]", ErrInvalidArgument)
		}
	}
	return nil
}

// ValidateURL checks a receiver URL: absolute http or https with a host,
// no fragment, at most MaxURLLen bytes. The URL itself is not put in the
// error (it may hold a receiver's token).
func ValidateURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: empty URL", ErrInvalidArgument)
	}
	if len(raw) > MaxURLLen {
		return nil, fmt.Errorf("%w: URL is %d bytes long, the limit is %d", ErrInvalidArgument, len(raw), MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: URL does not parse", ErrInvalidArgument)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return nil, fmt.Errorf("%w: URL scheme must be http or https", ErrInvalidArgument)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: URL has no host", ErrInvalidArgument)
	}
	if u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: URL must not have a fragment or an opaque part", ErrInvalidArgument)
	}
	return u, nil
}

// ValidateEvent checks the argument of Store.Enqueue.
func ValidateEvent(e Event) error {
	if err := ValidateKey(e.Tenant, e.ID); err != nil {
		return err
	}
	if err := ValidateType(e.Type); err != nil {
		return err
	}
	if _, err := ValidateURL(e.URL); err != nil {
		return err
	}
	switch {
	case len(e.Body) == 0:
		return fmt.Errorf("%w: empty body", ErrInvalidArgument)
	case len(e.Body) > MaxBodySize:
		return fmt.Errorf("%w: body is %d bytes, the limit is %d", ErrInvalidArgument, len(e.Body), MaxBodySize)
	case !json.Valid(e.Body):
		return fmt.Errorf("%w: body is not valid JSON", ErrInvalidArgument)
	}
	return nil
}

// ValidateNext checks the next state given to RecordAttempt.
func ValidateNext(n Next) error {
	if !n.State.Valid() {
		return fmt.Errorf("%w: unknown state %q", ErrInvalidArgument, n.State)
	}
	if n.State == StatePending && n.At.IsZero() {
		return fmt.Errorf("%w: pending without a next attempt time", ErrInvalidArgument)
	}
	return nil
}

// NormalizeFilter validates f and fills in its default limit.
func NormalizeFilter(f Filter) (Filter, error) {
	if f.State != "" && !f.State.Valid() {
		return f, fmt.Errorf("%w: unknown state %q", ErrInvalidArgument, f.State)
	}
	switch {
	case f.Limit < 0:
		return f, fmt.Errorf("%w: negative limit", ErrInvalidArgument)
	case f.Limit == 0:
		f.Limit = DefaultListLimit
	case f.Limit > MaxListLimit:
		f.Limit = MaxListLimit
	}
	return f, nil
}

// TruncateError cuts an attempt's error to MaxErrorLen bytes (on a rune
// boundary).
func TruncateError(s string) string {
	if len(s) <= MaxErrorLen {
		return s
	}
	s = s[:MaxErrorLen]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Apply is the pure state transition of RecordAttempt, shared by the
// implementations: it checks that a belongs to r's current delivery,
// appends it to the log (bounded by MaxLog) and moves r to next.
func Apply(r Record, a Attempt, next Next, now time.Time) (Record, error) {
	if r.State != StatePending || a.Delivery != r.Delivery {
		return r, fmt.Errorf("%w: event is %s in delivery %d, attempt is of delivery %d", ErrStale, r.State, r.Delivery, a.Delivery)
	}
	a.Error = TruncateError(a.Error)
	a.At = a.At.UTC()
	r.Attempts++
	if a.N == 0 {
		a.N = r.Attempts
	}
	log := append(append([]Attempt(nil), r.Log...), a)
	if over := len(log) - MaxLog; over > 0 {
		log = log[over:]
		r.DroppedAttempts += over
	}
	r.Log = log
	r.State = next.State
	r.NextAttemptAt = time.Time{}
	if next.State == StatePending {
		r.NextAttemptAt = next.At.UTC()
	}
	r.UpdatedAt = now.UTC()
	return r, nil
}

// Rearm is the pure state transition of Replay.
func Rearm(r Record, at, now time.Time) Record {
	at = at.UTC()
	if r.State == StatePending {
		if at.Before(r.NextAttemptAt) {
			r.NextAttemptAt = at
			r.UpdatedAt = now.UTC()
		}
		return r
	}
	r.State = StatePending
	r.Delivery++
	r.Attempts = 0
	r.NextAttemptAt = at
	r.UpdatedAt = now.UTC()
	return r
}
