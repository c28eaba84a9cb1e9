// Package keys is the tenant key hierarchy behind ekyc's encrypted data:
//
//	master key (Master: a key file, or a KMS)
//	 └─ tenant key, versioned (random AES-256, wrapped by the master)
//	     └─ session data key (random AES-256, wrapped by a tenant key version)
//	         └─ the session's images and PII (AES-256-GCM, Ring.Seal)
//
// A Ring keeps the wrapped tenant keys and wrapped data keys in a Pebble
// database in one directory (<data_dir>/keys/ring in a node); only wrapped
// keys are stored. Unwrapped tenant keys and data keys are cached in memory
// in bounded LRU caches (as expanded AES ciphers, which Go cannot zeroise).
//
// # Binding
//
// Every layer authenticates the ids it belongs to as GCM associated data:
// a wrapped tenant key its tenant and version (passed to Master.Wrap), a
// wrapped data key its tenant, session and tenant key version, and a sealed
// value its tenant, session and the caller's aad. A value or a wrapped key
// copied to another tenant or session does not open (ErrCorrupt).
//
// # Rotation
//
// RotateTenant creates tenant key version n+1 (new data keys are wrapped
// under it at once), re-wraps every data key of the tenant still under an
// older version, deletes the older versions and purges them (below). Only
// the small wrapped data keys change: data sealed under a data key stays
// as it is, because the data key itself does not change. A rotation cut
// short by a crash leaves two versions, both usable; Open finishes it.
//
// # Erasure (crypto-shredding)
//
// Shred destroys a session's data key: after it, nothing sealed for the
// session can be opened by anyone, wherever copies of the ciphertext went
// (S3 object versions, backups of the blob bucket). Deleting the record in
// Pebble is not enough: an LSM keeps a deleted value in its WAL and in
// sstables until a compaction drops it, and then the unlinked files' blocks
// still hold it. So Shred writes the tombstone (synced), and then purges:
//
//   - it flushes the memtable, which makes every WAL written so far
//     obsolete; WAL recycling is turned off (a recycled WAL is reused from
//     its start and would keep old records in its tail);
//   - it compacts the key's range into the last level, where the value and
//     its tombstone are dropped, and every sstable that held the value
//     becomes obsolete;
//   - Pebble's file system here overwrites every obsolete WAL and sstable
//     with zeros (synced) before unlinking it, and Shred waits until all WALs
//     and obsolete sstables that existed before the flush are gone.
//
// When Shred returns nil, no file under the directory holds the wrapped data
// key. What software cannot promise is the medium: a copy-on-write file
// system, a snapshot or a backup of the directory, or an SSD's remapped
// blocks may keep old bytes. The hierarchy bounds that residue: an old
// wrapped data key is useless without its tenant key version, so rotating
// the tenant key after erasures (RotateTenant; it retires and purges the
// old version the same way) makes every such leftover undecryptable unless
// the old tenant key also survived somewhere, and that one is itself
// wrapped by the master (a KMS key that never leaves the KMS in
// production). The package's tests check the directory after Shred and
// Close byte for byte.
//
// A shredded session keeps a marker (ids only, no key material), so a later
// Seal fails with ErrShredded instead of quietly creating a new key, and
// Open tells ErrShredded from ErrNotFound.
//
// # Formats (version 1)
//
//	tenant key record:  0x01 | uvarint len | master id | Master.Wrap output
//	data key record:    0x01 | tenant key version (4, BE) | nonce (12) | GCM(data key)
//	sealed value:       0x01 | nonce (12) | GCM(plaintext)
//
// Pebble keys are "t/" + lp(tenant) + version (4, BE), "d/" + lp(tenant) +
// session and "s/" + lp(tenant) + session (the shred marker), where lp is a
// uvarint length and the bytes: injective, and no personal data.
package keys

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

const (
	keySize   = 32
	nonceSize = 12
	tagSize   = 16
	format1   = 1

	// MaxIDLen bounds tenant and session ids.
	MaxIDLen = 256

	dataKeyRecordLen = 1 + 4 + nonceSize + keySize + tagSize
	sealedOverhead   = 1 + nonceSize + tagSize

	sessionStripes = 256
	tenantStripes  = 64
	rewrapChunk    = 256
)

