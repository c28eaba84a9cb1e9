// Package review is the embedded store of the manual review queue: review
// cases, reviewers (with argon2id password hashes) and reviewers' login
// sessions, on one Pebble database in a local directory (<data_dir>/review
// in a node). The case rules live in services/review; this package stores
// their results.
//
// # Tenancy
//
// Every case and reviewer key starts with the tenant, and every method that
// names a case or a reviewer takes the tenant: another tenant's case or
// reviewer is ErrNotFound, exactly like a missing one. A login session is
// found by its token alone and carries its reviewer's tenant; the caller
// acts for that tenant only.
//
// # Keys
//
//	c/ lp(tenant) case id                                → case record (JSON)
//	i/ lp(tenant) state(1) priority(1) due(8, BE ns) id  → (empty)   the queue index
//	r/ lp(tenant) reviewer id                            → reviewer record (JSON)
//	u/ lp(tenant) username (lower-cased)                 → reviewer id
//	l/ SHA-256(login token)                              → login record (JSON)
//
// lp is a uvarint length and the bytes, so keys are injective. The queue
// index orders a tenant's cases of one state by priority, then SLA due time:
// List reads it from the start. A case and its index entry change in one
// atomic batch written with pebble.Sync.
//
// # What is on disk
//
// Reviewer comments are free text and may hold personal data: each one is
// sealed with the Sealer (store/keys.Ring in a node) under the case's
// verification session, with the tenant, case id and the comment's place
// as associated data. Erasing the session (keys.Ring.Shred) therefore
// crypto-shreds its review comments too; Get of such a case then fails
// with the sealer's error (keys.ErrShredded), and Delete removes it.
// Everything else in a case is ids, codes, states and times.
//
// Passwords are stored only as argon2id hashes (PHC strings with their
// parameters and a random salt); login and CSRF tokens only as SHA-256
// hashes (they are 256-bit random values, so a fast hash is enough: there
// is nothing to brute-force).
package review

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Errors; check them with errors.Is. The transition errors of
// services/review (ErrForbidden, ErrClaimedByOther, ...) pass through
// Update unchanged.
var (
	// ErrNotFound: no such case or reviewer in this tenant (another
	// tenant's is not found either).
	ErrNotFound = errors.New("review store: not found")
	// ErrConflict: the case's version is not the expected one (someone
	// else changed it first): reload and retry.
	ErrConflict = errors.New("review store: version conflict")
	// ErrExists: the username is taken in the tenant.
	ErrExists = errors.New("review store: already exists")
	// ErrUnauthenticated: wrong username or password, disabled reviewer,
	// or an unknown, expired or revoked login session. Deliberately one
	// error for all of them.
	ErrUnauthenticated = errors.New("review store: unauthenticated")
	// ErrInvalid: a malformed argument.
	ErrInvalid = errors.New("review store: invalid argument")
	// ErrCorrupt: a stored record cannot be decoded.
	ErrCorrupt = errors.New("review store: corrupt record")
	// ErrLocked: another process (or Store) has the directory open.
	ErrLocked = errors.New("review store: directory in use")
	// ErrClosed: a call after Close.
	ErrClosed = errors.New("review store: closed")
)

// Sealer seals and opens small values bound to a tenant's session;
// *keys.Ring is one. aad is authenticated, not stored.
type Sealer interface {
	Seal(ctx context.Context, tenant, session string, plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, tenant, session string, sealed, aad []byte) ([]byte, error)
}

// Defaults.
const (
	DefaultLoginTTL        = 8 * time.Hour
	DefaultListLimit       = 100
	MaxListLimit           = 1000
	DefaultHashConcurrency = 4
	maxIDLen               = 256
	stripes                = 256
)

type config struct {
	logger      pebble.Logger
	now         func() time.Time
	rand        io.Reader
	argon       Argon2Params
	hashWorkers int
	loginTTL    time.Duration
	tunePebble  []func(*pebble.Options)
}

// Option configures Open.
type Option func(*config)

// WithClock sets the clock of reviewer timestamps and login expiry
// (default time.Now). Case transitions take their time from the caller.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithRand sets the source of salts, ids and tokens (default crypto/rand).
// Tests only: anything but a CSPRNG makes tokens guessable.
func WithRand(r io.Reader) Option { return func(c *config) { c.rand = r } }

// WithArgon2 sets the argon2id parameters of new password hashes (default
// DefaultArgon2). Existing hashes keep the parameters they were made with.
// Tests use cheaper ones.
func WithArgon2(p Argon2Params) Option { return func(c *config) { c.argon = p } }

// WithHashConcurrency bounds how many password hashes run at once (default
// DefaultHashConcurrency). Each takes Argon2Params.MemoryKiB of memory, so
// this bounds the memory a burst of logins can take: 4 × 64 MiB by
// default. Callers beyond it wait (or give up with their ctx).
func WithHashConcurrency(n int) Option { return func(c *config) { c.hashWorkers = n } }

