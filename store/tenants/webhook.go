package tenants

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// webhookSecretPrefix starts every webhook signing secret.
const webhookSecretPrefix = "whsec_"

// webhookSecret is one signing secret.
type webhookSecret struct {
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"created_at"`
}

// webhookRecord is the sealed value under webhookKey: the current secret
// and the one it replaced, with the time the previous one stops being
// valid (zero: until retired).
type webhookRecord struct {
	Current       *webhookSecret `json:"current,omitempty"`
	Previous      *webhookSecret `json:"previous,omitempty"`
	PreviousUntil time.Time      `json:"previous_until,omitzero"`
}

// webhook reads and opens a tenant's record; the zero record when there is
// none. The caller holds closeMu.
func (s *Store) webhook(tenant string) (webhookRecord, error) {
	key := webhookKey(tenant)
	val, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return webhookRecord{}, nil
	}
	if err != nil {
		return webhookRecord{}, fmt.Errorf("tenants: webhook secrets of %q: %w", tenant, err)
	}
	defer closer.Close()
	plain, err := s.sealer.Open(val, key)
	if err != nil {
		return webhookRecord{}, fmt.Errorf("%w: webhook secrets of %q: %w", ErrCorrupt, tenant, err)
	}
	defer clear(plain)
	var r webhookRecord
	if err := json.Unmarshal(plain, &r); err != nil {
		return webhookRecord{}, fmt.Errorf("%w: webhook secrets of %q: decode", ErrCorrupt, tenant)
	}
	return r, nil
}

// putWebhook seals and writes a tenant's record. The caller holds closeMu
// and writeMu.
func (s *Store) putWebhook(tenant string, r webhookRecord) error {
	key := webhookKey(tenant)
	plain, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("tenants: encode webhook secrets: %w", err)
	}
	defer clear(plain)
	sealed, err := s.sealer.Seal(plain, key)
	if err != nil {
		return fmt.Errorf("tenants: seal webhook secrets: %w", err)
	}
	if err := s.db.Set(key, sealed, pebble.Sync); err != nil {
		return fmt.Errorf("tenants: write webhook secrets of %q: %w", tenant, err)
	}
	return nil
}

// previousValid reports whether r's previous secret is still valid at now.
func (r webhookRecord) previousValid(now time.Time) bool {
	return r.Previous != nil && (r.PreviousUntil.IsZero() || now.Before(r.PreviousUntil))
}

// RotateWebhookSecret makes a fresh signing secret the tenant's current
// one and returns it (it can be read again with WebhookSecrets: it must be,
// to sign). The current secret becomes the previous one and stays valid
// for the overlap (WithWebhookOverlap) or until RetireWebhookSecret; a
// secret rotated out before that is dropped, so at most two are valid.
func (s *Store) RotateWebhookSecret(ctx context.Context, tenant string) (string, error) {
	if err := ValidateTenantID(tenant); err != nil {
		return "", err
	}
	if s.sealer == nil {
		return "", ErrNoSealer
	}
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, err := s.tenant(tenant); err != nil {
		return "", err
	}
	r, err := s.webhook(tenant)
	if err != nil {
		return "", err
	}
	tok, err := randomToken(s.rand, secretBytes)
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	next := webhookRecord{Current: &webhookSecret{Secret: webhookSecretPrefix + tok, CreatedAt: now}}
	if r.Current != nil {
		next.Previous = r.Current
		if s.overlap > 0 {
			next.PreviousUntil = now.Add(s.overlap)
		}
	}
	if err := s.putWebhook(tenant, next); err != nil {
		return "", err
	}
	return next.Current.Secret, nil
}

// RetireWebhookSecret ends the validity of the tenant's previous webhook
// secret now; the current one is kept. Without a previous secret it does
// nothing.
func (s *Store) RetireWebhookSecret(ctx context.Context, tenant string) error {
	if err := ValidateTenantID(tenant); err != nil {
		return err
	}
	if s.sealer == nil {
		return ErrNoSealer
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, err := s.tenant(tenant); err != nil {
		return err
	}
	r, err := s.webhook(tenant)
	if err != nil {
		return err
	}
	if r.Previous == nil {
		return nil
	}
	r.Previous, r.PreviousUntil = nil, time.Time{}
	return s.putWebhook(tenant, r)
}

// WebhookSecrets returns the tenant's valid signing secrets, current
// first: none before the first rotation, two during an overlap. Sign with
// the first; receivers accept any.
func (s *Store) WebhookSecrets(ctx context.Context, tenant string) ([]string, error) {
	if err := ValidateTenantID(tenant); err != nil {
		return nil, err
	}
	if s.sealer == nil {
		return nil, ErrNoSealer
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	if _, err := s.tenant(tenant); err != nil {
		return nil, err
	}
	r, err := s.webhook(tenant)
	if err != nil {
		return nil, err
	}
	if r.Current == nil {
		return nil, nil
	}
	out := []string{r.Current.Secret}
	if r.previousValid(s.now()) {
		out = append(out, r.Previous.Secret)
	}
	return out, nil
}