var (
	// ErrShredded reports a session whose data key was destroyed: its data
	// can never be opened again, and nothing new can be sealed for it.
	ErrShredded = errors.New("keys: session data key shredded")
	// ErrNotFound reports a session that has no data key (nothing was ever
	// sealed for it).
	ErrNotFound = errors.New("keys: no data key for session")
	// ErrCorrupt reports a sealed value or a stored key that is truncated,
	// of an unknown format, or fails authentication (tampered, or bound to
	// another tenant, session or aad).
	ErrCorrupt = errors.New("keys: corrupt or tampered value")
	// ErrWrongMaster reports tenant keys wrapped by another master key
	// than the one the Ring was opened with.
	ErrWrongMaster = errors.New("keys: tenant keys wrapped by another master key")
	// ErrInvalidArgument reports an empty or oversized id, a nil master, or
	// a bad option.
	ErrInvalidArgument = errors.New("keys: invalid argument")
	// ErrClosed reports a call on a closed Ring.
	ErrClosed = errors.New("keys: ring closed")
)

// Ring holds the tenant keys and session data keys. Safe for concurrent
// use.
//
// Locking: a session's stripe mutex serialises everything that reads a data
// key from Pebble into the cache, creates, re-wraps or deletes it (so Shred
// cannot race a cache fill). A tenant's stripe RWMutex is held for reading
// while a data key is created under the tenant's newest key version and for
// writing while a new version is added, so no data key is ever created
// under a version a rotation is retiring. Order: session stripe, then
// tenant stripe; rotations are serialised by rotMu.
type Ring struct {
	db     *pebble.DB
	fs     vfs.FS
	dir    string
	master Master

	tenantKeys *lru[tenantVersion, cipher.AEAD]
	dataKeys   *lru[sessionID, cipher.AEAD]

	sessionMu [sessionStripes]sync.Mutex
	tenantMu  [tenantStripes]sync.RWMutex
	rotMu     sync.Mutex
	purgeMu   sync.Mutex

	// closeMu: calls hold it for reading while they use db, Close for
	// writing.
	closeMu sync.RWMutex
	closed  bool
}

type tenantVersion struct {
	tenant  string
	version uint32
}

type sessionID struct{ tenant, session string }

type config struct {
	tenantCache int
	dataCache   int
	logger      pebble.Logger
	tunePebble  []func(*pebble.Options)
}

// Option configures Open.
type Option func(*config)

// WithTenantKeyCache bounds the unwrapped tenant keys kept in memory
// (default 1024; 0 keeps none and unwraps through the Master every time).
func WithTenantKeyCache(n int) Option { return func(c *config) { c.tenantCache = n } }

// WithDataKeyCache bounds the unwrapped session data keys kept in memory
// (default 4096; 0 keeps none).
func WithDataKeyCache(n int) Option { return func(c *config) { c.dataCache = n } }

// WithLogger sets Pebble's logger (default: errors only).
func WithLogger(l pebble.Logger) Option { return func(c *config) { c.logger = l } }

// WithPebbleOptions lets the caller adjust Pebble's options before the
// database is opened. Replacing FS or Cleaner voids the erasure guarantee.
func WithPebbleOptions(f func(*pebble.Options)) Option {
	return func(c *config) { c.tunePebble = append(c.tunePebble, f) }
}

// quietLogger drops Pebble's info logs and keeps errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	pebble.DefaultLogger.Errorf(format, args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	pebble.DefaultLogger.Fatalf(format, args...)
}

