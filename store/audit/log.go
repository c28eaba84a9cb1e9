package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	sessionspebble "github.com/openekyc/ekyc/store/sessions/pebblestore"
)

// Pebble keys.
const (
	entryPrefix = "e/" // + seq (8 bytes big-endian) → entry JSON
	indexPrefix = "i/" // + uvarint(len(tenant)) + tenant + seq → empty
	headKey     = "h"  // → head JSON
)

// pageSize is how many entries Range decodes per iterator: fn runs with no
// iterator or lock held.
const pageSize = 256

// EntryKey returns the Pebble key of entry seq.
func EntryKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(entryPrefix), seq)
}

// HeadKey returns the Pebble key of the head record.
func HeadKey() []byte { return []byte(headKey) }

func tenantIndexPrefix(tenant string) []byte {
	k := binary.AppendUvarint([]byte(indexPrefix), uint64(len(tenant)))
	return append(k, tenant...)
}

func indexKey(tenant string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(tenantIndexPrefix(tenant), seq)
}

// prefixEnd is the smallest key after every key with prefix p (p never
// ends in 0xff here).
func prefixEnd(p []byte) []byte {
	end := slices.Clone(p)
	end[len(end)-1]++
	return end
}

// head is the stored head record: the last entry's seq and hash.
type head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// Report is the result of a clean Verify.
type Report struct {
	// Entries is the number of entries (the last seq).
	Entries uint64
	// Head is the hash of the last entry; empty for an empty log.
	Head string
}

type config struct {
	logger     pebble.Logger
	now        func() time.Time
	tunePebble []func(*pebble.Options)
}

// Option configures Open.
type Option func(*config)

// WithClock sets the clock that stamps entries (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets Pebble's logger (default: the sessions store's
// QuietLogger, errors only).
func WithLogger(l pebble.Logger) Option { return func(c *config) { c.logger = l } }

// WithPebbleOptions lets the caller adjust Pebble's options before the
// database is opened.
func WithPebbleOptions(f func(*pebble.Options)) Option {
	return func(c *config) { c.tunePebble = append(c.tunePebble, f) }
}

// Log is the audit log. Safe for concurrent use.
type Log struct {
	db   *pebble.DB
	lock *pebble.Lock
	now  func() time.Time

	// closeMu: calls hold it for reading while they use db, Close for
	// writing.
	closeMu sync.RWMutex
	closed  bool

	// mu serialises appends: it guards the chain's tail.
	mu       sync.Mutex
	lastSeq  uint64
	lastHash string
}

// Open opens (creating it if needed) the log in dir and continues its
// chain. It returns an error wrapping ErrLocked when another process, or
// another Log of this process, has dir open. Open does not verify the log
// (see Verify); it continues from the head record, or from the last entry
// when that is further (a head record lost with its entry is never
// rewritten backwards), so entries removed from the tail stay a detectable
// gap instead of being silently refilled.
func Open(ctx context.Context, dir string, opts ...Option) (*Log, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", ErrInvalid)
	}
	cfg := config{logger: sessionspebble.QuietLogger{}, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	db, lock, err := openPebble(dir, cfg.logger, cfg.tunePebble)
	if err != nil {
		return nil, err
	}
	l := &Log{db: db, lock: lock, now: cfg.now}
	if err := l.loadTail(); err != nil {
		_ = db.Close()
		_ = lock.Close()
		return nil, err
	}
	return l, nil
}

// openPebble takes the directory lock first, so that a held lock is told
// apart from other failures.
func openPebble(dir string, logger pebble.Logger, tune []func(*pebble.Options)) (*pebble.DB, *pebble.Lock, error) {
	if err := vfs.Default.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("audit: create %s: %w", dir, err)
	}
	lock, err := pebble.LockDirectory(dir, vfs.Default)
	if err != nil {
		if isLockHeld(err) {
			return nil, nil, fmt.Errorf("%w: %s (stop the node that uses it, or run this on a stopped node)", ErrLocked, dir)
		}
		return nil, nil, fmt.Errorf("audit: lock %s: %w", dir, err)
	}
	cache := pebble.NewCache(4 << 20)
	defer cache.Unref()
	po := &pebble.Options{Cache: cache, Logger: logger, Lock: lock}
	for _, f := range tune {
		f(po)
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		_ = lock.Close()
		return nil, nil, fmt.Errorf("audit: open %s: %w", dir, err)
	}
	return db, lock, nil
}

