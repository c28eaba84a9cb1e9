// Package cqlstore is the monitoring.Store on ScyllaDB or Apache Cassandra,
// for deployments where the nodes share one database. It lives in the
// sessions store's keyspace and takes the same Config.
//
// The table (see Migrate):
//
//	monitoring_subjects (tenant_id text, bucket smallint, session_id text,
//	                     record blob,
//	                     PRIMARY KEY ((tenant_id, bucket), session_id))
//	    WITH CLUSTERING ORDER BY (session_id ASC)
//
// # No personal data in the clear
//
// The clear columns are the key only: tenant id, session id and the bucket
// (a hash of the session id). record is the whole subject (screening query,
// known hits, enrolment time) as JSON sealed with envelope encryption
// (internal/envelope), exactly as the Pebble store seals it: a fresh random
// AES-256 data key per write, wrapped by the master key, with the record's
// key as associated data, so a record copied to another row does not open.
// The associated data is the Pebble store's record key (Key), so a sealed
// record is valid in either store.
//
// # Partitions
//
// A tenant's subjects are spread over Buckets partitions (tenant, bucket),
// bucket = FNV-1a(session id) mod Buckets, so a tenant of millions of
// subjects makes partitions of tens of thousands of rows rather than one
// partition of millions on one replica set. Subjects reads the buckets a
// page at a time each, by key (session_id > last LIMIT n), and merges them
// in session id order: memory is bounded by Buckets × the page size, and
// nothing stays open while the caller's function runs. Buckets is part of
// the table's layout: changing it needs a new table and a copy.
//
// # Writes
//
// Every write is a lightweight transaction, so that no plain write (with a
// client or coordinator timestamp) mixes with the Paxos-timestamped ones on
// a row: Enrol is "INSERT ... IF NOT EXISTS" (not applied: already
// enrolled, which is success and changes nothing), SetKnownHits reads the
// record, re-seals it with the new hits and writes it with
// "UPDATE ... IF EXISTS" (not applied: ErrNotFound). Only the known hits
// ever change after enrolment, and SetKnownHits replaces them, so the read
// needs no compare-and-set: two concurrent SetKnownHits end with one of the
// two lists, as they would one after the other.
//
// The Paxos phase runs at Config.SerialConsistency, the commit phase and the
// reads at Config.Consistency (LOCAL_QUORUM by default), which sees every
// committed LWT of its data center. A SetKnownHits that finds no row reads
// again at the serial consistency before it reports ErrNotFound, so an
// enrolment whose Paxos round was accepted but not yet committed is seen.
//
// LWT writes are not retried by the driver. Both writes may be retried by
// the caller after any error: Enrol is idempotent, and SetKnownHits
// replaces.
package cqlstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2"
	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/store/monitoring"
)

const (
	// Buckets is the number of partitions of a tenant's subjects.
	Buckets = 32
	// DefaultPageSize is how many rows Subjects reads from a bucket at a
	// time.
	DefaultPageSize = 64
	// primeParallel is how many buckets Subjects reads at once at the
	// start of an iteration.
	primeParallel = 8
)

// Store is a monitoring.Store on ScyllaDB or Apache Cassandra.
type Store struct {
	cfg      Config
	session  gocqlx.Session
	keys     *envelope.Keyring
	now      func() time.Time
	pageSize int
	closed   atomic.Bool

	insertStmt, selectStmt, updateStmt, pageStmt     string
	deleteStmt                                       string
	deleteNames                                      []string
	insertNames, selectNames, updateNames, pageNames []string
}

var _ monitoring.Store = (*Store)(nil)

type options struct {
	now      func() time.Time
	pageSize int
}

// Option configures Open.
type Option func(*options)

// WithClock sets the clock that stamps EnrolledAt when the caller leaves
// it zero.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithPageSize sets how many rows Subjects reads from a bucket at a time
// (default DefaultPageSize; at least 1).
func WithPageSize(n int) Option { return func(o *options) { o.pageSize = n } }

