// Package pebblestore is the embedded sessions.Store, on a Pebble database in
// a local directory. It is the default store of a single-node deployment.
//
// Keys are "s/" + uvarint(len(tenant)) + tenant + "/" + session, so the key
// is an injective function of (tenant, session): tenant "a" with session
// "b/c" and tenant "a/b" with session "c" are different keys. Values are
// deterministic protobuf encodings of ekycv1.SessionState.
//
// Compare-and-set: Pebble holds a lock on its directory, so one process at a
// time opens a store, and within that process Put serialises the writers of a
// key with striped mutexes (read version, compare, write). Writers of
// different keys run in parallel.
//
// Durability: every write is committed with pebble.Sync, so an acknowledged
// Put survives a crash of the process (SIGKILL) or of the machine. Concurrent
// Sync writes are grouped by Pebble's commit pipeline: one WAL fsync covers
// every batch queued while the previous fsync ran, so parallel writers share
// the cost of an fsync (see BenchmarkPut).
package pebblestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
)

// keyPrefix is the prefix of every session key.
const keyPrefix = "s/"

// stripes is the number of mutexes that serialise the writers of a key.
const stripes = 256

// Store is a sessions.Store on Pebble.
type Store struct {
	db   *pebble.DB
	seed maphash.Seed

	// closeMu: calls hold it for reading while they use db, Close for writing.
	closeMu sync.RWMutex
	closed  bool

	stripes [stripes]sync.Mutex
}

var (
	_ sessions.Store  = (*Store)(nil)
	_ sessions.Lister = (*Store)(nil)
)

type config struct {
	logger     pebble.Logger
	cacheSize  int64
	tunePebble []func(*pebble.Options)
}

// Option configures Open.
type Option func(*config)

// WithLogger sets Pebble's logger. The default, QuietLogger, drops Pebble's
// informational messages and passes errors to slog.
func WithLogger(l pebble.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithCacheSize sets the size in bytes of Pebble's block cache (default: 32
// MiB).
func WithCacheSize(bytes int64) Option {
	return func(c *config) { c.cacheSize = bytes }
}

// WithPebbleOptions lets the caller adjust Pebble's options (after the
// store's own settings) before the database is opened.
func WithPebbleOptions(f func(*pebble.Options)) Option {
	return func(c *config) { c.tunePebble = append(c.tunePebble, f) }
}

// QuietLogger is a pebble.Logger that drops informational messages (Pebble
// logs every WAL recovery, compaction and flush at Infof) and logs errors with
// slog.
type QuietLogger struct {
	// Logger receives the errors; nil means slog.Default().
	Logger *slog.Logger
}

func (l QuietLogger) log() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.Default()
}

// Infof drops the message.
func (QuietLogger) Infof(string, ...any) {}

// Errorf logs the message at error level.
func (l QuietLogger) Errorf(format string, args ...any) {
	l.log().Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf logs the message and panics: Pebble calls it on unrecoverable
// errors and expects it not to return.
func (l QuietLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log().Error(msg, "component", "pebble", "fatal", true)
	panic("pebble: " + msg)
}

// Open opens (creating it if needed) the store in dir. It fails if another
// process, or another Store of this process, has it open.
func Open(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("pebblestore: %w: empty directory", sessions.ErrInvalidArgument)
	}
	cfg := config{logger: QuietLogger{}, cacheSize: 32 << 20}
	for _, o := range opts {
		o(&cfg)
	}
	cache := pebble.NewCache(cfg.cacheSize)
	defer cache.Unref() // the DB holds its own reference
	po := &pebble.Options{
		Cache:  cache,
		Logger: cfg.logger,
	}
	for _, f := range cfg.tunePebble {
		f(po)
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("pebblestore: open %s: %w", dir, err)
	}
	return &Store{db: db, seed: maphash.MakeSeed()}, nil
}

// Key returns the Pebble key of a session.
func Key(tenantID, sessionID string) []byte {
	k := make([]byte, 0, len(keyPrefix)+binary.MaxVarintLen64+len(tenantID)+1+len(sessionID))
	k = append(k, keyPrefix...)
	k = binary.AppendUvarint(k, uint64(len(tenantID)))
	k = append(k, tenantID...)
	k = append(k, '/')
	return append(k, sessionID...)
}

// acquire takes the close lock for reading; it fails when the store is closed
// or ctx is done.
func (s *Store) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return sessions.ErrClosed
	}
	return nil
}

// Get implements sessions.Store.
func (s *Store) Get(ctx context.Context, tenantID, sessionID string) (*ekycv1.SessionState, error) {
	if err := sessions.ValidateKey(tenantID, sessionID); err != nil {
		return nil, err
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()

	v, closer, err := s.db.Get(Key(tenantID, sessionID))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, sessions.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("pebblestore: get %q/%q: %w", tenantID, sessionID, err)
	}
	defer closer.Close()
	st, err := sessions.Unmarshal(v) // copies: v is only valid until closer.Close
	if err != nil {
		return nil, fmt.Errorf("pebblestore: get %q/%q: %w", tenantID, sessionID, err)
	}
	return st, nil
}