// isLockHeld reports whether err from LockDirectory means another holder:
// fcntl answers a bare EAGAIN or EACCES for another process, Pebble a plain
// error for its own process. Failing to create the LOCK file (a
// *fs.PathError, e.g. permission denied) is not "held".
func isLockHeld(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return false
	}
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		strings.Contains(err.Error(), "lock held by current process")
}

// loadTail sets lastSeq and lastHash from the head record and the last
// entry.
func (l *Log) loadTail() error {
	var h head
	val, closer, err := l.db.Get(HeadKey())
	switch {
	case err == nil:
		derr := json.Unmarshal(val, &h)
		closer.Close()
		if derr != nil {
			// A damaged head is reported by Verify; continue from the entries.
			h = head{}
		}
	case !errors.Is(err, pebble.ErrNotFound):
		return fmt.Errorf("audit: read head: %w", err)
	}
	l.lastSeq, l.lastHash = h.Seq, h.Hash
	lower := []byte(entryPrefix)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return fmt.Errorf("audit: open: %w", err)
	}
	defer it.Close()
	if it.Last() {
		if k := it.Key(); len(k) == len(entryPrefix)+8 {
			seq := binary.BigEndian.Uint64(k[len(entryPrefix):])
			var e Entry
			if json.Unmarshal(it.Value(), &e) == nil && seq > l.lastSeq {
				l.lastSeq, l.lastHash = seq, e.Hash
			}
		}
	}
	return it.Error()
}

// Close closes the log; later calls return ErrClosed.
func (l *Log) Close() error {
	l.closeMu.Lock()
	defer l.closeMu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	err := l.db.Close()
	if lerr := l.lock.Close(); err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("audit: close: %w", err)
	}
	return nil
}

func (l *Log) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

// Append adds e to the log and returns it with Seq, Time, PrevHash and
// Hash set (the caller's values of those are ignored). It returns once the
// entry is durable (WAL fsync).
//
// Appends are serialised only while the entry is chained and handed to
// Pebble's commit pipeline; the fsync is awaited outside that lock, so
// concurrent appends share fsyncs. Pebble writes the WAL in commit order,
// so an entry is never durable without the entries before it.
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	if err := Validate(e); err != nil {
		return Entry{}, err
	}
	e.Details = maps.Clone(e.Details)
	if len(e.Details) == 0 {
		e.Details = nil
	}
	if err := l.acquire(ctx); err != nil {
		return Entry{}, err
	}
	defer l.closeMu.RUnlock()

	l.mu.Lock()
	e.Seq = l.lastSeq + 1
	e.Time = l.now().UTC()
	e.PrevHash = l.lastHash
	e.Hash = ComputeHash(e)
	b, err := l.batch(e)
	if err == nil {
		err = l.db.ApplyNoSyncWait(b, pebble.Sync)
		if err != nil {
			b.Close()
		}
	}
	if err != nil {
		l.mu.Unlock()
		return Entry{}, fmt.Errorf("audit: append: %w", err)
	}
	l.lastSeq, l.lastHash = e.Seq, e.Hash
	l.mu.Unlock()

	err = b.SyncWait()
	b.Close()
	if err != nil {
		return Entry{}, fmt.Errorf("audit: append: sync: %w", err)
	}
	return e, nil
}

