// Package sessions defines the session state store: the authority for the
// session virtual actors.
//
// The Proto.Actor cluster may activate the same session actor twice (during a
// membership change, a network partition, or a slow deactivation), so an
// actor's in-memory state is only a cache. Every write is a compare-and-set on
// SessionState.version: the write succeeds only if the stored version is the
// one the writer read, otherwise the writer gets ErrConflict, re-reads and
// re-applies its event to the winner's state.
//
// Implementations:
//   - pebblestore: embedded, single process (the default);
//   - cqlstore: ScyllaDB / Apache Cassandra with lightweight transactions.
//
// sessionstest holds the conformance suite every implementation must pass.
package sessions

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// MaxIDLen is the longest tenant or session id the stores accept, in bytes.
const MaxIDLen = 1024

var (
	// ErrNotFound is returned by Get when the session has never been stored.
	ErrNotFound = errors.New("sessions: not found")

	// ErrConflict reports that the stored version differs from the expected
	// one: another writer won. The error returned by Put is a *ConflictError
	// (use errors.As for the actual version); errors.Is(err, ErrConflict)
	// matches it.
	ErrConflict = errors.New("sessions: version conflict")

	// ErrUnknownOutcome reports that a write may or may not have been applied
	// (for example a timeout of a distributed compare-and-set). The error
	// returned is an *UnknownOutcomeError wrapping the cause; the caller must
	// re-read and compare, see ResolveUnknownOutcome.
	ErrUnknownOutcome = errors.New("sessions: unknown write outcome")

	// ErrInvalidArgument reports a malformed request (empty ids, nil state,
	// negative version, ...). Retrying the same call cannot succeed.
	ErrInvalidArgument = errors.New("sessions: invalid argument")

	// ErrClosed is returned by calls on a closed store.
	ErrClosed = errors.New("sessions: store closed")
)

// Store is the session state store. Implementations are safe for concurrent
// use.
type Store interface {
	// Get returns the stored state of a session, or ErrNotFound. The returned
	// state's Version is the stored version.
	Get(ctx context.Context, tenantID, sessionID string) (*ekycv1.SessionState, error)

	// Put writes st if the stored version equals expectedVersion (0: the
	// session must not exist yet). The key is (st.TenantId, st.SessionId).
	//
	// On success it sets st.Version = expectedVersion+1, which is also the
	// version stored. On mismatch it returns a *ConflictError (errors.Is
	// ErrConflict) and changes nothing, st included. A store that cannot tell
	// whether the write was applied returns an *UnknownOutcomeError (errors.Is
	// ErrUnknownOutcome).
	Put(ctx context.Context, st *ekycv1.SessionState, expectedVersion int64) error

	// Delete removes a session's state if the stored version equals
	// expectedVersion, the compare-and-set of Put: on mismatch it returns a
	// *ConflictError (errors.Is ErrConflict) and removes nothing; a store
	// that cannot tell whether the delete was applied returns an
	// *UnknownOutcomeError (re-read: ErrNotFound means it was).
	//
	// Deleting a session that is not stored succeeds, whatever
	// expectedVersion: a retried or repeated delete is harmless (erasure
	// relies on it). A later Put at version 0 creates the session anew.
	Delete(ctx context.Context, tenantID, sessionID string, expectedVersion int64) error

	// Close releases the store. It is idempotent; other calls after Close
	// return ErrClosed.
	Close() error
}

// Lister is implemented by stores that can enumerate a tenant's sessions
// cheaply (pebblestore, and the sealed decorator over one). It serves
// housekeeping such as the retention job: ids, status and timestamps.
// cqlstore does not implement it, as it would be a scan of the whole table
// (the partition key is (tenant, session)).
type Lister interface {
	// Sessions calls fn with every stored session of tenantID, in an
	// unspecified order, until fn returns an error (returned as is) or
	// ctx is done. A decorator may pass states without their request
	// (sealed leaves it sealed). Sessions written or deleted during the
	// call may or may not be seen; fn may call the store, including Put
	// and Delete. A decorator whose inner store cannot list returns an
	// error matching errors.ErrUnsupported.
	Sessions(ctx context.Context, tenantID string, fn func(*ekycv1.SessionState) error) error
}

// ConflictError is the error Put and Delete return when the stored version
// is not the expected one.
type ConflictError struct {
	TenantID  string
	SessionID string
	// Expected is the version the writer expected.
	Expected int64
	// Actual is the stored version (0: not stored), or -1 when unknown.
	Actual int64
}

