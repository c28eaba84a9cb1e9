// Package cqlstore is the sessions.Store on ScyllaDB or Apache Cassandra, for
// deployments of several nodes.
//
// The table (see Migrate):
//
//	sessions (tenant_id text, session_id text, version bigint, status text,
//	          state blob, updated_at timestamp,
//	          PRIMARY KEY ((tenant_id, session_id)))
//
// state is the deterministic protobuf encoding of ekycv1.SessionState; status
// (the SessionStatus name) and updated_at are copies for operators.
//
// # Compare-and-set
//
// Writes are lightweight transactions (Paxos): a create is
// "INSERT ... IF NOT EXISTS", an update "UPDATE ... IF version = ?", a
// delete "DELETE ... IF version = ?". A write
// that is not applied returns a *sessions.ConflictError whose Actual is the
// version the transaction read (0 when the row does not exist).
//
// # Consistency
//
// Following ScyllaDB's guidance for LWT, the Paxos phase runs at
// Config.SerialConsistency (SERIAL by default) and the commit phase, like the
// reads, at Config.Consistency (LOCAL_QUORUM by default): a read at
// LOCAL_QUORUM sees every LWT write committed in its data center, at the cost
// of one round trip instead of the four of a SERIAL read.
//
// A writer that lost an LWT, or whose LWT outcome is unknown, may race with a
// Paxos round that is accepted but not yet committed, which a LOCAL_QUORUM
// read would miss. So the first Get of that session after a conflict or an
// unknown outcome reads at the serial consistency: it completes any round in
// progress, and the actor re-applies its event on the winner's state.
//
// # Unknown outcome
//
// An LWT that times out (write timeout, CAS write unknown, no response, lost
// connection, deadline after the request was sent) may or may not have been
// applied. Put then returns an *sessions.UnknownOutcomeError (errors.Is
// ErrUnknownOutcome) wrapping the cause; the caller re-reads and compares,
// see sessions.ResolveUnknownOutcome. LWT writes are never retried by the
// driver, as a retry of an applied write would report a false conflict.
//
// # Listing
//
// The store does not implement sessions.Lister: with (tenant_id,
// session_id) as the partition key, a tenant's sessions are spread over
// the whole ring, and listing them is a scan of the full table. The
// retention job therefore sees only the sessions created through the
// node's HTTP API (their drafts) on this store.
package cqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2"
	"github.com/scylladb/gocqlx/v2/qb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
)

// ErrUnknownOutcome is sessions.ErrUnknownOutcome: a write may or may not
// have been applied. Put returns a *sessions.UnknownOutcomeError wrapping the
// cause.
var ErrUnknownOutcome = sessions.ErrUnknownOutcome

// maxSerialReads bounds the set of sessions whose next read is serial.
const maxSerialReads = 1 << 16

// Store is a sessions.Store on ScyllaDB or Apache Cassandra.
type Store struct {
	cfg     Config
	session gocqlx.Session
	closed  atomic.Bool

	selectStmt, insertStmt, updateStmt string
	deleteStmt                         string
	selectNames, insertNames           []string
	updateNames, deleteNames           []string

	// serialNext holds the sessions whose next Get reads at the serial
	// consistency.
	serialMu   sync.Mutex
	serialNext map[key]uint64 // session -> mark
	serialGen  uint64
}

var _ sessions.Store = (*Store)(nil)

type key struct{ tenant, session string }

// Open connects to the cluster and checks that the sessions table is there
// (Migrate creates it).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	gs, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := newStore(cfg, gocqlx.NewSession(gs))
	probe := "SELECT version FROM " + s.table() + " LIMIT 1"
	if err := gs.Query(probe).WithContext(ctx).Exec(); err != nil {
		gs.Close()
		return nil, fmt.Errorf("cqlstore: %s: %w: %w", s.table(), errNotMigrated, err)
	}
	return s, nil
}