// Open opens (creating it if needed) the ring in dir, with m as the master
// key. It fails with ErrWrongMaster when the stored tenant keys were
// wrapped by another master, and finishes any rotation a crash cut short.
// Only one Ring (one process) may have dir open.
func Open(ctx context.Context, dir string, m Master, opts ...Option) (*Ring, error) {
	if dir == "" {
		return nil, fmt.Errorf("keys: %w: empty directory", ErrInvalidArgument)
	}
	if m == nil {
		return nil, fmt.Errorf("keys: %w: no master key", ErrInvalidArgument)
	}
	cfg := config{tenantCache: 1024, dataCache: 4096, logger: quietLogger{}}
	for _, o := range opts {
		o(&cfg)
	}
	cache := pebble.NewCache(4 << 20)
	defer cache.Unref()
	fs := scrubFS{FS: vfs.Default}
	po := &pebble.Options{Cache: cache, Logger: cfg.logger, FS: fs, Cleaner: noRecycleCleaner{}}
	for _, f := range cfg.tunePebble {
		f(po)
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("keys: open %s: %w", dir, err)
	}
	r := &Ring{
		db: db, fs: po.FS, dir: dir, master: m,
		tenantKeys: newLRU[tenantVersion, cipher.AEAD](cfg.tenantCache),
		dataKeys:   newLRU[sessionID, cipher.AEAD](cfg.dataCache),
	}
	if err := r.recover(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return r, nil
}

// Close closes the database. Calls after Close return ErrClosed.
func (r *Ring) Close() error {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.tenantKeys.removeIf(func(tenantVersion) bool { return true })
	r.dataKeys.removeIf(func(sessionID) bool { return true })
	if err := r.db.Close(); err != nil {
		return fmt.Errorf("keys: close: %w", err)
	}
	return nil
}

func (r *Ring) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.closeMu.RLock()
	if r.closed {
		r.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func validate(tenant, session string) error {
	if tenant == "" || session == "" {
		return fmt.Errorf("%w: empty tenant or session id", ErrInvalidArgument)
	}
	if len(tenant) > MaxIDLen || len(session) > MaxIDLen {
		return fmt.Errorf("%w: id longer than %d bytes", ErrInvalidArgument, MaxIDLen)
	}
	return nil
}

// --- key encoding ---

func appendLP(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func tenantKeyPrefix(tenant string) []byte { return appendLP([]byte("t/"), tenant) }

func tenantKeyKey(tenant string, v uint32) []byte {
	return binary.BigEndian.AppendUint32(tenantKeyPrefix(tenant), v)
}

func dataKeyPrefix(tenant string) []byte { return appendLP([]byte("d/"), tenant) }

// DataKeyKey returns the Pebble key under which the ring keeps the wrapped
// data key of a session: for audits and for tests that look for the
// wrapped key's bytes in the directory's files.
func DataKeyKey(tenant, session string) []byte { return append(dataKeyPrefix(tenant), session...) }

func shredKey(tenant, session string) []byte {
	return append(appendLP([]byte("s/"), tenant), session...)
}

// parseTenantKeyKey splits a "t/" key into tenant and version.
func parseTenantKeyKey(k []byte) (string, uint32, bool) {
	if !bytes.HasPrefix(k, []byte("t/")) {
		return "", 0, false
	}
	rest := k[2:]
	n, w := binary.Uvarint(rest)
	if w <= 0 || uint64(len(rest)-w) != n+4 {
		return "", 0, false
	}
	tenant := string(rest[w : w+int(n)])
	return tenant, binary.BigEndian.Uint32(rest[w+int(n):]), true
}

// --- associated data ---

func tenantKeyAAD(tenant string, v uint32) []byte {
	b := appendLP([]byte("ekyc/tenant-key/v1/"), tenant)
	return binary.BigEndian.AppendUint32(b, v)
}

func dataKeyAAD(tenant, session string, v uint32) []byte {
	b := appendLP([]byte("ekyc/data-key/v1/"), tenant)
	b = appendLP(b, session)
	return binary.BigEndian.AppendUint32(b, v)
}

func dataAAD(tenant, session string, aad []byte) []byte {
	b := appendLP([]byte("ekyc/data/v1/"), tenant)
	b = appendLP(b, session)
	b = binary.AppendUvarint(b, uint64(len(aad)))
	return append(b, aad...)
}

// --- stripes ---

func (r *Ring) sessionStripe(tenant, session string) int {
	h := fnv.New32a()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(session))
	return int(h.Sum32() % sessionStripes)
}

func (r *Ring) tenantLock(tenant string) *sync.RWMutex {
	h := fnv.New32a()
	h.Write([]byte(tenant))
	return &r.tenantMu[h.Sum32()%tenantStripes]
}

// --- tenant keys ---

// encodeTenantKey wraps a fresh tenant key for (tenant, v).
func (r *Ring) newTenantKey(ctx context.Context, tenant string, v uint32) ([]byte, cipher.AEAD, error) {
	key := make([]byte, keySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, fmt.Errorf("keys: random: %w", err)
	}
	wrapped, err := r.master.Wrap(ctx, key, tenantKeyAAD(tenant, v))
	if err != nil {
		return nil, nil, fmt.Errorf("keys: wrap tenant key: %w", err)
	}
	id := r.master.ID()
	rec := make([]byte, 0, 1+binary.MaxVarintLen64+len(id)+len(wrapped))
	rec = append(rec, format1)
	rec = appendLP(rec, id)
	rec = append(rec, wrapped...)
	aead, err := newGCM(key)
	if err != nil {
		return nil, nil, err
	}
	return rec, aead, nil
}

// decodeTenantKeyRecord returns the master id and the wrapped key.
func decodeTenantKeyRecord(rec []byte) (string, []byte, error) {
	if len(rec) < 2 || rec[0] != format1 {
		return "", nil, ErrCorrupt
	}
	n, w := binary.Uvarint(rec[1:])
	if w <= 0 || n > uint64(len(rec)-1-w) {
		return "", nil, ErrCorrupt
	}
	id := string(rec[1+w : 1+w+int(n)])
	return id, rec[1+w+int(n):], nil
}

// tenantKey returns the unwrapped key of (tenant, v), from the cache or by
// unwrapping its record through the master.
func (r *Ring) tenantKey(ctx context.Context, tenant string, v uint32) (cipher.AEAD, error) {
	tv := tenantVersion{tenant, v}
	if a, ok := r.tenantKeys.get(tv); ok {
		return a, nil
	}
	rec, closer, err := r.db.Get(tenantKeyKey(tenant, v))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: tenant key version %d missing", ErrCorrupt, v)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read tenant key: %w", err)
	}
	id, wrapped, err := decodeTenantKeyRecord(rec)
	if err != nil {
		closer.Close()
		return nil, err
	}
	if id != r.master.ID() {
		closer.Close()
		return nil, fmt.Errorf("%w: tenant key version %d", ErrWrongMaster, v)
	}
	wrapped = bytes.Clone(wrapped)
	closer.Close()
	key, err := r.master.Unwrap(ctx, wrapped, tenantKeyAAD(tenant, v))
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("%w: tenant key version %d does not unwrap", ErrCorrupt, v)
		}
		return nil, fmt.Errorf("keys: unwrap tenant key: %w", err)
	}
	defer clear(key)
	if len(key) != keySize {
		return nil, fmt.Errorf("%w: tenant key version %d has %d bytes", ErrCorrupt, v, len(key))
	}
	a, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	r.tenantKeys.put(tv, a)
	return a, nil
}

