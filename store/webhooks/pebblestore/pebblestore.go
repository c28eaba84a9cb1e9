// Package pebblestore is the embedded webhooks.Store, on a Pebble database
// in a local directory (<data_dir>/webhooks in a node).
//
// Two key spaces:
//
//	e/ uvarint(len(tenant)) tenant "/" id            → sealed record
//	d/ big-endian uint64(next attempt, Unix ns) suffix → (empty)   pending only
//
// where suffix is the record key without its "e/" prefix. The record key is
// an injective function of (tenant, id), so a tenant's events are one key
// range in id order (List) and another tenant's event is simply not found.
// The due index holds one entry per pending event, ordered by the time of
// its next attempt: Due and NextDue read it from the start. A record and its
// index entry change in one atomic batch, written with pebble.Sync.
//
// Values are sealed with the Sealer (envelope encryption in a node): the
// whole record (URL, body, state, log) is encrypted under a fresh data key
// on every write, with the record key as associated data, so the body never
// reaches Pebble's WAL, memtables or sstables in the clear, and a value
// copied under another key does not open.
//
// Writes to one event are serialised by striped mutexes; writes to
// different events run concurrently and share Pebble's synced commits.
package pebblestore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	sessionspebble "github.com/openekyc/ekyc/store/sessions/pebblestore"
	"github.com/openekyc/ekyc/store/webhooks"
)

const (
	recordPrefix = "e/"
	duePrefix    = "d/"
	stripes      = 64
)

// Store is a webhooks.Store on Pebble.
type Store struct {
	db     *pebble.DB
	sealer webhooks.Sealer
	now    func() time.Time

	// closeMu: calls hold it for reading while they use db, Close for
	// writing.
	closeMu sync.RWMutex
	closed  bool

	locks   [stripes]sync.Mutex
	pending atomic.Int64
}

var _ webhooks.Store = (*Store)(nil)

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

// WithClock sets the clock that stamps CreatedAt (when the caller leaves it
// zero) and UpdatedAt.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithPebbleOptions lets the caller adjust Pebble's options before the
// database is opened.
func WithPebbleOptions(f func(*pebble.Options)) Option {
	return func(c *config) { c.tunePebble = append(c.tunePebble, f) }
}

// Open opens (creating it if needed) the store in dir; sealer seals and
// opens its records. It fails if another process, or another Store of this
// process, has dir open.
func Open(dir string, sealer webhooks.Sealer, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("webhooks pebblestore: %w: empty directory", webhooks.ErrInvalidArgument)
	}
	if sealer == nil {
		return nil, fmt.Errorf("webhooks pebblestore: %w: no sealer", webhooks.ErrInvalidArgument)
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
		return nil, fmt.Errorf("webhooks pebblestore: open %s: %w", dir, err)
	}
	s := &Store{db: db, sealer: sealer, now: cfg.now}
	n, err := s.countDue()
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.pending.Store(n)
	return s, nil
}

func (s *Store) countDue() (int64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(duePrefix), UpperBound: prefixEnd(duePrefix)})
	if err != nil {
		return 0, fmt.Errorf("webhooks pebblestore: count pending: %w", err)
	}
	defer it.Close()
	var n int64
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	if err := it.Error(); err != nil {
		return 0, fmt.Errorf("webhooks pebblestore: count pending: %w", err)
	}
	return n, nil
}

func prefixEnd(p string) []byte {
	b := []byte(p)
	b[len(b)-1]++
	return b
}

// suffix encodes (tenant, id) injectively: uvarint(len(tenant)) tenant "/" id.
func suffix(tenant, id string) []byte {
	k := make([]byte, 0, binary.MaxVarintLen64+len(tenant)+1+len(id))
	k = binary.AppendUvarint(k, uint64(len(tenant)))
	k = append(k, tenant...)
	k = append(k, '/')
	return append(k, id...)
}

// tenantPrefix is the common prefix of a tenant's record keys.
func tenantPrefix(tenant string) []byte {
	return append([]byte(recordPrefix), suffix(tenant, "")...)
}

// Key returns the Pebble key of an event's record.
func Key(tenant, id string) []byte { return append([]byte(recordPrefix), suffix(tenant, id)...) }

// nanos maps t to the due index's order; times before 1970 map to 0.
func nanos(t time.Time) uint64 {
	if t.Before(time.Unix(0, 0)) {
		return 0
	}
	return uint64(t.UnixNano())
}

func dueKey(at time.Time, tenant, id string) []byte {
	k := make([]byte, 0, len(duePrefix)+8+binary.MaxVarintLen64+len(tenant)+1+len(id))
	k = append(k, duePrefix...)
	k = binary.BigEndian.AppendUint64(k, nanos(at))
	return append(k, suffix(tenant, id)...)
}

