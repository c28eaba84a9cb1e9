package review

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/crypto/argon2"

	rv "github.com/openekyc/ekyc/services/review"
)

// Argon2Params are the argon2id parameters of a password hash.
type Argon2Params struct {
	// Time is the number of passes over the memory.
	Time uint32
	// MemoryKiB is the memory each hash fills, in KiB.
	MemoryKiB uint32
	// Threads is the parallelism (lanes).
	Threads uint8
	// KeyLen and SaltLen are the hash and salt sizes in bytes.
	KeyLen  uint32
	SaltLen uint32
}

// DefaultArgon2 is RFC 9106's second recommended option (§4: t=3, 64 MiB),
// with 2 lanes instead of 4: nodes are small and shared with checks, and
// the lanes bound parallelism, not the memory-hardness, which comes from
// the 64 MiB. One login takes about 70 ms of wall time (two lanes, so
// ~140 ms of CPU) on the development machine's Xeon
// (BenchmarkAuthenticateDefaultArgon2): an acceptable login delay, and each
// guess costs an attacker with the database 64 MiB and as much work;
// WithHashConcurrency bounds the memory of simultaneous logins. Every hash records its parameters, so raising them
// later applies to new and changed passwords and old hashes still verify.
var DefaultArgon2 = Argon2Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 2, KeyLen: 32, SaltLen: 16}

// Bounds on parameters, also applied to stored hashes so that a corrupt
// record cannot make a login allocate without limit.
const (
	maxArgonMemoryKiB = 4 << 20 // 4 GiB
	maxArgonTime      = 64
)

func (p Argon2Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxArgonTime:
		return fmt.Errorf("%w: argon2 time must be 1..%d", ErrInvalid, maxArgonTime)
	case p.Threads < 1:
		return fmt.Errorf("%w: argon2 threads must be at least 1", ErrInvalid)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxArgonMemoryKiB:
		return fmt.Errorf("%w: argon2 memory must be 8×threads..%d KiB", ErrInvalid, maxArgonMemoryKiB)
	case p.KeyLen < 16 || p.KeyLen > 64:
		return fmt.Errorf("%w: argon2 key length must be 16..64 bytes", ErrInvalid)
	case p.SaltLen < 16 || p.SaltLen > 64:
		return fmt.Errorf("%w: argon2 salt length must be 16..64 bytes", ErrInvalid)
	}
	return nil
}

// Password and username limits.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024
	MaxUsernameLen = 128
)