// tenantVersions lists the stored key versions of a tenant, ascending.
func (r *Ring) tenantVersions(tenant string) ([]uint32, error) {
	sp := prefixSpan(tenantKeyPrefix(tenant))
	it, err := r.db.NewIter(&pebble.IterOptions{LowerBound: sp.start, UpperBound: sp.end})
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer it.Close()
	var vs []uint32
	for ok := it.First(); ok; ok = it.Next() {
		t, v, ok := parseTenantKeyKey(it.Key())
		if !ok || t != tenant {
			return nil, fmt.Errorf("%w: tenant key record key", ErrCorrupt)
		}
		vs = append(vs, v)
	}
	return vs, it.Error()
}

// activeVersion returns the tenant's newest key version, creating version 1
// when the tenant has none. The caller holds no tenant lock; on return the
// tenant lock is held for reading (the caller must RUnlock it), so the
// version stays the newest until then.
func (r *Ring) activeVersion(ctx context.Context, tenant string) (uint32, error) {
	mu := r.tenantLock(tenant)
	mu.RLock()
	vs, err := r.tenantVersions(tenant)
	if err != nil {
		mu.RUnlock()
		return 0, err
	}
	if len(vs) > 0 {
		return vs[len(vs)-1], nil
	}
	mu.RUnlock()

	mu.Lock()
	vs, err = r.tenantVersions(tenant)
	if err == nil && len(vs) == 0 {
		err = r.addTenantVersion(ctx, tenant, 1)
	}
	mu.Unlock()
	if err != nil {
		return 0, err
	}
	return r.activeVersion(ctx, tenant)
}