// recordKeyOfDue returns the record key a due index key points at.
func recordKeyOfDue(k []byte) ([]byte, error) {
	if len(k) < len(duePrefix)+8+2 {
		return nil, fmt.Errorf("%w: short due index key", webhooks.ErrCorrupt)
	}
	return append([]byte(recordPrefix), k[len(duePrefix)+8:]...), nil
}

// stored is the sealed value (its JSON is the on-disk format).
type stored struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	Type      string    `json:"type"`
	URL       string    `json:"url"`
	Body      []byte    `json:"body"`
	CreatedAt time.Time `json:"created_at"`

	State           webhooks.State `json:"state"`
	Delivery        int            `json:"delivery"`
	Attempts        int            `json:"attempts"`
	NextAttemptAt   time.Time      `json:"next_attempt_at,omitzero"`
	UpdatedAt       time.Time      `json:"updated_at"`
	Log             []attempt      `json:"log,omitempty"`
	DroppedAttempts int            `json:"dropped_attempts,omitempty"`
}

type attempt struct {
	Delivery int           `json:"d"`
	N        int           `json:"n"`
	At       time.Time     `json:"at"`
	Status   int           `json:"status,omitempty"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"dur"`
}

func toStored(r webhooks.Record) stored {
	st := stored{ID: r.ID, Tenant: r.Tenant, Type: r.Type, URL: r.URL, Body: r.Body, CreatedAt: r.CreatedAt,
		State: r.State, Delivery: r.Delivery, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt,
		UpdatedAt: r.UpdatedAt, DroppedAttempts: r.DroppedAttempts}
	for _, a := range r.Log {
		st.Log = append(st.Log, attempt(a))
	}
	return st
}

func fromStored(st stored) webhooks.Record {
	r := webhooks.Record{
		Event: webhooks.Event{ID: st.ID, Tenant: st.Tenant, Type: st.Type, URL: st.URL, Body: st.Body, CreatedAt: st.CreatedAt},
		State: st.State, Delivery: st.Delivery, Attempts: st.Attempts, NextAttemptAt: st.NextAttemptAt,
		UpdatedAt: st.UpdatedAt, DroppedAttempts: st.DroppedAttempts,
	}
	for _, a := range st.Log {
		r.Log = append(r.Log, webhooks.Attempt(a))
	}
	return r
}

func (s *Store) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return webhooks.ErrClosed
	}
	return nil
}

func (s *Store) lock(key []byte) *sync.Mutex {
	h := fnv.New32a()
	h.Write(key)
	return &s.locks[h.Sum32()%stripes]
}

func (s *Store) seal(key []byte, r webhooks.Record) ([]byte, error) {
	plain, err := json.Marshal(toStored(r))
	if err != nil {
		return nil, fmt.Errorf("webhooks pebblestore: encode: %w", err)
	}
	defer clear(plain)
	v, err := s.sealer.Seal(plain, key)
	if err != nil {
		return nil, fmt.Errorf("webhooks pebblestore: seal: %w", err)
	}
	return v, nil
}

func (s *Store) open(key, val []byte) (webhooks.Record, error) {
	plain, err := s.sealer.Open(val, key)
	if err != nil {
		return webhooks.Record{}, fmt.Errorf("%w: %w", webhooks.ErrCorrupt, err)
	}
	defer clear(plain)
	var st stored
	if err := json.Unmarshal(plain, &st); err != nil {
		return webhooks.Record{}, fmt.Errorf("%w: decode: %w", webhooks.ErrCorrupt, err)
	}
	return fromStored(st), nil
}

// get reads and opens a record; found is false when there is none.
func (s *Store) get(key []byte) (r webhooks.Record, found bool, err error) {
	return s.getFrom(s.db, key)
}

// getFrom is get from a database or a snapshot.
func (s *Store) getFrom(r pebble.Reader, key []byte) (_ webhooks.Record, found bool, err error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return webhooks.Record{}, false, nil
	}
	if err != nil {
		return webhooks.Record{}, false, err
	}
	defer closer.Close()
	rec, err := s.open(key, v)
	return rec, true, err
}