func newStore(cfg Config, session gocqlx.Session) *Store {
	s := &Store{cfg: cfg, session: session, serialNext: map[key]uint64{}}
	t := s.table()
	s.selectStmt, s.selectNames = qb.Select(t).
		Columns("version", "state").
		Where(qb.Eq("tenant_id"), qb.Eq("session_id")).
		ToCql()
	s.insertStmt, s.insertNames = qb.Insert(t).
		Columns("tenant_id", "session_id", "version", "status", "state", "updated_at").
		Unique().
		ToCql()
	s.updateStmt, s.updateNames = qb.Update(t).
		Set("version", "status", "state", "updated_at").
		Where(qb.Eq("tenant_id"), qb.Eq("session_id")).
		If(qb.EqNamed("version", "expected_version")).
		ToCql()
	s.deleteStmt, s.deleteNames = qb.Delete(t).
		Where(qb.Eq("tenant_id"), qb.Eq("session_id")).
		If(qb.EqNamed("version", "expected_version")).
		ToCql()
	return s
}

func (s *Store) table() string { return s.cfg.Keyspace + "." + Table }

func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return sessions.ErrClosed
	}
	return nil
}

// Get implements sessions.Store.
func (s *Store) Get(ctx context.Context, tenantID, sessionID string) (*ekycv1.SessionState, error) {
	if err := sessions.ValidateKey(tenantID, sessionID); err != nil {
		return nil, err
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	k := key{tenantID, sessionID}
	gen, serial := s.serialPending(k)
	cons := s.cfg.Consistency
	if serial {
		cons = s.cfg.SerialConsistency
	}

	q := s.session.ContextQuery(ctx, s.selectStmt, s.selectNames).
		BindMap(map[string]any{"tenant_id": tenantID, "session_id": sessionID})
	defer q.Release()
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("cqlstore: get %q/%q: %w", tenantID, sessionID, err)
	}
	q.Consistency(cons).Idempotent(true)
	var (
		version int64
		state   []byte
	)
	err := q.Scan(&version, &state)
	if errors.Is(err, gocql.ErrNotFound) {
		if serial {
			s.serialDone(k, gen)
		}
		return nil, sessions.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("cqlstore: get %q/%q: %w", tenantID, sessionID, s.mapErr(err))
	}
	st, err := sessions.Unmarshal(state)
	if err != nil {
		return nil, fmt.Errorf("cqlstore: get %q/%q: %w", tenantID, sessionID, err)
	}
	st.Version = version // the column is the compare-and-set's authority
	if serial {
		s.serialDone(k, gen)
	}
	return st, nil
}

// Put implements sessions.Store.
func (s *Store) Put(ctx context.Context, st *ekycv1.SessionState, expectedVersion int64) error {
	if err := sessions.ValidatePut(st, expectedVersion); err != nil {
		return err
	}
	tenantID, sessionID := st.GetTenantId(), st.GetSessionId()
	if err := s.check(ctx); err != nil {
		return err
	}
	newVersion := expectedVersion + 1
	state, err := sessions.Marshal(st, newVersion)
	if err != nil {
		return err
	}
	updatedAt := time.Now()
	if st.GetUpdatedAt().IsValid() {
		updatedAt = st.GetUpdatedAt().AsTime()
	}
	args := map[string]any{
		"tenant_id":  tenantID,
		"session_id": sessionID,
		"version":    newVersion,
		"status":     st.GetStatus().String(),
		"state":      state,
		"updated_at": updatedAt,
	}
	var q *gocqlx.Queryx
	if expectedVersion == 0 {
		q = s.session.ContextQuery(ctx, s.insertStmt, s.insertNames)
	} else {
		args["expected_version"] = expectedVersion
		q = s.session.ContextQuery(ctx, s.updateStmt, s.updateNames)
	}
	q.BindMap(args)
	defer q.Release()
	k := key{tenantID, sessionID}
	applied, prev, err := s.execCAS(q, k, "put", expectedVersion)
	if err != nil {
		return err
	}
	if !applied {
		s.markSerial(k)
		return &sessions.ConflictError{
			TenantID: tenantID, SessionID: sessionID,
			Expected: expectedVersion, Actual: actualVersion(prev, expectedVersion),
		}
	}
	s.serialClear(k)
	st.Version = newVersion
	return nil
}

