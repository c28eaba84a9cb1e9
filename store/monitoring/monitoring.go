// Package monitoring defines the store of ongoing screening monitoring: the
// approved applicants (subjects) of tenants that enabled monitoring, with
// what they are screened on and the list entities they are already known to
// match. When a list version changes the node re-screens every subject and
// alerts on the hits that are not known yet.
//
// A Subject carries its screening.Query (name, date of birth, countries,
// document numbers) rather than a copy of its fields: the query is exactly
// what is re-screened, and services/screening is pure logic with no
// dependency on the stores. The query is personal data: implementations
// must encrypt it at rest and must not put it in record keys; the tenant and
// session ids are the key.
//
// Implementations:
//   - pebblestore: embedded Pebble under <data_dir>/monitoring, records
//     sealed with AES-256-GCM envelope encryption (internal/envelope).
//
// monitoringtest holds the conformance suite every implementation must pass.
package monitoring

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/openekyc/ekyc/services/screening"
)

// MaxIDLen is the longest tenant or session id the stores accept, in bytes.
const MaxIDLen = 1024

var (
	// ErrNotFound is returned by SetKnownHits for a subject that is not
	// enrolled.
	ErrNotFound = errors.New("monitoring: subject not enrolled")
	// ErrInvalidArgument reports a malformed call (empty ids, a query
	// without a name, ...). Retrying the same call cannot succeed.
	ErrInvalidArgument = errors.New("monitoring: invalid argument")
	// ErrCorrupt reports a stored record that cannot be read: damaged,
	// tampered with, or sealed under another key.
	ErrCorrupt = errors.New("monitoring: corrupt record")
	// ErrClosed is returned by calls on a closed store.
	ErrClosed = errors.New("monitoring: store closed")
)

// Subject is one monitored applicant.
type Subject struct {
	Tenant  string
	Session string
	// Query is what the subject is re-screened on (personal data).
	Query screening.Query
	// KnownHits are the entity ids the subject is known to match (at its
	// approval, or already alerted): they do not alert again. Sorted,
	// without duplicates, as returned by the store.
	KnownHits []string
	// EnrolledAt is when the subject was enrolled (the store sets it when
	// zero).
	EnrolledAt time.Time
}

// Store keeps the monitored subjects. Implementations are safe for
// concurrent use.
type Store interface {
	// Enrol adds a subject. It is idempotent: enrolling a subject that is
	// already enrolled (same tenant and session) succeeds and changes
	// nothing, so a redelivered approval does not reset its known hits.
	Enrol(ctx context.Context, s Subject) error

	// Subjects calls fn for every subject of tenant, in session id order.
	// An error from fn stops the iteration and is returned. fn may call
	// the store (SetKnownHits). A subject enrolled during the iteration
	// may or may not be seen. A record that cannot be read does not stop
	// the others: it is skipped, and the call returns an error matching
	// ErrCorrupt (naming the session) after the last subject.
	Subjects(ctx context.Context, tenant string, fn func(Subject) error) error

	// SetKnownHits replaces the known hits of an enrolled subject
	// (ErrNotFound if it is not).
	SetKnownHits(ctx context.Context, tenant, session string, entityIDs []string) error

	// Unenrol removes a subject (erasure of the applicant's data). It is
	// idempotent: removing a subject that is not enrolled succeeds.
	Unenrol(ctx context.Context, tenant, session string) error

	// Close releases the store. It is idempotent; other calls after Close
	// return ErrClosed.
	Close() error
}

// ValidateKey checks a (tenant, session) key.
func ValidateKey(tenant, session string) error {
	if err := validateID("tenant id", tenant); err != nil {
		return err
	}
	return validateID("session id", session)
}

// ValidateTenant checks a tenant id.
func ValidateTenant(tenant string) error { return validateID("tenant id", tenant) }

func validateID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty %s", ErrInvalidArgument, what)
	case len(id) > MaxIDLen:
		return fmt.Errorf("%w: %s is %d bytes long, the limit is %d", ErrInvalidArgument, what, len(id), MaxIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidArgument, what)
	}
	return nil
}

// ValidateSubject checks the argument of Store.Enrol.
func ValidateSubject(s Subject) error {
	if err := ValidateKey(s.Tenant, s.Session); err != nil {
		return err
	}
	if err := s.Query.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	for _, id := range s.KnownHits {
		if id == "" {
			return fmt.Errorf("%w: empty entity id", ErrInvalidArgument)
		}
	}
	return nil
}

// NormalizeHits returns ids sorted and without duplicates (a new slice).
func NormalizeHits(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