// batch is the write of one entry: the entry, the tenant index and the
// new head.
func (l *Log) batch(e Entry) (*pebble.Batch, error) {
	val, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	hv, err := json.Marshal(head{Seq: e.Seq, Hash: e.Hash})
	if err != nil {
		return nil, err
	}
	b := l.db.NewBatch()
	err = errors.Join(
		b.Set(EntryKey(e.Seq), val, nil),
		b.Set(HeadKey(), hv, nil),
	)
	if e.Tenant != "" {
		err = errors.Join(err, b.Set(indexKey(e.Tenant, e.Seq), nil, nil))
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Head returns the seq and hash of the last appended entry (0 and "" for
// an empty log), as this Log continues the chain.
func (l *Log) Head(ctx context.Context) (uint64, string, error) {
	if err := l.acquire(ctx); err != nil {
		return 0, "", err
	}
	defer l.closeMu.RUnlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastSeq, l.lastHash, nil
}

// decodeEntry decodes a stored entry.
func decodeEntry(v []byte) (Entry, error) {
	var e Entry
	err := json.Unmarshal(v, &e)
	return e, err
}

// Entry returns entry seq as stored (not verified), or ErrNotFound.
func (l *Log) Entry(ctx context.Context, seq uint64) (Entry, error) {
	if err := l.acquire(ctx); err != nil {
		return Entry{}, err
	}
	defer l.closeMu.RUnlock()
	return l.get(seq)
}

func (l *Log) get(seq uint64) (Entry, error) {
	v, closer, err := l.db.Get(EntryKey(seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return Entry{}, fmt.Errorf("%w: %d", ErrNotFound, seq)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("audit: read entry %d: %w", seq, err)
	}
	defer closer.Close()
	e, err := decodeEntry(v)
	if err != nil {
		return Entry{}, &TamperError{Seq: seq, Reason: "entry does not decode"}
	}
	return e, nil
}

// Range calls fn on every entry from seq from (0 counts as 1) in order,
// as stored (Range does not verify; see Verify). It stops at fn's first
// error and returns it. fn runs without any lock or iterator held.
func (l *Log) Range(ctx context.Context, from uint64, fn func(Entry) error) error {
	lower := EntryKey(max(from, 1))
	upper := prefixEnd([]byte(entryPrefix))
	for {
		page, next, err := l.page(ctx, lower, upper)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		lower = next
	}
}

func (l *Log) page(ctx context.Context, lower, upper []byte) ([]Entry, []byte, error) {
	if err := l.acquire(ctx); err != nil {
		return nil, nil, err
	}
	defer l.closeMu.RUnlock()
	it, err := l.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, nil, fmt.Errorf("audit: range: %w", err)
	}
	defer it.Close()
	var out []Entry
	for ok := it.First(); ok; ok = it.Next() {
		if len(out) == pageSize {
			return out, slices.Clone(it.Key()), nil
		}
		e, err := decodeEntry(it.Value())
		if err != nil {
			return nil, nil, &TamperError{Seq: seqOf(it.Key()), Reason: "entry does not decode"}
		}
		out = append(out, e)
	}
	if err := it.Error(); err != nil {
		return nil, nil, fmt.Errorf("audit: range: %w", err)
	}
	return out, nil, nil
}

// seqOf is the seq of an entry key (0 for a malformed key).
func seqOf(k []byte) uint64 {
	if len(k) != len(entryPrefix)+8 {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(entryPrefix):])
}

// List returns up to limit entries of tenant, newest first (limit <= 0:
// 100; at most 10000). An empty tenant lists every tenant's entries and the
// node-wide ones.
func (l *Log) List(ctx context.Context, tenant string, limit int) ([]Entry, error) {
	if err := checkText("tenant", tenant, MaxFieldLen, false); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxListLimit)
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	defer l.closeMu.RUnlock()
	snap := l.db.NewSnapshot()
	defer snap.Close()
	lower := []byte(entryPrefix)
	if tenant != "" {
		lower = tenantIndexPrefix(tenant)
	}
	it, err := snap.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer it.Close()
	var out []Entry
	for ok := it.Last(); ok && len(out) < limit; ok = it.Prev() {
		var e Entry
		if tenant == "" {
			if e, err = decodeEntry(it.Value()); err != nil {
				return nil, &TamperError{Seq: seqOf(it.Key()), Reason: "entry does not decode"}
			}
		} else {
			k := it.Key()
			if len(k) != len(lower)+8 {
				continue // another tenant whose id extends this one's: not possible with the length prefix, kept for safety
			}
			seq := binary.BigEndian.Uint64(k[len(lower):])
			v, closer, err := snap.Get(EntryKey(seq))
			if errors.Is(err, pebble.ErrNotFound) {
				return nil, &TamperError{Seq: seq, Reason: "indexed entry is missing"}
			}
			if err != nil {
				return nil, fmt.Errorf("audit: list: %w", err)
			}
			e, err = decodeEntry(v)
			closer.Close()
			if err != nil {
				return nil, &TamperError{Seq: seq, Reason: "entry does not decode"}
			}
		}
		out = append(out, e)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	return out, nil
}

// Verify checks the whole log on one consistent snapshot: every entry's
// hash, the chain of PrevHash, the absence of gaps, and the head record.
// On the first problem it returns a *TamperError (errors.Is ErrTampered)
// naming the entry; on success, the number of entries and the head hash.
// See the package documentation for what it cannot detect.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	if err := l.acquire(ctx); err != nil {
		return Report{}, err
	}
	defer l.closeMu.RUnlock()
	snap := l.db.NewSnapshot()
	defer snap.Close()

	var h head
	var haveHead bool
	switch v, closer, err := snap.Get(HeadKey()); {
	case err == nil:
		derr := json.Unmarshal(v, &h)
		closer.Close()
		if derr != nil {
			return Report{}, &TamperError{Seq: 0, Reason: "head record does not decode"}
		}
		haveHead = true
	case !errors.Is(err, pebble.ErrNotFound):
		return Report{}, fmt.Errorf("audit: verify: read head: %w", err)
	}

	lower := []byte(entryPrefix)
	it, err := snap.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer it.Close()
	var last uint64
	var prev string
	for ok := it.First(); ok; ok = it.Next() {
		if last%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return Report{}, err
			}
		}
		want := last + 1
		k := it.Key()
		if len(k) != len(entryPrefix)+8 {
			return Report{}, &TamperError{Seq: want, Reason: fmt.Sprintf("foreign key %q among the entries", k)}
		}
		seq := binary.BigEndian.Uint64(k[len(entryPrefix):])
		if seq != want {
			return Report{}, &TamperError{Seq: want, Reason: fmt.Sprintf("entry missing (next stored entry is %d)", seq)}
		}
		e, err := decodeEntry(it.Value())
		if err != nil {
			return Report{}, &TamperError{Seq: seq, Reason: "entry does not decode"}
		}
		if e.Seq != seq {
			return Report{}, &TamperError{Seq: seq, Reason: fmt.Sprintf("entry stored as %d says it is %d", seq, e.Seq)}
		}
		if e.PrevHash != prev {
			return Report{}, &TamperError{Seq: seq, Reason: fmt.Sprintf("broken chain: previous hash does not match entry %d", seq-1)}
		}
		if ComputeHash(e) != e.Hash {
			return Report{}, &TamperError{Seq: seq, Reason: "content modified: hash does not match"}
		}
		last, prev = seq, e.Hash
	}
	if err := it.Error(); err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	switch {
	case !haveHead && last > 0:
		return Report{}, &TamperError{Seq: last, Reason: "head record missing"}
	case h.Seq > last:
		return Report{}, &TamperError{Seq: last + 1, Reason: fmt.Sprintf("entries %d to %d missing at the tail (the head record names %d)", last+1, h.Seq, h.Seq)}
	case h.Seq < last:
		return Report{}, &TamperError{Seq: h.Seq + 1, Reason: fmt.Sprintf("entries after the head record (head names %d, last entry is %d)", h.Seq, last)}
	case h.Hash != prev:
		return Report{}, &TamperError{Seq: last, Reason: "last entry does not match the head record's hash"}
	}
	return Report{Entries: last, Head: prev}, nil
}