// Open connects to the cluster and checks that the subjects table is
// there (Migrate creates it, ErrNotMigrated otherwise). keys seals and
// opens the records.
func Open(ctx context.Context, cfg Config, keys *envelope.Keyring, opts ...Option) (*Store, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, fmt.Errorf("monitoring cqlstore: %w: no keyring", monitoring.ErrInvalidArgument)
	}
	o := options{now: time.Now, pageSize: DefaultPageSize}
	for _, opt := range opts {
		opt(&o)
	}
	if o.pageSize < 1 {
		return nil, fmt.Errorf("monitoring cqlstore: %w: page size %d", monitoring.ErrInvalidArgument, o.pageSize)
	}
	gs, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := newStore(cfg, gocqlx.NewSession(gs), keys, o)
	probe := "SELECT session_id, record FROM " + s.table() + " LIMIT 1"
	if err := gs.Query(probe).WithContext(ctx).Exec(); err != nil {
		gs.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrNotMigrated, s.table(), err)
	}
	return s, nil
}

func newStore(cfg Config, session gocqlx.Session, keys *envelope.Keyring, o options) *Store {
	s := &Store{cfg: cfg, session: session, keys: keys, now: o.now, pageSize: o.pageSize}
	t := s.table()
	key := []qb.Cmp{qb.Eq("tenant_id"), qb.Eq("bucket"), qb.Eq("session_id")}
	s.insertStmt, s.insertNames = qb.Insert(t).
		Columns("tenant_id", "bucket", "session_id", "record").
		Unique().
		ToCql()
	s.selectStmt, s.selectNames = qb.Select(t).
		Columns("record").
		Where(key...).
		ToCql()
	s.updateStmt, s.updateNames = qb.Update(t).
		Set("record").
		Where(key...).
		Existing().
		ToCql()
	s.deleteStmt, s.deleteNames = qb.Delete(t).Where(key...).ToCql()
	s.pageStmt, s.pageNames = qb.Select(t).
		Columns("session_id", "record").
		Where(qb.Eq("tenant_id"), qb.Eq("bucket"), qb.GtNamed("session_id", "after")).
		LimitNamed("limit").
		ToCql()
	return s
}

func (s *Store) table() string { return s.cfg.Keyspace + "." + Table }

// Bucket returns the bucket of a session id: FNV-1a 32 of its bytes, modulo
// Buckets. It is part of the table's layout and never changes.
func Bucket(session string) int16 {
	h := fnv.New32a()
	h.Write([]byte(session))
	return int16(h.Sum32() % Buckets)
}

// Key returns the associated data a subject's record is sealed with:
// "m/" + uvarint(len(tenant)) + tenant + "/" + session, the monitoring
// Pebble store's record key (an injective function of tenant and session).
func Key(tenant, session string) []byte {
	k := make([]byte, 0, 2+binary.MaxVarintLen64+len(tenant)+1+len(session))
	k = append(k, "m/"...)
	k = binary.AppendUvarint(k, uint64(len(tenant)))
	k = append(k, tenant...)
	k = append(k, '/')
	return append(k, session...)
}

// record is the sealed value: the same JSON as the Pebble store's.
type record struct {
	Query      screening.Query `json:"query"`
	KnownHits  []string        `json:"known_hits,omitempty"`
	EnrolledAt time.Time       `json:"enrolled_at"`
}

func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return monitoring.ErrClosed
	}
	return nil
}

// mapErr maps gocql's closed session error to monitoring.ErrClosed.
func (s *Store) mapErr(err error) error {
	if errors.Is(err, gocql.ErrSessionClosed) || s.closed.Load() {
		return fmt.Errorf("%w: %w", monitoring.ErrClosed, err)
	}
	return err
}

func (s *Store) seal(tenant, session string, r record) ([]byte, error) {
	plain, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("monitoring cqlstore: encode: %w", err)
	}
	defer clear(plain)
	v, err := s.keys.Seal(plain, Key(tenant, session))
	if err != nil {
		return nil, fmt.Errorf("monitoring cqlstore: seal: %w", err)
	}
	return v, nil
}