// addTenantVersion creates and stores tenant key version v. The caller
// holds the tenant lock for writing.
func (r *Ring) addTenantVersion(ctx context.Context, tenant string, v uint32) error {
	rec, aead, err := r.newTenantKey(ctx, tenant, v)
	if err != nil {
		return err
	}
	if err := r.db.Set(tenantKeyKey(tenant, v), rec, pebble.Sync); err != nil {
		return fmt.Errorf("keys: store tenant key: %w", err)
	}
	r.tenantKeys.put(tenantVersion{tenant, v}, aead)
	return nil
}

// --- data keys ---

func (r *Ring) wrapDataKey(ctx context.Context, tenant, session string, v uint32, dek []byte) ([]byte, error) {
	tk, err := r.tenantKey(ctx, tenant, v)
	if err != nil {
		return nil, err
	}
	rec := make([]byte, 1+4+nonceSize, dataKeyRecordLen)
	rec[0] = format1
	binary.BigEndian.PutUint32(rec[1:], v)
	if _, err := rand.Read(rec[5 : 5+nonceSize]); err != nil {
		return nil, fmt.Errorf("keys: random: %w", err)
	}
	return tk.Seal(rec, rec[5:5+nonceSize], dek, dataKeyAAD(tenant, session, v)), nil
}

// unwrapDataKey returns the data key in rec and the tenant key version
// that wrapped it. The caller clears the key.
func (r *Ring) unwrapDataKey(ctx context.Context, tenant, session string, rec []byte) ([]byte, uint32, error) {
	if len(rec) != dataKeyRecordLen || rec[0] != format1 {
		return nil, 0, fmt.Errorf("%w: data key record", ErrCorrupt)
	}
	v := binary.BigEndian.Uint32(rec[1:])
	tk, err := r.tenantKey(ctx, tenant, v)
	if err != nil {
		return nil, 0, err
	}
	dek, err := tk.Open(nil, rec[5:5+nonceSize], rec[5+nonceSize:], dataKeyAAD(tenant, session, v))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: data key does not unwrap", ErrCorrupt)
	}
	return dek, v, nil
}

// getRecord reads a value; found is false when there is none.
func (r *Ring) getRecord(k []byte) ([]byte, bool, error) {
	v, closer, err := r.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("keys: read: %w", err)
	}
	defer closer.Close()
	return bytes.Clone(v), true, nil
}