// execCAS runs the lightweight transaction of a put or delete of k and
// returns whether it applied and the row's columns when it did not. It is
// never retried and never speculative: a second attempt of an applied
// write would fail its condition and report a false conflict. A timeout is
// an *sessions.UnknownOutcomeError (and the key's next read is SERIAL).
func (s *Store) execCAS(q *gocqlx.Queryx, k key, op string, expectedVersion int64) (bool, map[string]any, error) {
	if err := q.Err(); err != nil {
		return false, nil, fmt.Errorf("cqlstore: %s %q/%q: %w", op, k.tenant, k.session, err)
	}
	q.Consistency(s.cfg.Consistency).
		SerialConsistency(s.cfg.SerialConsistency).
		Idempotent(false).
		RetryPolicy(nil)
	prev := map[string]any{}
	applied, err := q.MapScanCAS(prev)
	if err != nil {
		err = s.mapErr(err)
		if isUnknownOutcome(err) {
			s.markSerial(k)
			return false, nil, &sessions.UnknownOutcomeError{TenantID: k.tenant, SessionID: k.session, Expected: expectedVersion, Err: err}
		}
		return false, nil, fmt.Errorf("cqlstore: %s %q/%q: %w", op, k.tenant, k.session, err)
	}
	return applied, prev, nil
}

// Delete implements sessions.Store with a lightweight transaction,
// "DELETE ... IF version = ?". When it is not applied, a row that does not
// exist (no version returned, or a null one) means the session is already
// gone: success. Like Put's, the LWT is never retried by the driver, and a
// timeout is an *sessions.UnknownOutcomeError.
func (s *Store) Delete(ctx context.Context, tenantID, sessionID string, expectedVersion int64) error {
	if err := sessions.ValidateDelete(tenantID, sessionID, expectedVersion); err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	q := s.session.ContextQuery(ctx, s.deleteStmt, s.deleteNames).BindMap(map[string]any{
		"tenant_id":        tenantID,
		"session_id":       sessionID,
		"expected_version": expectedVersion,
	})
	defer q.Release()
	k := key{tenantID, sessionID}
	applied, prev, err := s.execCAS(q, k, "delete", expectedVersion)
	if err != nil {
		return err
	}
	if applied {
		s.serialClear(k)
		return nil
	}
	actual := storedVersion(prev)
	if actual == 0 {
		// Not stored: the row was absent when the Paxos round read it.
		s.serialClear(k)
		return nil
	}
	s.markSerial(k)
	return &sessions.ConflictError{TenantID: tenantID, SessionID: sessionID, Expected: expectedVersion, Actual: actual}
}

// storedVersion reads the version a failed conditional DELETE returned: 0
// when the row does not exist (Cassandra returns [applied] only, ScyllaDB a
// null column), -1 when it cannot be read.
func storedVersion(prev map[string]any) int64 {
	v, ok := prev["version"]
	if !ok {
		return 0
	}
	switch v := v.(type) {
	case int64:
		return v
	case *int64:
		if v == nil {
			return 0
		}
		return *v
	case nil:
		return 0
	default:
		return -1
	}
}

// actualVersion reads the stored version from the result of a failed LWT.
func actualVersion(prev map[string]any, expected int64) int64 {
	v, ok := prev["version"]
	if !ok {
		if expected == 0 {
			return -1 // INSERT IF NOT EXISTS failed: the row exists, version not returned
		}
		return 0 // UPDATE IF on a missing row: Cassandra returns [applied] only
	}
	switch v := v.(type) {
	case int64:
		return v // a null column (no row) scans as 0
	case *int64:
		if v == nil {
			return 0
		}
		return *v
	default:
		return -1
	}
}

// mapErr maps gocql's closed session error to sessions.ErrClosed.
func (s *Store) mapErr(err error) error {
	if errors.Is(err, gocql.ErrSessionClosed) {
		return fmt.Errorf("%w: %w", sessions.ErrClosed, err)
	}
	return err
}