func (s *Store) open(tenant, session string, sealed []byte) (record, error) {
	plain, err := s.keys.Open(sealed, Key(tenant, session))
	if err != nil {
		return record{}, fmt.Errorf("%w: %w", monitoring.ErrCorrupt, err)
	}
	defer clear(plain)
	var r record
	if err := json.Unmarshal(plain, &r); err != nil {
		return record{}, fmt.Errorf("%w: decode: %w", monitoring.ErrCorrupt, err)
	}
	return r, nil
}

func keyArgs(tenant, session string) map[string]any {
	return map[string]any{"tenant_id": tenant, "bucket": Bucket(session), "session_id": session}
}

// Enrol implements monitoring.Store.
func (s *Store) Enrol(ctx context.Context, sub monitoring.Subject) error {
	if err := monitoring.ValidateSubject(sub); err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	r := record{Query: sub.Query, KnownHits: monitoring.NormalizeHits(sub.KnownHits), EnrolledAt: sub.EnrolledAt.UTC()}
	if sub.EnrolledAt.IsZero() {
		r.EnrolledAt = s.now().UTC()
	}
	val, err := s.seal(sub.Tenant, sub.Session, r)
	if err != nil {
		return err
	}
	args := keyArgs(sub.Tenant, sub.Session)
	args["record"] = val
	// Not applied: the subject is enrolled already and keeps its record.
	if _, err := s.cas(ctx, s.insertStmt, s.insertNames, args); err != nil {
		return fmt.Errorf("monitoring cqlstore: enrol %q/%q: %w", sub.Tenant, sub.Session, err)
	}
	return nil
}

// cas runs a lightweight transaction and reports whether it was applied.
func (s *Store) cas(ctx context.Context, stmt string, names []string, args map[string]any) (bool, error) {
	q := s.session.ContextQuery(ctx, stmt, names).BindMap(args)
	defer q.Release()
	if err := q.Err(); err != nil {
		return false, err
	}
	// No driver retry and no speculative execution: the caller decides
	// (both writes are safe to repeat).
	q.Consistency(s.cfg.Consistency).
		SerialConsistency(s.cfg.SerialConsistency).
		Idempotent(false).
		RetryPolicy(nil)
	applied, err := q.MapScanCAS(map[string]any{})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return false, s.mapErr(err)
	}
	return applied, nil
}

// get reads a subject's sealed record at cons; found is false when there
// is none.
func (s *Store) get(ctx context.Context, tenant, session string, cons gocql.Consistency) (sealed []byte, found bool, err error) {
	q := s.session.ContextQuery(ctx, s.selectStmt, s.selectNames).BindMap(keyArgs(tenant, session))
	defer q.Release()
	if err := q.Err(); err != nil {
		return nil, false, err
	}
	q.Consistency(cons).Idempotent(true)
	err = q.Query.Scan(&sealed)
	if errors.Is(err, gocql.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.mapErr(err)
	}
	return sealed, true, nil
}

// SetKnownHits implements monitoring.Store.
func (s *Store) SetKnownHits(ctx context.Context, tenant, session string, entityIDs []string) error {
	if err := monitoring.ValidateKey(tenant, session); err != nil {
		return err
	}
	for _, id := range entityIDs {
		if id == "" {
			return fmt.Errorf("%w: empty entity id", monitoring.ErrInvalidArgument)
		}
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("monitoring cqlstore: set known hits of %q/%q: %w", tenant, session, err)
	}
	sealed, found, err := s.get(ctx, tenant, session, s.cfg.Consistency)
	if err == nil && !found {
		// Complete an enrolment's Paxos round that may be in progress.
		sealed, found, err = s.get(ctx, tenant, session, s.cfg.SerialConsistency)
	}
	if err != nil {
		return fail(err)
	}
	if !found {
		return fmt.Errorf("%w: %q/%q", monitoring.ErrNotFound, tenant, session)
	}
	r, err := s.open(tenant, session, sealed)
	if err != nil {
		return fail(err)
	}
	r.KnownHits = monitoring.NormalizeHits(entityIDs)
	val, err := s.seal(tenant, session, r) // a fresh data key for the new value
	if err != nil {
		return err
	}
	args := keyArgs(tenant, session)
	args["record"] = val
	applied, err := s.cas(ctx, s.updateStmt, s.updateNames, args)
	if err != nil {
		return fail(err)
	}
	if !applied {
		return fmt.Errorf("%w: %q/%q", monitoring.ErrNotFound, tenant, session)
	}
	return nil
}