// dataKey returns the session's data key cipher. With create it makes one
// (under the tenant's newest key version) when the session has none.
func (r *Ring) dataKey(ctx context.Context, tenant, session string, create bool) (cipher.AEAD, error) {
	id := sessionID{tenant, session}
	if a, ok := r.dataKeys.get(id); ok {
		return a, nil
	}
	mu := &r.sessionMu[r.sessionStripe(tenant, session)]
	mu.Lock()
	defer mu.Unlock()
	if a, ok := r.dataKeys.get(id); ok {
		return a, nil
	}
	rec, found, err := r.getRecord(DataKeyKey(tenant, session))
	if err != nil {
		return nil, err
	}
	if found {
		dek, _, err := r.unwrapDataKey(ctx, tenant, session, rec)
		if err != nil {
			return nil, err
		}
		defer clear(dek)
		a, err := newGCM(dek)
		if err != nil {
			return nil, err
		}
		r.dataKeys.put(id, a)
		return a, nil
	}
	_, shredded, err := r.getRecord(shredKey(tenant, session))
	if err != nil {
		return nil, err
	}
	if shredded {
		return nil, ErrShredded
	}
	if !create {
		return nil, ErrNotFound
	}

	v, err := r.activeVersion(ctx, tenant)
	if err != nil {
		return nil, err
	}
	defer r.tenantLock(tenant).RUnlock()
	dek := make([]byte, keySize)
	defer clear(dek)
	if _, err := rand.Read(dek); err != nil {
		return nil, fmt.Errorf("keys: random: %w", err)
	}
	rec, err = r.wrapDataKey(ctx, tenant, session, v, dek)
	if err != nil {
		return nil, err
	}
	if err := r.db.Set(DataKeyKey(tenant, session), rec, pebble.Sync); err != nil {
		return nil, fmt.Errorf("keys: store data key: %w", err)
	}
	a, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	r.dataKeys.put(id, a)
	return a, nil
}

// Seal encrypts plaintext under the session's data key, creating the key
// on the session's first Seal. aad is authenticated, not stored: Open needs
// the same aad. It returns ErrShredded for a shredded session.
func (r *Ring) Seal(ctx context.Context, tenant, session string, plaintext, aad []byte) ([]byte, error) {
	if err := validate(tenant, session); err != nil {
		return nil, err
	}
	if err := r.acquire(ctx); err != nil {
		return nil, err
	}
	defer r.closeMu.RUnlock()
	a, err := r.dataKey(ctx, tenant, session, true)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+nonceSize, sealedOverhead+len(plaintext))
	out[0] = format1
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("keys: random: %w", err)
	}
	return a.Seal(out, out[1:], plaintext, dataAAD(tenant, session, aad)), nil
}

// Open decrypts a value sealed by Seal for the same tenant, session and
// aad. It returns ErrShredded after Shred, ErrNotFound when the session
// never had a key, and ErrCorrupt when the value does not authenticate.
func (r *Ring) Open(ctx context.Context, tenant, session string, sealed, aad []byte) ([]byte, error) {
	if err := validate(tenant, session); err != nil {
		return nil, err
	}
	if err := r.acquire(ctx); err != nil {
		return nil, err
	}
	defer r.closeMu.RUnlock()
	a, err := r.dataKey(ctx, tenant, session, false)
	if err != nil {
		return nil, err
	}
	if len(sealed) < sealedOverhead || sealed[0] != format1 {
		return nil, ErrCorrupt
	}
	pt, err := a.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], dataAAD(tenant, session, aad))
	if err != nil {
		return nil, ErrCorrupt
	}
	return pt, nil
}

// Shredded reports whether the session's data key was shredded.
func (r *Ring) Shredded(ctx context.Context, tenant, session string) (bool, error) {
	if err := validate(tenant, session); err != nil {
		return false, err
	}
	if err := r.acquire(ctx); err != nil {
		return false, err
	}
	defer r.closeMu.RUnlock()
	_, found, err := r.getRecord(shredKey(tenant, session))
	return found, err
}

// Shred destroys the session's data key: it deletes the wrapped key,
// records the session as shredded, drops the cached key and purges the
// deleted record from Pebble's files (see the package doc). Afterwards
// Seal and Open fail with ErrShredded. Shredding a session that has no key
// yet marks it too. Shred is idempotent; when it returns an error after the
// key was deleted (the purge did not finish, e.g. ctx expired), the key is
// already unusable and calling Shred again completes the purge.
func (r *Ring) Shred(ctx context.Context, tenant, session string) error {
	if err := validate(tenant, session); err != nil {
		return err
	}
	if err := r.acquire(ctx); err != nil {
		return err
	}
	defer r.closeMu.RUnlock()
	mu := &r.sessionMu[r.sessionStripe(tenant, session)]
	mu.Lock()
	b := r.db.NewBatch()
	err := b.Delete(DataKeyKey(tenant, session), nil)
	if err == nil {
		err = b.Set(shredKey(tenant, session), []byte{format1}, nil)
	}
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	_ = b.Close()
	if err == nil {
		r.dataKeys.remove(sessionID{tenant, session})
	}
	mu.Unlock()
	if err != nil {
		return fmt.Errorf("keys: shred: %w", err)
	}
	return r.purge(ctx, keySpan(DataKeyKey(tenant, session)))
}

