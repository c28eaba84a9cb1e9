package tenants

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	sessionspebble "github.com/openekyc/ekyc/store/sessions/pebblestore"
)

// Pebble keys. Tenant ids and key ids contain no '/', so the
// concatenations below are unambiguous.
const (
	tenantKeyPrefix  = "t/" // + tenant id → tenant JSON
	keyKeyPrefix     = "k/" // + key id → keyRecord JSON
	keyIndexPrefix   = "x/" // + tenant id + "/" + key id → empty (a tenant's keys)
	webhookKeyPrefix = "w/" // + tenant id → sealed webhookRecord
)

func tenantKey(id string) []byte       { return []byte(tenantKeyPrefix + id) }
func keyKey(id string) []byte          { return []byte(keyKeyPrefix + id) }
func keyIndex(t, id string) []byte     { return []byte(keyIndexPrefix + t + "/" + id) }
func keyIndexPrefixOf(t string) []byte { return []byte(keyIndexPrefix + t + "/") }
func webhookKey(t string) []byte       { return []byte(webhookKeyPrefix + t) }

// Sealer seals and opens small values; *envelope.Keyring is one. aad is
// authenticated, not stored.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// DefaultWebhookOverlap is how long a rotated-out webhook secret stays
// valid by default.
const DefaultWebhookOverlap = 24 * time.Hour

type config struct {
	logger     pebble.Logger
	now        func() time.Time
	rand       io.Reader
	sealer     Sealer
	overlap    time.Duration
	tunePebble []func(*pebble.Options)
}

// Option configures Open.
type Option func(*config)

// WithSealer sets the sealer of webhook secrets (the node's
// *envelope.Keyring). Without it the webhook secret calls return
// ErrNoSealer.
func WithSealer(s Sealer) Option { return func(c *config) { c.sealer = s } }

// WithWebhookOverlap sets how long the previous webhook secret stays valid
// after a rotation (default DefaultWebhookOverlap). Zero keeps it valid
// until RetireWebhookSecret or the next rotation.
func WithWebhookOverlap(d time.Duration) Option { return func(c *config) { c.overlap = max(d, 0) } }

// WithClock sets the clock of CreatedAt, RevokedAt and the webhook overlap
// (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithRand sets the source of key ids and secrets (default crypto/rand).
// Tests only: anything but a CSPRNG makes keys guessable.
func WithRand(r io.Reader) Option { return func(c *config) { c.rand = r } }

// WithLogger sets Pebble's logger (default: the sessions store's
// QuietLogger, errors only).
func WithLogger(l pebble.Logger) Option { return func(c *config) { c.logger = l } }

// WithPebbleOptions lets the caller adjust Pebble's options before the
// database is opened.
func WithPebbleOptions(f func(*pebble.Options)) Option {
	return func(c *config) { c.tunePebble = append(c.tunePebble, f) }
}

// Store holds tenants, API keys and webhook secrets.
type Store struct {
	db      *pebble.DB
	lock    *pebble.Lock
	now     func() time.Time
	rand    io.Reader
	sealer  Sealer
	overlap time.Duration

	// closeMu: calls hold it for reading while they use db, Close for
	// writing.
	closeMu sync.RWMutex
	closed  bool

	writeMu sync.Mutex
}

// Open opens (creating it if needed) the store in dir. It returns an error
// wrapping ErrLocked when another process, or another Store of this
// process, has dir open.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", ErrInvalid)
	}
	cfg := config{logger: sessionspebble.QuietLogger{}, now: time.Now, rand: rand.Reader, overlap: DefaultWebhookOverlap}
	for _, o := range opts {
		o(&cfg)
	}
	db, lock, err := openPebble(dir, cfg.logger, cfg.tunePebble)
	if err != nil {
		return nil, err
	}
	return &Store{db: db, lock: lock, now: cfg.now, rand: cfg.rand, sealer: cfg.sealer, overlap: cfg.overlap}, nil
}

// openPebble takes the directory lock first, so that a held lock is told
// apart from other failures.
func openPebble(dir string, logger pebble.Logger, tune []func(*pebble.Options)) (*pebble.DB, *pebble.Lock, error) {
	if err := vfs.Default.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("tenants: create %s: %w", dir, err)
	}
	lock, err := pebble.LockDirectory(dir, vfs.Default)
	if err != nil {
		if isLockHeld(err) {
			return nil, nil, fmt.Errorf("%w: %s (stop the node that uses it, or run this on a stopped node)", ErrLocked, dir)
		}
		return nil, nil, fmt.Errorf("tenants: lock %s: %w", dir, err)
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
		return nil, nil, fmt.Errorf("tenants: open %s: %w", dir, err)
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

// Close closes the store; later calls return ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.db.Close()
	if lerr := s.lock.Close(); err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("tenants: close: %w", err)
	}
	return nil
}

// acquire holds closeMu for reading; the caller releases it.
func (s *Store) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

