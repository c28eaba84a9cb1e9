// Package tenants stores the tenants of a node, their API keys and their
// webhook signing secrets, on an embedded Pebble database
// (<data_dir>/tenants in a node).
//
// # API keys
//
// A key is shown to its owner once, when it is created, as
//
//	ekyc_<key id>_<secret>
//
// where the key id is 16 characters of lower-case base32 (10 random bytes)
// and the secret is 52 characters of lower-case base32 (32 random bytes from
// crypto/rand). Only the key id, its metadata and a hash of the secret are
// stored. The display prefix "ekyc_<key id>" is not secret: it identifies a
// key in lists, logs and audit entries.
//
// The hash is SHA-256 over a domain tag, the key id and the secret. A fast
// hash is adequate here, unlike for passwords: the secret is 256 uniformly
// random bits, so there is no dictionary to try and a brute-force search of
// the preimage is out of reach however fast the hash is; key stretching
// (bcrypt, argon2) would only slow every request down. Binding the key id
// into the hash means a hash copied to another key's record does not make
// that key accept the secret. Authenticate finds the record by key id and
// compares hashes with crypto/subtle.ConstantTimeCompare; unknown, malformed
// and revoked keys all give the same ErrUnauthenticated, and an unknown key
// id still costs one hash and one comparison. Key ids are not secret (they
// are in the display prefix), so the lookup's timing reveals nothing of
// value; the secret is only ever compared in constant time.
//
// # Scopes
//
// A key carries scopes: read, write, admin. Admin implies write, and write
// implies read (Key.Allows).
//
// # Webhook secrets
//
// Webhook signing secrets must be readable to sign deliveries, so they are
// sealed (AES-256-GCM envelope encryption, internal/envelope) under the node
// master key, with the record's Pebble key as associated data so a sealed
// value moved to another tenant does not open. A tenant has at most two
// valid secrets: the current one and, after RotateWebhookSecret, the
// previous one, which stays valid for the overlap (WithWebhookOverlap) or
// until RetireWebhookSecret, so receivers can switch without dropping
// deliveries.
//
// # Concurrency and durability
//
// A Store is safe for concurrent use. Writes are serialised by one mutex
// (they are rare: operators create tenants and keys) and committed with
// pebble.Sync. Pebble allows one process per directory: Open returns
// ErrLocked while another process (a running node) holds it.
package tenants

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

var (
	// ErrNotFound reports an unknown tenant, or a key that is unknown or
	// belongs to another tenant.
	ErrNotFound = errors.New("tenants: not found")
	// ErrExists reports a tenant id that is already taken.
	ErrExists = errors.New("tenants: already exists")
	// ErrUnauthenticated reports an API key that is unknown, malformed or
	// revoked. It deliberately does not say which.
	ErrUnauthenticated = errors.New("tenants: unauthenticated")
	// ErrInvalid reports an invalid argument (id, name, scope, URL).
	ErrInvalid = errors.New("tenants: invalid argument")
	// ErrClosed reports a call on a closed Store.
	ErrClosed = errors.New("tenants: store closed")
	// ErrLocked reports a directory held by another process (usually a
	// running node: Pebble allows one process per directory).
	ErrLocked = errors.New("tenants: directory in use by another process")
	// ErrNoSealer reports a webhook secret operation on a Store opened
	// without WithSealer.
	ErrNoSealer = errors.New("tenants: no sealer configured for webhook secrets")
	// ErrCorrupt reports a stored record that does not decode or open.
	ErrCorrupt = errors.New("tenants: corrupt record")
)

// Scope is a permission carried by an API key.
type Scope string

// The scopes, weakest first. Each implies the ones before it.
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
	ScopeAdmin Scope = "admin"
)

// rank orders the scopes; 0 is unknown.
func (s Scope) rank() int {
	switch s {
	case ScopeRead:
		return 1
	case ScopeWrite:
		return 2
	case ScopeAdmin:
		return 3
	}
	return 0
}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s.rank() > 0 }

