// Package sealed is a sessions.Store decorator that keeps the applicant's
// data encrypted at rest.
//
// A SessionState carries the VerificationRequest it was started by: the
// applicant's name, date of birth, address, document number and MRZ lines,
// and the references of their images. Put seals that request with the
// session's data key (store/keys: AES-256-GCM, a key per session wrapped by
// the tenant's key, wrapped by the master key) into sealed_request and
// writes the state with request cleared; Get opens it again. Everything
// else in the state — status, check results, decision, event ids — is
// written as it is: it holds no PII (signals are measurements and codes;
// screening hits name list entries, not the applicant).
//
// Erasure destroys the session's data key (crypto-shredding). From then on
// Get returns the state without its request (ErasedAt set by the eraser):
// the decision record stays readable, the applicant's data is gone for
// good, wherever copies of the sealed bytes may linger (replicas,
// backups, the store's own compaction debt).
//
// The decorator works over any sessions.Store (Pebble, CQL); the
// compare-and-set semantics are the inner store's.
package sealed

import (
	"context"
	"errors"
	"fmt"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
	"google.golang.org/protobuf/proto"
)

// Sealer encrypts with the data key of one session (store/keys.Ring).
type Sealer interface {
	Seal(ctx context.Context, tenant, session string, plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, tenant, session string, sealed, aad []byte) ([]byte, error)
}

// aad binds the sealed request to its role; the Sealer binds it to the
// tenant and session.
var aad = []byte("ekyc/session-state/request/v1")

// Store seals the request of every state it writes.
type Store struct {
	inner    sessions.Store
	sealer   Sealer
	shredded func(error) bool
}

// New wraps inner. shredded reports the Sealer's error for a destroyed key
// (errors.Is(err, keys.ErrShredded)): Get then returns the state without
// its request instead of failing.
func New(inner sessions.Store, s Sealer, shredded func(error) bool) *Store {
	return &Store{inner: inner, sealer: s, shredded: shredded}
}

// Get implements sessions.Store.
func (s *Store) Get(ctx context.Context, tenantID, sessionID string) (*ekycv1.SessionState, error) {
	st, err := s.inner.Get(ctx, tenantID, sessionID)
	if err != nil {
		return nil, err
	}
	if len(st.GetSealedRequest()) == 0 {
		return st, nil
	}
	plain, err := s.sealer.Open(ctx, tenantID, sessionID, st.GetSealedRequest(), aad)
	if err != nil {
		if s.shredded != nil && s.shredded(err) {
			return st, nil // erased: the record without the applicant's data
		}
		return nil, fmt.Errorf("sealed: open request of %q/%q: %w", tenantID, sessionID, err)
	}
	req := &ekycv1.VerificationRequest{}
	if err := proto.Unmarshal(plain, req); err != nil {
		return nil, fmt.Errorf("sealed: request of %q/%q: %w", tenantID, sessionID, err)
	}
	st.Request = req
	st.SealedRequest = nil
	return st, nil
}

// Put implements sessions.Store: st is written with its request sealed and
// left unchanged but for Version (set by the inner store on success).
func (s *Store) Put(ctx context.Context, st *ekycv1.SessionState, expectedVersion int64) error {
	if st == nil {
		return fmt.Errorf("%w: nil state", sessions.ErrInvalidArgument)
	}
	out := st
	if st.GetRequest() != nil {
		plain, err := proto.MarshalOptions{Deterministic: true}.Marshal(st.GetRequest())
		if err != nil {
			return fmt.Errorf("%w: request: %v", sessions.ErrInvalidArgument, err)
		}
		sealedReq, err := s.sealer.Seal(ctx, st.GetTenantId(), st.GetSessionId(), plain, aad)
		if err != nil {
			if s.shredded != nil && s.shredded(err) {
				// The session was erased: nothing of it may be written
				// again, and retrying cannot change that.
				return fmt.Errorf("%w: session %q/%q was erased", sessions.ErrInvalidArgument, st.GetTenantId(), st.GetSessionId())
			}
			return fmt.Errorf("sealed: seal request of %q/%q: %w", st.GetTenantId(), st.GetSessionId(), err)
		}
		out = proto.CloneOf(st)
		out.Request = nil
		out.SealedRequest = sealedReq
	}
	if err := s.inner.Put(ctx, out, expectedVersion); err != nil {
		return err
	}
	st.Version = out.GetVersion()
	return nil
}

// Delete implements sessions.Store: the inner store's delete (nothing is
// sealed in a delete).
func (s *Store) Delete(ctx context.Context, tenantID, sessionID string, expectedVersion int64) error {
	return s.inner.Delete(ctx, tenantID, sessionID, expectedVersion)
}

// Sessions implements sessions.Lister when the inner store does (an error
// matching errors.ErrUnsupported otherwise). The states are passed as
// stored, their request left sealed (SealedRequest set, Request nil):
// listing is for housekeeping and opens no data key. Such a state may be
// written back with Put, which keeps the sealed request as it is.
func (s *Store) Sessions(ctx context.Context, tenantID string, fn func(*ekycv1.SessionState) error) error {
	l, ok := s.inner.(sessions.Lister)
	if !ok {
		return fmt.Errorf("sealed: %w: the inner store cannot list sessions", errors.ErrUnsupported)
	}
	return l.Sessions(ctx, tenantID, fn)
}

// Close implements sessions.Store (closes the inner store).
func (s *Store) Close() error { return s.inner.Close() }

// Inner is the wrapped store.
func (s *Store) Inner() sessions.Store { return s.inner }

var (
	_ sessions.Store  = (*Store)(nil)
	_ sessions.Lister = (*Store)(nil)
)

// ShreddedIs returns a predicate for New: errors.Is(err, target).
func ShreddedIs(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}