// Reviewer is a person who reviews cases of one tenant. The username is
// stored in the clear (it is the login name); the password only as a hash.
type Reviewer struct {
	ID        string
	Tenant    string
	Username  string
	Role      rv.Role
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Actor is the reviewer as the case transitions see it.
func (r Reviewer) Actor() rv.Actor { return rv.Actor{ID: r.ID, Tenant: r.Tenant, Role: r.Role} }

type reviewerRecord struct {
	Reviewer
	// Hash is the argon2id PHC string.
	Hash string
	// Epoch changes when the password changes or the reviewer is
	// disabled: login sessions of an older epoch are refused.
	Epoch uint64
}

func reviewerKey(tenant, id string) []byte { return append(tenantPrefix("r/", tenant), id...) }
func usernameKey(tenant, u string) []byte  { return append(tenantPrefix("u/", tenant), u...) }

// normUsername lower-cases and trims a username and refuses empty, long
// or control-character names.
func normUsername(u string) (string, error) {
	u = strings.ToLower(strings.TrimSpace(u))
	if u == "" || len(u) > MaxUsernameLen || !utf8.ValidString(u) {
		return "", fmt.Errorf("%w: username must be 1..%d bytes of UTF-8", ErrInvalid, MaxUsernameLen)
	}
	if strings.IndexFunc(u, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("%w: username has control characters", ErrInvalid)
	}
	return u, nil
}

func checkPassword(p string) error {
	if n := utf8.RuneCountInString(p); n < MinPasswordLen || len(p) > MaxPasswordLen {
		return fmt.Errorf("%w: password must be %d characters to %d bytes", ErrInvalid, MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// hashPassword makes an argon2id PHC string with the store's parameters:
// $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<hash> (unpadded
// standard base64).
func (s *Store) hashPassword(ctx context.Context, password string) (string, error) {
	p := s.argon
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(s.rand, salt); err != nil {
		return "", fmt.Errorf("review store: random: %w", err)
	}
	if err := s.hashSlot(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	<-s.hashSem
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

func (s *Store) hashSlot(ctx context.Context) error {
	select {
	case s.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// verifyPassword recomputes the hash of password with phc's parameters and
// salt and compares in constant time.
func (s *Store) verifyPassword(ctx context.Context, phc, password string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, fmt.Errorf("%w: not an argon2id hash", ErrCorrupt)
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, fmt.Errorf("%w: argon2 version", ErrCorrupt)
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("%w: argon2 parameters", ErrCorrupt)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false, fmt.Errorf("%w: argon2 salt or hash", ErrCorrupt)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(want))
	if err := p.validate(); err != nil {
		return false, fmt.Errorf("%w: stored argon2 parameters out of bounds", ErrCorrupt)
	}
	if err := s.hashSlot(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	<-s.hashSem
	s.hashes.Add(1)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func (s *Store) newID(prefix string) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("review store: random: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// CreateReviewer adds a reviewer to a tenant. The username is unique per
// tenant, case-insensitively (ErrExists); the password must have at least
// MinPasswordLen characters and is stored only as an argon2id hash.
func (s *Store) CreateReviewer(ctx context.Context, tenant, username, password string, role rv.Role) (Reviewer, error) {
	if err := checkID("tenant", tenant); err != nil {
		return Reviewer{}, err
	}
	u, err := normUsername(username)
	if err != nil {
		return Reviewer{}, err
	}
	if err := checkPassword(password); err != nil {
		return Reviewer{}, err
	}
	if !role.Valid() {
		return Reviewer{}, fmt.Errorf("%w: unknown role", ErrInvalid)
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return Reviewer{}, err
	}
	id, err := s.newID("rvw_")
	if err != nil {
		return Reviewer{}, err
	}
	if err := s.acquire(ctx); err != nil {
		return Reviewer{}, err
	}
	defer s.closeMu.RUnlock()
	s.userMu.Lock()
	defer s.userMu.Unlock()
	var existing string
	found, err := s.getJSON(usernameKey(tenant, u), &existing)
	if err != nil {
		return Reviewer{}, err
	}
	if found {
		return Reviewer{}, ErrExists
	}
	now := s.now().UTC()
	rec := reviewerRecord{
		Reviewer: Reviewer{ID: id, Tenant: tenant, Username: u, Role: role, CreatedAt: now, UpdatedAt: now},
		Hash:     hash,
	}
	if err := s.writeReviewer(rec, true); err != nil {
		return Reviewer{}, err
	}
	return rec.Reviewer, nil
}

func (s *Store) writeReviewer(rec reviewerRecord, withName bool) error {
	b := s.db.NewBatch()
	defer b.Close()
	if err := setJSON(b, reviewerKey(rec.Tenant, rec.ID), rec); err != nil {
		return err
	}
	if withName {
		if err := setJSON(b, usernameKey(rec.Tenant, rec.Username), rec.ID); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("review store: write reviewer: %w", err)
	}
	return nil
}

// Authenticate checks a reviewer's username and password. Unknown user,
// wrong password and disabled reviewer are all ErrUnauthenticated, and all
// take one argon2id computation (an unknown user's password is checked
// against a dummy hash of the same parameters), so neither the error nor
// the time tells which usernames exist. The hash comparison is
// constant-time.
func (s *Store) Authenticate(ctx context.Context, tenant, username, password string) (Reviewer, error) {
	rec, found, err := s.lookupUsername(ctx, tenant, username)
	if err != nil {
		return Reviewer{}, err
	}
	hash := s.dummyHash
	if found {
		hash = rec.Hash
	}
	if len(password) > MaxPasswordLen {
		password, found = "", false // still spend the time
	}
	ok, err := s.verifyPassword(ctx, hash, password)
	if err != nil {
		return Reviewer{}, err
	}
	if !ok || !found || rec.Disabled {
		return Reviewer{}, ErrUnauthenticated
	}
	return rec.Reviewer, nil
}

// lookupUsername reads a reviewer by username; an invalid tenant or
// username is simply not found.
func (s *Store) lookupUsername(ctx context.Context, tenant, username string) (reviewerRecord, bool, error) {
	u, err := normUsername(username)
	if err != nil || checkID("tenant", tenant) != nil {
		return reviewerRecord{}, false, nil
	}
	if err := s.acquire(ctx); err != nil {
		return reviewerRecord{}, false, err
	}
	defer s.closeMu.RUnlock()
	var id string
	found, err := s.getJSON(usernameKey(tenant, u), &id)
	if err != nil || !found {
		return reviewerRecord{}, false, err
	}
	var rec reviewerRecord
	found, err = s.getJSON(reviewerKey(tenant, id), &rec)
	return rec, found, err
}

// Reviewer returns a tenant's reviewer by id (ErrNotFound in any other
// tenant).
func (s *Store) Reviewer(ctx context.Context, tenant, id string) (Reviewer, error) {
	if err := s.acquire(ctx); err != nil {
		return Reviewer{}, err
	}
	defer s.closeMu.RUnlock()
	rec, err := s.reviewer(tenant, id)
	return rec.Reviewer, err
}

func (s *Store) reviewer(tenant, id string) (reviewerRecord, error) {
	if err := checkID("tenant", tenant); err != nil {
		return reviewerRecord{}, err
	}
	if err := checkID("reviewer id", id); err != nil {
		return reviewerRecord{}, err
	}
	var rec reviewerRecord
	found, err := s.getJSON(reviewerKey(tenant, id), &rec)
	if err != nil {
		return reviewerRecord{}, err
	}
	if !found {
		return reviewerRecord{}, ErrNotFound
	}
	return rec, nil
}

// Reviewers lists a tenant's reviewers in id order.
func (s *Store) Reviewers(ctx context.Context, tenant string) ([]Reviewer, error) {
	if err := checkID("tenant", tenant); err != nil {
		return nil, err
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	prefix := tenantPrefix("r/", tenant)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("review store: list reviewers: %w", err)
	}
	defer it.Close()
	var out []Reviewer
	for ok := it.First(); ok; ok = it.Next() {
		var rec reviewerRecord
		if err := unmarshal(it.Value(), &rec); err != nil {
			return nil, err
		}
		out = append(out, rec.Reviewer)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("review store: list reviewers: %w", err)
	}
	return out, nil
}

// modifyReviewer applies fn to a tenant's reviewer under the reviewer
// lock.
func (s *Store) modifyReviewer(ctx context.Context, tenant, id string, fn func(*reviewerRecord)) (Reviewer, error) {
	if err := s.acquire(ctx); err != nil {
		return Reviewer{}, err
	}
	defer s.closeMu.RUnlock()
	s.userMu.Lock()
	defer s.userMu.Unlock()
	rec, err := s.reviewer(tenant, id)
	if err != nil {
		return Reviewer{}, err
	}
	fn(&rec)
	rec.UpdatedAt = s.now().UTC()
	if err := s.writeReviewer(rec, false); err != nil {
		return Reviewer{}, err
	}
	return rec.Reviewer, nil
}

// SetRole changes a reviewer's role. It applies to the reviewer's open
// login sessions at once (LoginSession returns the current record).
func (s *Store) SetRole(ctx context.Context, tenant, id string, role rv.Role) (Reviewer, error) {
	if !role.Valid() {
		return Reviewer{}, fmt.Errorf("%w: unknown role", ErrInvalid)
	}
	return s.modifyReviewer(ctx, tenant, id, func(r *reviewerRecord) { r.Role = role })
}

// SetDisabled disables or re-enables a reviewer. A disabled reviewer
// cannot log in, and disabling ends every login session of the reviewer
// (re-enabling does not revive them).
func (s *Store) SetDisabled(ctx context.Context, tenant, id string, disabled bool) (Reviewer, error) {
	return s.modifyReviewer(ctx, tenant, id, func(r *reviewerRecord) {
		if disabled && !r.Disabled {
			r.Epoch++
		}
		r.Disabled = disabled
	})
}

// SetPassword replaces a reviewer's password (hashed with the store's
// current parameters) and ends the reviewer's login sessions.
func (s *Store) SetPassword(ctx context.Context, tenant, id, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	_, err = s.modifyReviewer(ctx, tenant, id, func(r *reviewerRecord) {
		r.Hash = hash
		r.Epoch++
	})
	return err
}

func setJSON(b *pebble.Batch, key []byte, v any) error {
	val, err := marshal(v)
	if err != nil {
		return err
	}
	return b.Set(key, val, nil)
}