// ParseScopes parses a comma-separated list such as "read,write". Spaces
// around names are ignored; the result is normalised (see
// NormalizeScopes).
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		out = append(out, Scope(p))
	}
	return NormalizeScopes(out)
}

// NormalizeScopes checks that every scope is known and that there is at
// least one, and returns them without duplicates, weakest first.
func NormalizeScopes(scopes []Scope) ([]Scope, error) {
	if len(scopes) == 0 {
		return nil, fmt.Errorf("%w: at least one scope (read, write, admin) is required", ErrInvalid)
	}
	out := make([]Scope, 0, len(scopes))
	for _, s := range scopes {
		if !s.Valid() {
			return nil, fmt.Errorf("%w: unknown scope %q (want read, write or admin)", ErrInvalid, string(s))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Scope) int { return a.rank() - b.rank() })
	return out, nil
}

// Tenant is one customer of the node.
type Tenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// CreatedAt is set by CreateTenant and kept by UpdateTenant.
	CreatedAt time.Time `json:"created_at"`
	// RetentionDays is how long the tenant's session data is kept; 0
	// means the node's default.
	RetentionDays int `json:"retention_days,omitempty"`
	// WebhookURL receives the tenant's decisions; empty means none.
	WebhookURL string `json:"webhook_url,omitempty"`
}

// Key is an API key's metadata. The secret is never stored.
type Key struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	Name      string    `json:"name"`
	Scopes    []Scope   `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	// RevokedAt is zero while the key is active.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// Prefix is the non-secret start of the key ("ekyc_<id>"), for display.
	Prefix string `json:"prefix"`
}

// Active reports whether the key has not been revoked.
func (k Key) Active() bool { return k.RevokedAt.IsZero() }

// Allows reports whether the key grants scope s: admin implies write, and
// write implies read. A revoked key allows nothing.
func (k Key) Allows(s Scope) bool {
	if !k.Active() || !s.Valid() {
		return false
	}
	for _, have := range k.Scopes {
		if have.rank() >= s.rank() {
			return true
		}
	}
	return false
}

// Limits on stored fields.
const (
	MaxNameLen       = 200
	MaxRetentionDays = 36500
	maxURLLen        = 2048
)

// TenantIDPattern is the shape of tenant ids. It is the same as
// services/intake.TenantIDPattern (no '/', so grain identities
// "tenant/session" split cleanly); a test keeps the two equal.
var TenantIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidateTenantID checks the shape of a tenant id.
func ValidateTenantID(id string) error {
	if !TenantIDPattern.MatchString(id) {
		return fmt.Errorf("%w: tenant id must be 1-63 characters of a-z, 0-9, '_' and '-', starting with a letter or digit", ErrInvalid)
	}
	return nil
}

// validateName checks a display name (of a tenant or a key): 1 to
// MaxNameLen bytes of UTF-8 without control characters. The value is not
// echoed in the error.
func validateName(what, name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: %s name is empty", ErrInvalid, what)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: %s name is longer than %d bytes", ErrInvalid, what, MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: %s name is not valid UTF-8", ErrInvalid, what)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s name contains a control character", ErrInvalid, what)
		}
	}
	return nil
}

// ValidateTenant checks a tenant's fields (CreatedAt is not checked).
func ValidateTenant(t Tenant) error {
	if err := ValidateTenantID(t.ID); err != nil {
		return err
	}
	if err := validateName("tenant", t.Name); err != nil {
		return err
	}
	if t.RetentionDays < 0 || t.RetentionDays > MaxRetentionDays {
		return fmt.Errorf("%w: retention days must be between 0 and %d", ErrInvalid, MaxRetentionDays)
	}
	if t.WebhookURL != "" {
		if len(t.WebhookURL) > maxURLLen {
			return fmt.Errorf("%w: webhook URL is longer than %d bytes", ErrInvalid, maxURLLen)
		}
		u, err := url.Parse(t.WebhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: webhook URL must be an absolute http or https URL", ErrInvalid)
		}
		if u.User != nil {
			return fmt.Errorf("%w: webhook URL must not carry credentials", ErrInvalid)
		}
	}
	return nil
}
