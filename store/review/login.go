package review

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Login is a reviewer's login session, as LoginSession finds it.
type Login struct {
	// Reviewer is the reviewer's current record (its role changes apply
	// at once).
	Reviewer Reviewer
	// CSRFHash is the SHA-256 of the session's CSRF token; check a
	// presented token with VerifyCSRF.
	CSRFHash []byte
	Expiry   time.Time
}

type loginRecord struct {
	Tenant     string
	ReviewerID string
	CSRFHash   []byte
	Epoch      uint64
	Created    time.Time
	Expiry     time.Time
}

const tokenBytes = 32

// maxTokenLen bounds a presented token (base64url of 32 bytes is 43).
const maxTokenLen = 128

func tokenHash(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

func loginKey(token string) []byte {
	h := tokenHash(token)
	return append([]byte("l/"), h[:]...)
}

func (s *Store) newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("review store: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewLoginSession starts a login session for a reviewer that Authenticate
// returned. It returns the session token (for a Secure, HttpOnly,
// SameSite=Strict cookie), the CSRF token (for the page; the client sends
// it back in a header with every state-changing request) and the expiry.
// Only SHA-256 hashes of the two tokens are stored. The reviewer must
// exist in its tenant and be enabled (ErrUnauthenticated otherwise).
func (s *Store) NewLoginSession(ctx context.Context, r Reviewer) (token, csrf string, expiry time.Time, err error) {
	if err := s.acquire(ctx); err != nil {
		return "", "", time.Time{}, err
	}
	defer s.closeMu.RUnlock()
	rec, err := s.reviewer(r.Tenant, r.ID)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) || (err == nil && rec.Disabled) {
		return "", "", time.Time{}, ErrUnauthenticated
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	if token, err = s.newToken(); err != nil {
		return "", "", time.Time{}, err
	}
	if csrf, err = s.newToken(); err != nil {
		return "", "", time.Time{}, err
	}
	now := s.now().UTC()
	ch := tokenHash(csrf)
	lr := loginRecord{
		Tenant: rec.Tenant, ReviewerID: rec.ID, CSRFHash: ch[:], Epoch: rec.Epoch,
		Created: now, Expiry: now.Add(s.loginTTL),
	}
	val, err := marshal(lr)
	if err != nil {
		return "", "", time.Time{}, err
	}
	if err := s.db.Set(loginKey(token), val, pebble.Sync); err != nil {
		return "", "", time.Time{}, fmt.Errorf("review store: write login: %w", err)
	}
	return token, csrf, lr.Expiry, nil
}

// LoginSession returns the login session of a token with its reviewer.
// An unknown, expired or logged-out token, a disabled or deleted reviewer,
// and a session older than the reviewer's last password change or
// disabling are all ErrUnauthenticated. An expired session is deleted.
func (s *Store) LoginSession(ctx context.Context, token string) (Login, error) {
	if token == "" || len(token) > maxTokenLen {
		return Login{}, ErrUnauthenticated
	}
	if err := s.acquire(ctx); err != nil {
		return Login{}, err
	}
	defer s.closeMu.RUnlock()
	key := loginKey(token)
	var lr loginRecord
	found, err := s.getJSON(key, &lr)
	if err != nil {
		return Login{}, err
	}
	if !found {
		return Login{}, ErrUnauthenticated
	}
	if !s.now().Before(lr.Expiry) {
		if err := s.db.Delete(key, pebble.Sync); err != nil {
			return Login{}, fmt.Errorf("review store: delete login: %w", err)
		}
		return Login{}, ErrUnauthenticated
	}
	rec, err := s.reviewer(lr.Tenant, lr.ReviewerID)
	if errors.Is(err, ErrNotFound) {
		return Login{}, ErrUnauthenticated
	}
	if err != nil {
		return Login{}, err
	}
	if rec.Disabled || rec.Epoch != lr.Epoch {
		return Login{}, ErrUnauthenticated
	}
	return Login{Reviewer: rec.Reviewer, CSRFHash: lr.CSRFHash, Expiry: lr.Expiry}, nil
}

// Logout ends the login session of a token. Logging out an unknown token
// is not an error.
func (s *Store) Logout(ctx context.Context, token string) error {
	if token == "" || len(token) > maxTokenLen {
		return nil
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	if err := s.db.Delete(loginKey(token), pebble.Sync); err != nil {
		return fmt.Errorf("review store: delete login: %w", err)
	}
	return nil
}

// PurgeExpiredLogins deletes every expired login session and returns how
// many it deleted; run it now and then (LoginSession already refuses and
// deletes expired ones it meets).
func (s *Store) PurgeExpiredLogins(ctx context.Context) (int, error) {
	if err := s.acquire(ctx); err != nil {
		return 0, err
	}
	defer s.closeMu.RUnlock()
	prefix := []byte("l/")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, fmt.Errorf("review store: purge logins: %w", err)
	}
	defer it.Close()
	now := s.now()
	b := s.db.NewBatch()
	defer b.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		var lr loginRecord
		if err := unmarshal(it.Value(), &lr); err != nil {
			return 0, err
		}
		if now.Before(lr.Expiry) {
			continue
		}
		if err := b.Delete(it.Key(), nil); err != nil {
			return 0, err
		}
		n++
	}
	if err := it.Error(); err != nil {
		return 0, fmt.Errorf("review store: purge logins: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("review store: purge logins: %w", err)
	}
	return n, nil
}

// VerifyCSRF reports whether presented is the CSRF token of l, comparing
// SHA-256 hashes in constant time. An empty token never verifies.
func VerifyCSRF(l Login, presented string) bool {
	if presented == "" || len(presented) > maxTokenLen || len(l.CSRFHash) != sha256.Size {
		return false
	}
	h := tokenHash(presented)
	return subtle.ConstantTimeCompare(h[:], l.CSRFHash) == 1
}