func (e *ConflictError) Error() string {
	if e.Actual < 0 {
		return fmt.Sprintf("sessions: version conflict on %q/%q: expected version %d, stored version unknown",
			e.TenantID, e.SessionID, e.Expected)
	}
	return fmt.Sprintf("sessions: version conflict on %q/%q: expected version %d, stored version %d",
		e.TenantID, e.SessionID, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// UnknownOutcomeError is the error Put returns when the write may or may not
// have been applied.
type UnknownOutcomeError struct {
	TenantID  string
	SessionID string
	Expected  int64
	// Err is the cause (a timeout, a lost connection, ...).
	Err error
}

func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("sessions: unknown outcome of write to %q/%q at version %d: %v",
		e.TenantID, e.SessionID, e.Expected, e.Err)
}

// Is makes errors.Is(err, ErrUnknownOutcome) true.
func (e *UnknownOutcomeError) Is(target error) bool { return target == ErrUnknownOutcome }

// Unwrap returns the cause.
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// ValidateKey checks a (tenant, session) key.
func ValidateKey(tenantID, sessionID string) error {
	if err := validateID("tenant id", tenantID); err != nil {
		return err
	}
	return validateID("session id", sessionID)
}

// ValidateTenant checks a tenant id.
func ValidateTenant(tenantID string) error { return validateID("tenant id", tenantID) }

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

// ValidateDelete checks the arguments of Store.Delete.
func ValidateDelete(tenantID, sessionID string, expectedVersion int64) error {
	if err := ValidateKey(tenantID, sessionID); err != nil {
		return err
	}
	if expectedVersion < 0 {
		return fmt.Errorf("%w: negative expected version %d", ErrInvalidArgument, expectedVersion)
	}
	return nil
}

// ValidatePut checks the arguments of Store.Put.
func ValidatePut(st *ekycv1.SessionState, expectedVersion int64) error {
	if st == nil {
		return fmt.Errorf("%w: nil session state", ErrInvalidArgument)
	}
	if err := ValidateKey(st.GetTenantId(), st.GetSessionId()); err != nil {
		return err
	}
	if expectedVersion < 0 {
		return fmt.Errorf("%w: negative expected version %d", ErrInvalidArgument, expectedVersion)
	}
	return nil
}

var marshalOpts = proto.MarshalOptions{Deterministic: true}

// Marshal encodes st as it is stored at the given version (deterministic
// protobuf). st is left unchanged, but it must not be read or written by
// another goroutine during the call.
func Marshal(st *ekycv1.SessionState, version int64) ([]byte, error) {
	prev := st.Version
	st.Version = version
	b, err := marshalOpts.Marshal(st)
	st.Version = prev
	if err != nil {
		return nil, fmt.Errorf("sessions: marshal state of %q/%q: %w", st.GetTenantId(), st.GetSessionId(), err)
	}
	return b, nil
}

// Unmarshal decodes a stored state.
func Unmarshal(b []byte) (*ekycv1.SessionState, error) {
	st := new(ekycv1.SessionState)
	if err := proto.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("sessions: unmarshal state: %w", err)
	}
	return st, nil
}

// versionField is SessionState.version's field number.
const versionField protowire.Number = 4

// VersionOf reads SessionState.version from an encoded state without decoding
// the rest of it. A state without the field has version 0.
func VersionOf(b []byte) (int64, error) {
	var version int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, fmt.Errorf("sessions: read version: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if num == versionField && typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return 0, fmt.Errorf("sessions: read version: %w", protowire.ParseError(m))
			}
			version = int64(v) // last one wins, as in proto.Unmarshal
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return 0, fmt.Errorf("sessions: read version: %w", protowire.ParseError(m))
		}
		b = b[m:]
	}
	return version, nil
}

// ResolveUnknownOutcome settles a Put that returned ErrUnknownOutcome: it
// re-reads the session and reports whether the stored state is the one st
// would have written at expectedVersion+1. When it is, it sets st.Version to
// expectedVersion+1 as a successful Put would have.
//
// When applied is false, current is the stored state (nil if none) and is the
// authority to re-apply the event on. If current.Version > expectedVersion+1,
// st may have been written and then overwritten; re-applying the event to
// current is still correct as long as events are applied idempotently (see
// SessionState.applied_event_ids).
//
// Stores that serve reads from replicas (cqlstore) route the first Get of a
// session after an unknown outcome through a linearizable read, so the state
// read here includes every write that may have been applied.
func ResolveUnknownOutcome(ctx context.Context, s Store, st *ekycv1.SessionState, expectedVersion int64) (applied bool, current *ekycv1.SessionState, err error) {
	if err := ValidatePut(st, expectedVersion); err != nil {
		return false, nil, err
	}
	cur, err := s.Get(ctx, st.GetTenantId(), st.GetSessionId())
	if errors.Is(err, ErrNotFound) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	if cur.GetVersion() != expectedVersion+1 {
		return false, cur, nil
	}
	prev := st.Version
	st.Version = expectedVersion + 1
	same := proto.Equal(cur, st)
	if !same {
		st.Version = prev
	}
	return same, cur, nil
}