// storedVersion returns the stored version of key, 0 if absent. The caller
// holds the key's stripe.
func (s *Store) storedVersion(key []byte) (int64, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	return sessions.VersionOf(v)
}

// lockKey enters the store (acquire) and takes key's stripe: writes of one
// session are serial. The returned function releases both.
func (s *Store) lockKey(ctx context.Context, key []byte) (func(), error) {
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	mu := &s.stripes[maphash.Bytes(s.seed, key)%stripes]
	mu.Lock()
	unlock := func() { mu.Unlock(); s.closeMu.RUnlock() }
	if err := ctx.Err(); err != nil { // the wait for the stripe may have been long
		unlock()
		return nil, err
	}
	return unlock, nil
}

// Put implements sessions.Store.
func (s *Store) Put(ctx context.Context, st *ekycv1.SessionState, expectedVersion int64) error {
	if err := sessions.ValidatePut(st, expectedVersion); err != nil {
		return err
	}
	tenantID, sessionID := st.GetTenantId(), st.GetSessionId()
	// Encode before taking any lock.
	val, err := sessions.Marshal(st, expectedVersion+1)
	if err != nil {
		return err
	}
	key := Key(tenantID, sessionID)
	unlock, err := s.lockKey(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()

	actual, err := s.storedVersion(key)
	if err != nil {
		return fmt.Errorf("pebblestore: put %q/%q: read version: %w", tenantID, sessionID, err)
	}
	if actual != expectedVersion {
		return &sessions.ConflictError{TenantID: tenantID, SessionID: sessionID, Expected: expectedVersion, Actual: actual}
	}
	if err := s.db.Set(key, val, pebble.Sync); err != nil {
		return fmt.Errorf("pebblestore: put %q/%q: %w", tenantID, sessionID, err)
	}
	st.Version = expectedVersion + 1
	return nil
}

// Delete implements sessions.Store: a compare-and-set like Put, under the
// key's stripe.
func (s *Store) Delete(ctx context.Context, tenantID, sessionID string, expectedVersion int64) error {
	if err := sessions.ValidateDelete(tenantID, sessionID, expectedVersion); err != nil {
		return err
	}
	key := Key(tenantID, sessionID)
	unlock, err := s.lockKey(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()

	actual, err := s.storedVersion(key)
	if err != nil {
		return fmt.Errorf("pebblestore: delete %q/%q: read version: %w", tenantID, sessionID, err)
	}
	if actual == 0 {
		return nil // already gone (a stored session has version 1 or more)
	}
	if actual != expectedVersion {
		return &sessions.ConflictError{TenantID: tenantID, SessionID: sessionID, Expected: expectedVersion, Actual: actual}
	}
	if err := s.db.Delete(key, pebble.Sync); err != nil {
		return fmt.Errorf("pebblestore: delete %q/%q: %w", tenantID, sessionID, err)
	}
	return nil
}

// listPage is how many sessions Sessions reads per iterator.
const listPage = 256

// Sessions implements sessions.Lister: a scan of the tenant's key prefix,
// in key order, read in pages so that no lock or iterator is held while fn
// runs.
func (s *Store) Sessions(ctx context.Context, tenantID string, fn func(*ekycv1.SessionState) error) error {
	if err := sessions.ValidateTenant(tenantID); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("pebblestore: %w: nil function", sessions.ErrInvalidArgument)
	}
	prefix := Key(tenantID, "")
	upper := append([]byte(nil), prefix...)
	upper[len(upper)-1]++ // '/' + 1: the first key after the tenant's
	lower := prefix
	for {
		page, next, err := s.page(ctx, lower, upper)
		if err != nil {
			return fmt.Errorf("pebblestore: list %q: %w", tenantID, err)
		}
		for _, st := range page {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(st); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		lower = next
	}
}

// page reads up to listPage states in [lower, upper) and returns the lower
// bound of the next page (nil at the end).
func (s *Store) page(ctx context.Context, lower, upper []byte) ([]*ekycv1.SessionState, []byte, error) {
	if err := s.acquire(ctx); err != nil {
		return nil, nil, err
	}
	defer s.closeMu.RUnlock()
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, nil, err
	}
	var (
		out  []*ekycv1.SessionState
		next []byte
	)
	for ok := it.First(); ok; ok = it.Next() {
		if len(out) == listPage {
			next = append([]byte(nil), it.Key()...)
			break
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return nil, nil, err
		}
		st, err := sessions.Unmarshal(v) // copies
		if err != nil {
			it.Close()
			return nil, nil, err
		}
		out = append(out, st)
	}
	if err := it.Close(); err != nil {
		return nil, nil, err
	}
	return out, next, nil
}

// Close implements sessions.Store: it waits for the calls in progress, then
// closes the database. It is idempotent.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("pebblestore: close: %w", err)
	}
	return nil
}