// write replaces the record at key (whose previous version is old, or
// nothing when old is nil) and moves its due index entry, in one synced
// batch, and keeps the pending count.
func (s *Store) write(key []byte, old *webhooks.Record, r webhooks.Record) error {
	val, err := s.seal(key, r)
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Set(key, val, nil); err != nil {
		return err
	}
	wasPending := old != nil && old.State == webhooks.StatePending
	if wasPending {
		if err := b.Delete(dueKey(old.NextAttemptAt, old.Tenant, old.ID), nil); err != nil {
			return err
		}
	}
	isPending := r.State == webhooks.StatePending
	if isPending {
		if err := b.Set(dueKey(r.NextAttemptAt, r.Tenant, r.ID), nil, nil); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	switch {
	case isPending && !wasPending:
		s.pending.Add(1)
	case wasPending && !isPending:
		s.pending.Add(-1)
	}
	return nil
}

// Enqueue implements webhooks.Store.
func (s *Store) Enqueue(ctx context.Context, e webhooks.Event) (bool, error) {
	if err := webhooks.ValidateEvent(e); err != nil {
		return false, err
	}
	now := s.now().UTC()
	e.Body = append([]byte(nil), e.Body...)
	e.CreatedAt = e.CreatedAt.UTC()
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	r := webhooks.Record{Event: e, State: webhooks.StatePending, Delivery: 1, NextAttemptAt: now, UpdatedAt: now}
	key := Key(e.Tenant, e.ID)
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.closeMu.RUnlock()
	mu := s.lock(key)
	mu.Lock()
	defer mu.Unlock()
	_, closer, err := s.db.Get(key)
	switch {
	case err == nil:
		closer.Close()
		return false, nil
	case !errors.Is(err, pebble.ErrNotFound):
		return false, fmt.Errorf("webhooks pebblestore: enqueue %q/%q: %w", e.Tenant, e.ID, err)
	}
	if err := s.write(key, nil, r); err != nil {
		return false, fmt.Errorf("webhooks pebblestore: enqueue %q/%q: %w", e.Tenant, e.ID, err)
	}
	return true, nil
}

// Due implements webhooks.Store. A record that cannot be read does not stop
// the others: it is skipped, and the call returns the others with an error
// matching ErrCorrupt.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]webhooks.Record, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit must be positive", webhooks.ErrInvalidArgument)
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	upper := binary.BigEndian.AppendUint64([]byte(duePrefix), saturatingInc(nanos(now)))
	// One snapshot for the index and the records: a record delivered
	// between reading its index entry and reading it would otherwise look
	// like an index entry without a pending record.
	snap := s.db.NewSnapshot()
	defer snap.Close()
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte(duePrefix), UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("webhooks pebblestore: due: %w", err)
	}
	defer it.Close()
	var (
		out     []webhooks.Record
		corrupt []error
	)
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		key, err := recordKeyOfDue(it.Key())
		if err != nil {
			corrupt = append(corrupt, err)
			continue
		}
		r, found, err := s.getFrom(snap, key)
		switch {
		case err != nil:
			corrupt = append(corrupt, fmt.Errorf("webhooks pebblestore: due record: %w", err))
			continue
		case !found || r.State != webhooks.StatePending:
			// An index entry and its record are written in one batch; an
			// entry without a pending record would be a bug, not data.
			corrupt = append(corrupt, fmt.Errorf("%w: due index entry without a pending record", webhooks.ErrCorrupt))
			continue
		}
		out = append(out, r)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("webhooks pebblestore: due: %w", err)
	}
	return out, errors.Join(corrupt...)
}

func saturatingInc(n uint64) uint64 {
	if n == math.MaxUint64 {
		return n
	}
	return n + 1
}

// NextDue implements webhooks.Store.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	if err := s.acquire(ctx); err != nil {
		return time.Time{}, false, err
	}
	defer s.closeMu.RUnlock()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(duePrefix), UpperBound: prefixEnd(duePrefix)})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("webhooks pebblestore: next due: %w", err)
	}
	defer it.Close()
	if !it.First() {
		if err := it.Error(); err != nil {
			return time.Time{}, false, fmt.Errorf("webhooks pebblestore: next due: %w", err)
		}
		return time.Time{}, false, nil
	}
	k := it.Key()
	if len(k) < len(duePrefix)+8 {
		return time.Time{}, false, fmt.Errorf("%w: short due index key", webhooks.ErrCorrupt)
	}
	n := binary.BigEndian.Uint64(k[len(duePrefix):])
	return time.Unix(0, int64(n)).UTC(), true, nil
}

// RecordAttempt implements webhooks.Store.
func (s *Store) RecordAttempt(ctx context.Context, tenant, id string, a webhooks.Attempt, next webhooks.Next) (webhooks.Record, error) {
	if err := webhooks.ValidateKey(tenant, id); err != nil {
		return webhooks.Record{}, err
	}
	if err := webhooks.ValidateNext(next); err != nil {
		return webhooks.Record{}, err
	}
	return s.update(ctx, tenant, id, "record attempt", func(r webhooks.Record) (webhooks.Record, error) {
		return webhooks.Apply(r, a, next, s.now())
	})
}