// isUnknownOutcome reports whether a failed LWT may have been applied: every
// error but those that prove the coordinator did not start the Paxos round
// or that the round could not propose our value.
func isUnknownOutcome(err error) bool {
	if err == nil {
		return false
	}
	var (
		writeTimeout *gocql.RequestErrWriteTimeout
		casUnknown   *gocql.RequestErrCASWriteUnknown
		writeFailure *gocql.RequestErrWriteFailure
		cdcFailure   *gocql.RequestErrCDCWriteFailure
		unavailable  *gocql.RequestErrUnavailable
		readTimeout  *gocql.RequestErrReadTimeout
		readFailure  *gocql.RequestErrReadFailure
		rateLimited  *gocql.RequestErrRateLimitReached
		unprepared   *gocql.RequestErrUnprepared
		reqErr       gocql.RequestError
	)
	switch {
	case errors.As(err, &writeTimeout), errors.As(err, &casUnknown),
		errors.As(err, &writeFailure), errors.As(err, &cdcFailure):
		// The proposal may have been accepted by some replicas.
		return true
	case errors.As(err, &unavailable), errors.As(err, &readTimeout),
		errors.As(err, &readFailure), errors.As(err, &rateLimited), errors.As(err, &unprepared):
		// Rejected before the Paxos round, or the round failed in its
		// read phase, before proposing our value.
		return false
	case errors.As(err, &reqErr):
		switch reqErr.Code() {
		case gocql.ErrCodeOverloaded, gocql.ErrCodeBootstrapping, gocql.ErrCodeSyntax,
			gocql.ErrCodeInvalid, gocql.ErrCodeUnauthorized, gocql.ErrCodeConfig,
			gocql.ErrCodeCredentials, gocql.ErrCodeProtocol, gocql.ErrCodeAlreadyExists,
			gocql.ErrCodeTruncate:
			return false
		default: // ErrCodeServer and unknown codes
			return true
		}
	}
	for _, definite := range []error{
		sessions.ErrClosed, gocql.ErrSessionClosed, gocql.ErrNoConnections, gocql.ErrNoStreams,
		gocql.ErrQueryArgLength, gocql.ErrTooManyTimeouts, gocql.ErrFrameTooBig, gocql.ErrNoHosts,
		gocql.ErrUnsupported, sessions.ErrInvalidArgument,
	} {
		if errors.Is(err, definite) {
			return false
		}
	}
	var marshalErr gocql.MarshalError
	if errors.As(err, &marshalErr) {
		return false
	}
	// Client timeouts (gocql.ErrTimeoutNoResponse), lost connections
	// (gocql.ErrConnectionClosed), network errors, context done after the
	// request was sent, and anything unexpected.
	return true
}

// serialPending reports whether k's next read is serial, and the mark to
// clear once it is done.
func (s *Store) serialPending(k key) (uint64, bool) {
	s.serialMu.Lock()
	defer s.serialMu.Unlock()
	gen, ok := s.serialNext[k]
	return gen, ok
}

// markSerial makes k's next read serial.
func (s *Store) markSerial(k key) {
	s.serialMu.Lock()
	defer s.serialMu.Unlock()
	if len(s.serialNext) >= maxSerialReads {
		// Bounded memory: sessions that lost a write and were never read
		// again. Forgetting them only costs them the serial read.
		clear(s.serialNext)
	}
	s.serialGen++
	s.serialNext[k] = s.serialGen
}

// serialDone clears k's mark gen after a serial read, unless a later
// conflict marked k again meanwhile.
func (s *Store) serialDone(k key, gen uint64) {
	s.serialMu.Lock()
	defer s.serialMu.Unlock()
	if s.serialNext[k] == gen {
		delete(s.serialNext, k)
	}
}

// serialClear clears k's mark after an applied write: the write's Paxos
// round completed every earlier one.
func (s *Store) serialClear(k key) {
	s.serialMu.Lock()
	defer s.serialMu.Unlock()
	delete(s.serialNext, k)
}

// Close implements sessions.Store. It is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.session.Close()
	return nil
}