// Unenrol implements monitoring.Store: a plain delete (tombstone) at the
// store's consistency; Cassandra drops the sealed value at compaction after
// gc_grace_seconds.
func (s *Store) Unenrol(ctx context.Context, tenant, session string) error {
	if err := monitoring.ValidateKey(tenant, session); err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	q := s.session.ContextQuery(ctx, s.deleteStmt, s.deleteNames).BindMap(keyArgs(tenant, session))
	defer q.Release()
	if err := q.Consistency(s.cfg.Consistency).Exec(); err != nil {
		return fmt.Errorf("monitoring cqlstore: unenrol %q/%q: %w", tenant, session, s.mapErr(err))
	}
	return nil
}

// Subjects implements monitoring.Store: a merge of the tenant's buckets in
// session id order, a page per bucket at a time (see merger). fn runs with
// no query or cursor open.
func (s *Store) Subjects(ctx context.Context, tenant string, fn func(monitoring.Subject) error) error {
	if err := monitoring.ValidateTenant(tenant); err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	m := newMerger(Buckets, s.pageSize, func(ctx context.Context, bucket int, after string, limit int) ([]row, error) {
		return s.page(ctx, tenant, bucket, after, limit)
	})
	if err := m.prime(ctx, primeParallel); err != nil {
		return err
	}
	var corrupt []error
	for {
		if err := s.check(ctx); err != nil {
			return err
		}
		r, ok, err := m.next(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return errors.Join(corrupt...)
		}
		rec, err := s.open(tenant, r.session, r.record)
		if err != nil {
			corrupt = append(corrupt, fmt.Errorf("monitoring cqlstore: subject %q/%q: %w", tenant, r.session, err))
			continue
		}
		if err := fn(monitoring.Subject{Tenant: tenant, Session: r.session, Query: rec.Query,
			KnownHits: rec.KnownHits, EnrolledAt: rec.EnrolledAt}); err != nil {
			return err
		}
	}
}

// page reads up to limit rows of one bucket of tenant after session id
// after.
func (s *Store) page(ctx context.Context, tenant string, bucket int, after string, limit int) ([]row, error) {
	fail := func(err error) error {
		return fmt.Errorf("monitoring cqlstore: subjects of %q (bucket %d): %w", tenant, bucket, err)
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	q := s.session.ContextQuery(ctx, s.pageStmt, s.pageNames).BindMap(map[string]any{
		"tenant_id": tenant, "bucket": int16(bucket), "after": after, "limit": limit,
	})
	defer q.Release()
	if err := q.Err(); err != nil {
		return nil, fail(err)
	}
	q.Consistency(s.cfg.Consistency).Idempotent(true).PageSize(limit)
	iter := q.Query.Iter()
	rows := make([]row, 0, limit)
	for {
		var (
			session string
			sealed  []byte // fresh for each row: gocql appends into the slice it is given
		)
		if !iter.Scan(&session, &sealed) {
			break
		}
		rows = append(rows, row{session: session, record: sealed})
	}
	if err := iter.Close(); err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return nil, fail(s.mapErr(err))
	}
	return rows, nil
}

// Close implements monitoring.Store. It is idempotent; calls in progress
// fail with ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.session.Close()
	return nil
}