// getJSON reads key into v; found is false when it is absent.
func (s *Store) getJSON(key []byte, v any) (found bool, err error) {
	val, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer closer.Close()
	if err := json.Unmarshal(val, v); err != nil {
		return true, fmt.Errorf("%w: %s: %w", ErrCorrupt, key, err)
	}
	return true, nil
}

func (s *Store) exists(key []byte) (bool, error) {
	_, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	closer.Close()
	return true, nil
}

func setJSON(b *pebble.Batch, key []byte, v any) error {
	val, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("tenants: encode: %w", err)
	}
	return b.Set(key, val, nil)
}

// CreateTenant stores a new tenant; CreatedAt is set to now. It returns
// ErrExists if the id is taken.
func (s *Store) CreateTenant(ctx context.Context, t Tenant) error {
	if err := ValidateTenant(t); err != nil {
		return err
	}
	t.CreatedAt = s.now().UTC()
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	ok, err := s.exists(tenantKey(t.ID))
	if err != nil {
		return fmt.Errorf("tenants: create %q: %w", t.ID, err)
	}
	if ok {
		return fmt.Errorf("%w: tenant %q", ErrExists, t.ID)
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := setJSON(b, tenantKey(t.ID), t); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("tenants: create %q: %w", t.ID, err)
	}
	return nil
}

// tenant reads a tenant; the caller holds closeMu.
func (s *Store) tenant(id string) (Tenant, error) {
	var t Tenant
	found, err := s.getJSON(tenantKey(id), &t)
	if err != nil {
		return Tenant{}, fmt.Errorf("tenants: tenant %q: %w", id, err)
	}
	if !found {
		return Tenant{}, fmt.Errorf("%w: tenant %q", ErrNotFound, id)
	}
	return t, nil
}

// Tenant returns a tenant, or ErrNotFound.
func (s *Store) Tenant(ctx context.Context, id string) (Tenant, error) {
	if err := ValidateTenantID(id); err != nil {
		return Tenant{}, err
	}
	if err := s.acquire(ctx); err != nil {
		return Tenant{}, err
	}
	defer s.closeMu.RUnlock()
	return s.tenant(id)
}

// UpdateTenant replaces a tenant's name, retention and webhook URL; its
// CreatedAt is kept. It returns ErrNotFound for an unknown tenant.
func (s *Store) UpdateTenant(ctx context.Context, t Tenant) error {
	if err := ValidateTenant(t); err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	old, err := s.tenant(t.ID)
	if err != nil {
		return err
	}
	t.CreatedAt = old.CreatedAt
	b := s.db.NewBatch()
	defer b.Close()
	if err := setJSON(b, tenantKey(t.ID), t); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("tenants: update %q: %w", t.ID, err)
	}
	return nil
}

// Tenants returns every tenant in id order.
func (s *Store) Tenants(ctx context.Context) ([]Tenant, error) {
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	lower := []byte(tenantKeyPrefix)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return nil, fmt.Errorf("tenants: list: %w", err)
	}
	defer it.Close()
	var out []Tenant
	for ok := it.First(); ok; ok = it.Next() {
		var t Tenant
		if err := json.Unmarshal(it.Value(), &t); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, it.Key(), err)
		}
		out = append(out, t)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("tenants: list: %w", err)
	}
	return out, nil
}

// prefixEnd is the smallest key after every key with prefix p (p's last
// byte is never 0xff here).
func prefixEnd(p []byte) []byte {
	end := slices.Clone(p)
	end[len(end)-1]++
	return end
}

// keyRecord is a stored key: its metadata and the hash of its secret.
type keyRecord struct {
	Key
	Hash []byte `json:"hash"`
}