// WithLoginTTL sets how long a login session lasts (default
// DefaultLoginTTL).
func WithLoginTTL(d time.Duration) Option { return func(c *config) { c.loginTTL = d } }

// WithLogger sets Pebble's logger (default: errors only, through slog).
func WithLogger(l pebble.Logger) Option { return func(c *config) { c.logger = l } }

// WithPebbleOptions lets the caller adjust Pebble's options before the
// database is opened.
func WithPebbleOptions(f func(*pebble.Options)) Option {
	return func(c *config) { c.tunePebble = append(c.tunePebble, f) }
}

// Store holds review cases, reviewers and login sessions. Safe for
// concurrent use.
type Store struct {
	db       *pebble.DB
	lock     *pebble.Lock
	sealer   Sealer
	now      func() time.Time
	rand     io.Reader
	argon    Argon2Params
	loginTTL time.Duration
	hashSem  chan struct{}
	// dummyHash is verified for unknown usernames so that they take as
	// long as wrong passwords.
	dummyHash string
	// hashes counts password hash verifications (for tests: an unknown
	// username must cost one too).
	hashes atomic.Int64

	seed  maphash.Seed
	locks [stripes]sync.Mutex
	// userMu serialises reviewer creation (the username index check and
	// its write).
	userMu sync.Mutex

	// closeMu: calls hold it for reading while they use db, Close for
	// writing.
	closeMu sync.RWMutex
	closed  bool
}

// Open opens (creating it if needed) the store in dir; sealer seals the
// reviewers' comments. It fails with ErrLocked when another process, or
// another Store of this process, has dir open.
func Open(ctx context.Context, dir string, sealer Sealer, opts ...Option) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", ErrInvalid)
	}
	if sealer == nil {
		return nil, fmt.Errorf("%w: no sealer", ErrInvalid)
	}
	cfg := config{
		logger: quietLogger{}, now: time.Now, rand: rand.Reader, argon: DefaultArgon2,
		hashWorkers: DefaultHashConcurrency, loginTTL: DefaultLoginTTL,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.argon.validate(); err != nil {
		return nil, err
	}
	if cfg.hashWorkers < 1 {
		return nil, fmt.Errorf("%w: hash concurrency must be at least 1", ErrInvalid)
	}
	if cfg.loginTTL <= 0 {
		return nil, fmt.Errorf("%w: login TTL must be positive", ErrInvalid)
	}
	s := &Store{
		sealer: sealer, now: cfg.now, rand: cfg.rand, argon: cfg.argon, loginTTL: cfg.loginTTL,
		hashSem: make(chan struct{}, cfg.hashWorkers), seed: maphash.MakeSeed(),
	}
	// The dummy hash needs only the right parameters: its password is
	// random and never known.
	pw := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, pw); err != nil {
		return nil, fmt.Errorf("review store: random: %w", err)
	}
	dummy, err := s.hashPassword(ctx, string(pw))
	if err != nil {
		return nil, err
	}
	s.dummyHash = dummy

	if err := vfs.Default.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("review store: create %s: %w", dir, err)
	}
	lock, err := pebble.LockDirectory(dir, vfs.Default)
	if err != nil {
		if isLockHeld(err) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("review store: lock %s: %w", dir, err)
	}
	cache := pebble.NewCache(8 << 20)
	defer cache.Unref()
	po := &pebble.Options{Cache: cache, Logger: cfg.logger, Lock: lock}
	for _, f := range cfg.tunePebble {
		f(po)
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("review store: open %s: %w", dir, err)
	}
	s.db, s.lock = db, lock
	return s, nil
}

// isLockHeld reports whether err from LockDirectory means another holder
// (fcntl's EAGAIN/EACCES for another process, Pebble's own error for this
// one), not a failure to create the LOCK file.
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
		return fmt.Errorf("review store: close: %w", err)
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

func (s *Store) stripe(key []byte) *sync.Mutex {
	return &s.locks[maphash.Bytes(s.seed, key)%stripes]
}

// getJSON reads key into v; found is false when it is absent.
func (s *Store) getJSON(key []byte, v any) (bool, error) {
	val, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("review store: read: %w", err)
	}
	defer closer.Close()
	if err := json.Unmarshal(val, v); err != nil {
		return true, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return true, nil
}

func checkID(name, v string) error {
	if v == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalid, name)
	}
	if len(v) > maxIDLen {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, name, maxIDLen)
	}
	return nil
}

func appendLP(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func tenantPrefix(kind, tenant string) []byte { return appendLP([]byte(kind), tenant) }

// prefixEnd is the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// quietLogger drops Pebble's informational messages and logs errors with
// slog.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	slog.Error("review store: pebble: " + fmt.Sprintf(format, args...))
}
func (quietLogger) Fatalf(format string, args ...any) {
	pebble.DefaultLogger.Fatalf(format, args...)
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("review store: encode: %w", err)
	}
	return b, nil
}

func unmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}