// TenantVersion returns the tenant's current (newest) key version, 0 when
// the tenant has no key yet.
func (r *Ring) TenantVersion(ctx context.Context, tenant string) (int, error) {
	if tenant == "" || len(tenant) > MaxIDLen {
		return 0, fmt.Errorf("%w: tenant id", ErrInvalidArgument)
	}
	if err := r.acquire(ctx); err != nil {
		return 0, err
	}
	defer r.closeMu.RUnlock()
	mu := r.tenantLock(tenant)
	mu.RLock()
	defer mu.RUnlock()
	vs, err := r.tenantVersions(tenant)
	if err != nil || len(vs) == 0 {
		return 0, err
	}
	return int(vs[len(vs)-1]), nil
}

// RotateTenant adds a new key version for the tenant and makes it the one
// new data keys are wrapped under, re-wraps the tenant's existing data keys
// under it, then deletes and purges the older versions. Sealed data is
// untouched: only the wrapped data keys change. It returns the new version.
func (r *Ring) RotateTenant(ctx context.Context, tenant string) (int, error) {
	if tenant == "" || len(tenant) > MaxIDLen {
		return 0, fmt.Errorf("%w: tenant id", ErrInvalidArgument)
	}
	if err := r.acquire(ctx); err != nil {
		return 0, err
	}
	defer r.closeMu.RUnlock()
	r.rotMu.Lock()
	defer r.rotMu.Unlock()

	mu := r.tenantLock(tenant)
	mu.Lock()
	vs, err := r.tenantVersions(tenant)
	var next uint32 = 1
	if err == nil && len(vs) > 0 {
		next = vs[len(vs)-1] + 1
		if next == 0 {
			err = fmt.Errorf("%w: tenant key versions exhausted", ErrInvalidArgument)
		}
	}
	if err == nil {
		err = r.addTenantVersion(ctx, tenant, next)
	}
	mu.Unlock()
	if err != nil {
		return 0, err
	}
	if err := r.finishRotation(ctx, tenant, next); err != nil {
		return 0, err
	}
	return int(next), nil
}

// finishRotation re-wraps every data key of the tenant that is under a
// version older than newest, deletes the older versions and purges. The
// caller holds rotMu (or is Open, before the Ring is shared).
func (r *Ring) finishRotation(ctx context.Context, tenant string, newest uint32) error {
	sp := prefixSpan(dataKeyPrefix(tenant))
	start := sp.start
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		sessions, more, err := r.scanOld(tenant, start, sp.end, newest)
		if err != nil {
			return err
		}
		if err := r.rewrap(ctx, tenant, sessions, newest); err != nil {
			return err
		}
		if !more {
			break
		}
		start = append(DataKeyKey(tenant, sessions[len(sessions)-1]), 0)
	}

	mu := r.tenantLock(tenant)
	mu.Lock()
	vs, err := r.tenantVersions(tenant)
	if err != nil {
		mu.Unlock()
		return err
	}
	b := r.db.NewBatch()
	for _, v := range vs {
		if v < newest {
			if err := b.Delete(tenantKeyKey(tenant, v), nil); err != nil {
				mu.Unlock()
				_ = b.Close()
				return fmt.Errorf("keys: retire tenant key: %w", err)
			}
		}
	}
	err = b.Commit(pebble.Sync)
	_ = b.Close()
	r.tenantKeys.removeIf(func(tv tenantVersion) bool { return tv.tenant == tenant && tv.version < newest })
	mu.Unlock()
	if err != nil {
		return fmt.Errorf("keys: retire tenant key: %w", err)
	}
	return r.purge(ctx, prefixSpan(tenantKeyPrefix(tenant)), sp)
}

