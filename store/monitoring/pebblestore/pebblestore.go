// Package pebblestore is the embedded monitoring.Store, on a Pebble database
// in a local directory (<data_dir>/monitoring in a node).
//
// Keys are "m/" + uvarint(len(tenant)) + tenant + "/" + session: no personal
// data, and an injective function of (tenant, session), so a tenant's
// subjects are one key range in session id order.
//
// Values are sealed with envelope encryption (internal/envelope): each write
// encrypts the whole record (query, known hits, enrolment time) under a fresh
// random AES-256 data key, wrapped by the master key; the record's key is the
// associated data, so a value copied under another key does not open. Names
// and dates of birth therefore never reach Pebble's WAL, memtables or
// sstables in the clear.
//
// Writes are serialised by one mutex (monitoring writes are rare: one per
// approval, one per new hit) and committed with pebble.Sync.
package pebblestore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/store/monitoring"
	sessionspebble "github.com/openekyc/ekyc/store/sessions/pebblestore"
)

// keyPrefix is the prefix of every subject key.
const keyPrefix = "m/"

// pageSize is how many subjects Subjects decodes per iterator: fn is called
// without any lock or iterator held, so it may write to the store and take
// its time.
const pageSize = 256

// Store is a monitoring.Store on Pebble.
type Store struct {
	db   *pebble.DB
	keys *envelope.Keyring
	now  func() time.Time

	// closeMu: calls hold it for reading while they use db, Close for
	// writing. It is never held while a caller's fn runs.
	closeMu sync.RWMutex
	closed  bool

	writeMu sync.Mutex
}

var _ monitoring.Store = (*Store)(nil)

type config struct {
	logger     pebble.Logger
	now        func() time.Time
	tunePebble []func(*pebble.Options)
}

// Option configures Open.
type Option func(*config)

// WithLogger sets Pebble's logger (default: the sessions store's
// QuietLogger, errors only).
func WithLogger(l pebble.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the clock that stamps EnrolledAt when the caller leaves
// it zero.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithPebbleOptions lets the caller adjust Pebble's options before the
// database is opened.
func WithPebbleOptions(f func(*pebble.Options)) Option {
	return func(c *config) { c.tunePebble = append(c.tunePebble, f) }
}

// Open opens (creating it if needed) the store in dir; keys seals and opens
// its records. It fails if another process, or another Store of this
// process, has dir open.
func Open(dir string, keys *envelope.Keyring, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("monitoring pebblestore: %w: empty directory", monitoring.ErrInvalidArgument)
	}
	if keys == nil {
		return nil, fmt.Errorf("monitoring pebblestore: %w: no keyring", monitoring.ErrInvalidArgument)
	}
	cfg := config{logger: sessionspebble.QuietLogger{}, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	cache := pebble.NewCache(8 << 20)
	defer cache.Unref()
	po := &pebble.Options{Cache: cache, Logger: cfg.logger}
	for _, f := range cfg.tunePebble {
		f(po)
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("monitoring pebblestore: open %s: %w", dir, err)
	}
	return &Store{db: db, keys: keys, now: cfg.now}, nil
}

// tenantPrefix is the common prefix of a tenant's subject keys.
func tenantPrefix(tenant string) []byte {
	k := make([]byte, 0, len(keyPrefix)+binary.MaxVarintLen64+len(tenant)+1)
	k = append(k, keyPrefix...)
	k = binary.AppendUvarint(k, uint64(len(tenant)))
	k = append(k, tenant...)
	return append(k, '/')
}

// Key returns the Pebble key of a subject.
func Key(tenant, session string) []byte { return append(tenantPrefix(tenant), session...) }

// record is the sealed value.
type record struct {
	Query      screening.Query `json:"query"`
	KnownHits  []string        `json:"known_hits,omitempty"`
	EnrolledAt time.Time       `json:"enrolled_at"`
}

func (s *Store) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return monitoring.ErrClosed
	}
	return nil
}

func (s *Store) seal(key []byte, r record) ([]byte, error) {
	plain, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("monitoring pebblestore: encode: %w", err)
	}
	defer clear(plain)
	v, err := s.keys.Seal(plain, key)
	if err != nil {
		return nil, fmt.Errorf("monitoring pebblestore: seal: %w", err)
	}
	return v, nil
}

func (s *Store) open(key, val []byte) (record, error) {
	plain, err := s.keys.Open(val, key)
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

// get reads and opens a record; found is false when there is none.
func (s *Store) get(key []byte) (r record, found bool, err error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, err
	}
	defer closer.Close()
	r, err = s.open(key, v)
	return r, true, err
}