// Replay implements webhooks.Store.
func (s *Store) Replay(ctx context.Context, tenant, id string, at time.Time) (webhooks.Record, error) {
	if err := webhooks.ValidateKey(tenant, id); err != nil {
		return webhooks.Record{}, err
	}
	if at.IsZero() {
		return webhooks.Record{}, fmt.Errorf("%w: zero replay time", webhooks.ErrInvalidArgument)
	}
	return s.update(ctx, tenant, id, "replay", func(r webhooks.Record) (webhooks.Record, error) {
		return webhooks.Rearm(r, at, s.now()), nil
	})
}

// update reads, changes and writes one record under its stripe lock.
func (s *Store) update(ctx context.Context, tenant, id, what string, change func(webhooks.Record) (webhooks.Record, error)) (webhooks.Record, error) {
	key := Key(tenant, id)
	if err := s.acquire(ctx); err != nil {
		return webhooks.Record{}, err
	}
	defer s.closeMu.RUnlock()
	mu := s.lock(key)
	mu.Lock()
	defer mu.Unlock()
	old, found, err := s.get(key)
	if err != nil {
		return webhooks.Record{}, fmt.Errorf("webhooks pebblestore: %s %q/%q: %w", what, tenant, id, err)
	}
	if !found {
		return webhooks.Record{}, fmt.Errorf("%w: %q/%q", webhooks.ErrNotFound, tenant, id)
	}
	r, err := change(old)
	if err != nil {
		return webhooks.Record{}, err
	}
	if err := s.write(key, &old, r); err != nil {
		return webhooks.Record{}, fmt.Errorf("webhooks pebblestore: %s %q/%q: %w", what, tenant, id, err)
	}
	return r, nil
}

// Get implements webhooks.Store.
func (s *Store) Get(ctx context.Context, tenant, id string) (webhooks.Record, error) {
	if err := webhooks.ValidateKey(tenant, id); err != nil {
		return webhooks.Record{}, err
	}
	if err := s.acquire(ctx); err != nil {
		return webhooks.Record{}, err
	}
	defer s.closeMu.RUnlock()
	r, found, err := s.get(Key(tenant, id))
	if err != nil {
		return webhooks.Record{}, fmt.Errorf("webhooks pebblestore: get %q/%q: %w", tenant, id, err)
	}
	if !found {
		return webhooks.Record{}, fmt.Errorf("%w: %q/%q", webhooks.ErrNotFound, tenant, id)
	}
	return r, nil
}

// List implements webhooks.Store. A record that cannot be read does not
// stop the others: it is skipped, and the call returns the page with an
// error matching ErrCorrupt.
func (s *Store) List(ctx context.Context, tenant string, f webhooks.Filter) ([]webhooks.Record, error) {
	if err := webhooks.ValidateTenant(tenant); err != nil {
		return nil, err
	}
	f, err := webhooks.NormalizeFilter(f)
	if err != nil {
		return nil, err
	}
	prefix := tenantPrefix(tenant)
	lower := prefix
	if f.After != "" {
		lower = append(Key(tenant, f.After), 0) // just past After
	}
	upper := append([]byte(nil), prefix...)
	upper[len(upper)-1]++ // '/' + 1: just past the tenant's range
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("webhooks pebblestore: list %q: %w", tenant, err)
	}
	defer it.Close()
	var (
		out     []webhooks.Record
		corrupt []error
	)
	for ok := it.First(); ok && len(out) < f.Limit; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		val, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("webhooks pebblestore: list %q: %w", tenant, err)
		}
		r, err := s.open(it.Key(), val)
		if err != nil {
			corrupt = append(corrupt, fmt.Errorf("webhooks pebblestore: event %q/%q: %w", tenant, string(it.Key()[len(prefix):]), err))
			continue
		}
		if (f.State != "" && r.State != f.State) || (f.Type != "" && r.Type != f.Type) {
			continue
		}
		out = append(out, r)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("webhooks pebblestore: list %q: %w", tenant, err)
	}
	return out, errors.Join(corrupt...)
}

// Pending implements webhooks.Store (an in-memory count, kept with every
// write and recounted at Open).
func (s *Store) Pending(ctx context.Context) (int, error) {
	if err := s.acquire(ctx); err != nil {
		return 0, err
	}
	defer s.closeMu.RUnlock()
	return int(s.pending.Load()), nil
}

// Close implements webhooks.Store: it waits for the calls in progress, then
// closes the database. It is idempotent.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("webhooks pebblestore: close: %w", err)
	}
	return nil
}