// scanOld returns up to rewrapChunk sessions in [start, end) whose data key
// is wrapped under a version older than newest; more is true when the scan
// stopped at the chunk size.
func (r *Ring) scanOld(tenant string, start, end []byte, newest uint32) ([]string, bool, error) {
	it, err := r.db.NewIter(&pebble.IterOptions{LowerBound: start, UpperBound: end})
	if err != nil {
		return nil, false, fmt.Errorf("keys: %w", err)
	}
	defer it.Close()
	prefix := dataKeyPrefix(tenant)
	var out []string
	for ok := it.First(); ok; ok = it.Next() {
		v := it.Value()
		if len(v) != dataKeyRecordLen || v[0] != format1 {
			return nil, false, fmt.Errorf("%w: data key record", ErrCorrupt)
		}
		if binary.BigEndian.Uint32(v[1:]) >= newest {
			continue
		}
		out = append(out, string(it.Key()[len(prefix):]))
		if len(out) == rewrapChunk {
			return out, true, it.Error()
		}
	}
	return out, false, it.Error()
}

// rewrap re-wraps the data keys of sessions under version newest, in one
// synced batch, holding the sessions' stripe locks (in stripe order) so a
// concurrent Shred cannot be undone by writing a key back.
func (r *Ring) rewrap(ctx context.Context, tenant string, sessions []string, newest uint32) error {
	if len(sessions) == 0 {
		return nil
	}
	var stripes []int
	for _, s := range sessions {
		stripes = append(stripes, r.sessionStripe(tenant, s))
	}
	slices.Sort(stripes)
	stripes = slices.Compact(stripes)
	for _, i := range stripes {
		r.sessionMu[i].Lock()
	}
	defer func() {
		for _, i := range stripes {
			r.sessionMu[i].Unlock()
		}
	}()
	b := r.db.NewBatch()
	defer b.Close()
	for _, s := range sessions {
		k := DataKeyKey(tenant, s)
		rec, found, err := r.getRecord(k)
		if err != nil {
			return err
		}
		if !found || binary.BigEndian.Uint32(rec[1:]) >= newest {
			continue // shredded or re-wrapped meanwhile
		}
		dek, _, err := r.unwrapDataKey(ctx, tenant, s, rec)
		if err != nil {
			return err
		}
		nrec, err := r.wrapDataKey(ctx, tenant, s, newest, dek)
		clear(dek)
		if err != nil {
			return err
		}
		if err := b.Set(k, nrec, nil); err != nil {
			return fmt.Errorf("keys: rewrap: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("keys: rewrap: %w", err)
	}
	return nil
}

// recover checks that the stored tenant keys belong to this master and
// finishes rotations a crash interrupted (a tenant with several versions).
func (r *Ring) recover(ctx context.Context) error {
	sp := prefixSpan([]byte("t/"))
	it, err := r.db.NewIter(&pebble.IterOptions{LowerBound: sp.start, UpperBound: sp.end})
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	versions := map[string][]uint32{}
	var order []string
	for ok := it.First(); ok; ok = it.Next() {
		tenant, v, ok := parseTenantKeyKey(it.Key())
		if !ok {
			it.Close()
			return fmt.Errorf("%w: tenant key record key", ErrCorrupt)
		}
		id, _, err := decodeTenantKeyRecord(it.Value())
		if err != nil {
			it.Close()
			return err
		}
		if id != r.master.ID() {
			it.Close()
			return fmt.Errorf("%w: stored keys use master %q, opened with %q", ErrWrongMaster, id, r.master.ID())
		}
		if _, seen := versions[tenant]; !seen {
			order = append(order, tenant)
		}
		versions[tenant] = append(versions[tenant], v)
	}
	if err := it.Error(); err != nil {
		it.Close()
		return fmt.Errorf("keys: %w", err)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	for _, t := range order {
		if vs := versions[t]; len(vs) > 1 {
			if err := r.finishRotation(ctx, t, vs[len(vs)-1]); err != nil {
				return fmt.Errorf("keys: finish interrupted rotation: %w", err)
			}
		}
	}
	return nil
}