// Enrol implements monitoring.Store.
func (s *Store) Enrol(ctx context.Context, sub monitoring.Subject) error {
	if err := monitoring.ValidateSubject(sub); err != nil {
		return err
	}
	key := Key(sub.Tenant, sub.Session)
	r := record{Query: sub.Query, KnownHits: monitoring.NormalizeHits(sub.KnownHits), EnrolledAt: sub.EnrolledAt.UTC()}
	if sub.EnrolledAt.IsZero() {
		r.EnrolledAt = s.now().UTC()
	}
	val, err := s.seal(key, r)
	if err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, closer, err := s.db.Get(key)
	switch {
	case err == nil:
		closer.Close()
		return nil // already enrolled: keep its known hits
	case !errors.Is(err, pebble.ErrNotFound):
		return fmt.Errorf("monitoring pebblestore: enrol %q/%q: %w", sub.Tenant, sub.Session, err)
	}
	if err := s.db.Set(key, val, pebble.Sync); err != nil {
		return fmt.Errorf("monitoring pebblestore: enrol %q/%q: %w", sub.Tenant, sub.Session, err)
	}
	return nil
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
	key := Key(tenant, session)
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	r, found, err := s.get(key)
	if err != nil {
		return fmt.Errorf("monitoring pebblestore: set known hits of %q/%q: %w", tenant, session, err)
	}
	if !found {
		return fmt.Errorf("%w: %q/%q", monitoring.ErrNotFound, tenant, session)
	}
	r.KnownHits = monitoring.NormalizeHits(entityIDs)
	val, err := s.seal(key, r) // a fresh data key for the new value
	if err != nil {
		return err
	}
	if err := s.db.Set(key, val, pebble.Sync); err != nil {
		return fmt.Errorf("monitoring pebblestore: set known hits of %q/%q: %w", tenant, session, err)
	}
	return nil
}

// Unenrol implements monitoring.Store. The record is deleted and its key
// range compacted, so the sealed value leaves the SSTs as well (it was
// sealed under the master key; the WAL keeps it until the WAL file is
// recycled).
func (s *Store) Unenrol(ctx context.Context, tenant, session string) error {
	if err := monitoring.ValidateKey(tenant, session); err != nil {
		return err
	}
	key := Key(tenant, session)
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.db.Delete(key, pebble.Sync); err != nil {
		return fmt.Errorf("monitoring pebblestore: unenrol %q/%q: %w", tenant, session, err)
	}
	end := append(slices.Clone(key), 0)
	if err := s.db.Compact(ctx, key, end, false); err != nil {
		return fmt.Errorf("monitoring pebblestore: unenrol %q/%q: compact: %w", tenant, session, err)
	}
	return nil
}

// Subjects implements monitoring.Store. It reads pageSize subjects at a
// time under a fresh iterator, then calls fn on them with nothing held.
func (s *Store) Subjects(ctx context.Context, tenant string, fn func(monitoring.Subject) error) error {
	if err := monitoring.ValidateTenant(tenant); err != nil {
		return err
	}
	prefix := tenantPrefix(tenant)
	upper := append([]byte(nil), prefix...)
	upper[len(upper)-1]++ // '/' + 1: just past the tenant's range
	lower := prefix
	var corrupt []error
	for {
		page, next, bad, err := s.page(ctx, tenant, lower, upper)
		if err != nil {
			return err
		}
		corrupt = append(corrupt, bad...)
		for _, sub := range page {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(sub); err != nil {
				return err
			}
		}
		if next == nil {
			return errors.Join(corrupt...)
		}
		lower = next
	}
}

// page decodes up to pageSize subjects from lower; next is the lower bound
// of the following page (nil at the end). Records that do not open are
// skipped and returned in corrupt.
func (s *Store) page(ctx context.Context, tenant string, lower, upper []byte) (subs []monitoring.Subject, next []byte, corrupt []error, err error) {
	if err := s.acquire(ctx); err != nil {
		return nil, nil, nil, err
	}
	defer s.closeMu.RUnlock()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("monitoring pebblestore: subjects of %q: %w", tenant, err)
	}
	defer it.Close()
	prefixLen := len(tenantPrefix(tenant))
	for ok := it.First(); ok; ok = it.Next() {
		key := it.Key()
		if len(subs)+len(corrupt) == pageSize {
			return subs, append([]byte(nil), key...), corrupt, nil
		}
		val, err := it.ValueAndErr()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("monitoring pebblestore: subjects of %q: %w", tenant, err)
		}
		session := string(key[prefixLen:])
		r, err := s.open(key, val)
		if err != nil {
			corrupt = append(corrupt, fmt.Errorf("monitoring pebblestore: subject %q/%q: %w", tenant, session, err))
			continue
		}
		subs = append(subs, monitoring.Subject{Tenant: tenant, Session: session, Query: r.Query,
			KnownHits: r.KnownHits, EnrolledAt: r.EnrolledAt})
	}
	if err := it.Error(); err != nil {
		return nil, nil, nil, fmt.Errorf("monitoring pebblestore: subjects of %q: %w", tenant, err)
	}
	return subs, nil, corrupt, nil
}

// Close implements monitoring.Store: it waits for the calls in progress,
// then closes the database. It is idempotent.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("monitoring pebblestore: close: %w", err)
	}
	return nil
}