// CreateKey creates an API key for tenant with a display name and scopes.
// It returns the full key, which is not stored and cannot be shown again,
// and its metadata.
func (s *Store) CreateKey(ctx context.Context, tenant, name string, scopes ...Scope) (secret string, k Key, err error) {
	if err := ValidateTenantID(tenant); err != nil {
		return "", Key{}, err
	}
	if err := validateName("key", name); err != nil {
		return "", Key{}, err
	}
	norm, err := NormalizeScopes(scopes)
	if err != nil {
		return "", Key{}, err
	}
	if err := s.acquire(ctx); err != nil {
		return "", Key{}, err
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, err := s.tenant(tenant); err != nil {
		return "", Key{}, err
	}
	var id, full string
	for attempt := 0; ; attempt++ {
		if id, full, err = newAPIKey(s.rand); err != nil {
			return "", Key{}, err
		}
		taken, err := s.exists(keyKey(id))
		if err != nil {
			return "", Key{}, fmt.Errorf("tenants: create key: %w", err)
		}
		if !taken {
			break
		}
		if attempt == 3 { // 80-bit ids: only a broken random source gets here
			return "", Key{}, errors.New("tenants: create key: random source keeps repeating key ids")
		}
	}
	_, sec, _ := parseAPIKey(full)
	rec := keyRecord{
		Key: Key{
			ID: id, Tenant: tenant, Name: name, Scopes: norm,
			CreatedAt: s.now().UTC(), Prefix: displayPrefix(id),
		},
		Hash: hashSecret(id, sec),
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := setJSON(b, keyKey(id), rec); err != nil {
		return "", Key{}, err
	}
	if err := b.Set(keyIndex(tenant, id), nil, nil); err != nil {
		return "", Key{}, fmt.Errorf("tenants: create key: %w", err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return "", Key{}, fmt.Errorf("tenants: create key: %w", err)
	}
	return full, rec.Key, nil
}

// dummyHash is compared against when the key id is unknown, so that path
// does the same work as a wrong secret.
var dummyHash = hashSecret("aaaaaaaaaaaaaaaa", "")

// Authenticate returns the key that secret (a full key as returned by
// CreateKey) belongs to. Unknown, malformed and revoked keys all return
// ErrUnauthenticated. Other errors (a closed store, a read error) are
// returned as they are: they are not a verdict on the key.
func (s *Store) Authenticate(ctx context.Context, secret string) (Key, error) {
	id, sec, ok := parseAPIKey(secret)
	if !ok {
		return Key{}, ErrUnauthenticated
	}
	if err := s.acquire(ctx); err != nil {
		return Key{}, err
	}
	defer s.closeMu.RUnlock()
	var rec keyRecord
	found, err := s.getJSON(keyKey(id), &rec)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return Key{}, fmt.Errorf("tenants: authenticate: %w", err)
	}
	want := dummyHash
	if found && err == nil && rec.ID == id {
		want = rec.Hash
	}
	match := subtle.ConstantTimeCompare(hashSecret(id, sec), want) == 1
	if !match || !found || err != nil || rec.ID != id || !rec.Active() {
		return Key{}, ErrUnauthenticated
	}
	return rec.Key, nil
}

// key reads a key of tenant; a key of another tenant is ErrNotFound. The
// caller holds closeMu.
func (s *Store) key(tenant, id string) (keyRecord, error) {
	if !ValidKeyID(id) {
		return keyRecord{}, fmt.Errorf("%w: key id must be %d characters of a-z and 2-7", ErrInvalid, keyIDChars)
	}
	var rec keyRecord
	found, err := s.getJSON(keyKey(id), &rec)
	if err != nil {
		return keyRecord{}, fmt.Errorf("tenants: key %q: %w", id, err)
	}
	if !found || rec.Tenant != tenant {
		return keyRecord{}, fmt.Errorf("%w: key %q of tenant %q", ErrNotFound, id, tenant)
	}
	return rec, nil
}

// RevokeKey revokes a key of tenant: Authenticate rejects it from then on.
// A key of another tenant, or an unknown one, is ErrNotFound. Revoking a
// revoked key is a no-op that keeps the first RevokedAt.
func (s *Store) RevokeKey(ctx context.Context, tenant, keyID string) error {
	if err := ValidateTenantID(tenant); err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	rec, err := s.key(tenant, keyID)
	if err != nil {
		return err
	}
	if !rec.Active() {
		return nil
	}
	rec.RevokedAt = s.now().UTC()
	b := s.db.NewBatch()
	defer b.Close()
	if err := setJSON(b, keyKey(keyID), rec); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("tenants: revoke key %q: %w", keyID, err)
	}
	return nil
}

// Key returns one key of tenant (ErrNotFound if unknown or another
// tenant's).
func (s *Store) Key(ctx context.Context, tenant, keyID string) (Key, error) {
	if err := ValidateTenantID(tenant); err != nil {
		return Key{}, err
	}
	if err := s.acquire(ctx); err != nil {
		return Key{}, err
	}
	defer s.closeMu.RUnlock()
	rec, err := s.key(tenant, keyID)
	return rec.Key, err
}

// Keys returns the keys of tenant, revoked ones included, oldest first. An
// unknown tenant is ErrNotFound.
func (s *Store) Keys(ctx context.Context, tenant string) ([]Key, error) {
	if err := ValidateTenantID(tenant); err != nil {
		return nil, err
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	if _, err := s.tenant(tenant); err != nil {
		return nil, err
	}
	lower := keyIndexPrefixOf(tenant)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return nil, fmt.Errorf("tenants: keys of %q: %w", tenant, err)
	}
	defer it.Close()
	var out []Key
	for ok := it.First(); ok; ok = it.Next() {
		id := string(it.Key()[len(lower):])
		rec, err := s.key(tenant, id)
		if err != nil {
			return nil, fmt.Errorf("%w: index names key %q: %w", ErrCorrupt, id, err)
		}
		out = append(out, rec.Key)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("tenants: keys of %q: %w", tenant, err)
	}
	slices.SortStableFunc(out, func(a, b Key) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
