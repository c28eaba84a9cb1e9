// Package apistate is the HTTP gateway's own state, on a Pebble database in a
// local directory (<data_dir>/api in a node): session drafts (a session from
// its creation until it is submitted to Kafka, and the tombstone left by its
// erasure) and idempotency records (the first response to a POST carrying an
// Idempotency-Key).
//
// Drafts hold the applicant's personal data between creation and submission.
// That part (applicant, declared document data, the client's reference) is
// sealed with the session's data key through a Sealer (store/keys.Ring:
// AES-256-GCM, a key per session), with associated data that binds it to the
// tenant and session, so a sealed value copied to another draft does not
// open, and crypto-shredding the session's key makes it unreadable. The
// rest (status, timestamps, requested checks, policy, callback URL, image
// metadata, event id) is stored in the clear: it holds no personal data.
//
// Idempotency records hold the response status and body as the gateway sent
// them; the gateway never puts personal data in a POST response. They expire
// after a TTL (default 24h): an expired record reads as not found and
// PurgeExpired deletes them.
//
// Keys: "d/" + uvarint(len(tenant)) + tenant + "/" + session for drafts,
// "i/" + uvarint(len(tenant)) + tenant + "/" + key for idempotency records:
// injective in (tenant, id), so one tenant's records can never be read
// under another's name.
//
// State changes are read-modify-write under a striped mutex per draft
// (Update), committed with pebble.Sync. The store is single-process: Pebble
// holds a lock on the directory.
package apistate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	sessionspebble "github.com/openekyc/ekyc/store/sessions/pebblestore"
)

// MaxIDLen is the longest tenant, session or idempotency key the store
// accepts, in bytes.
const MaxIDLen = 256

// DefaultIdempotencyTTL is how long an idempotency record is kept.
const DefaultIdempotencyTTL = 24 * time.Hour

var (
	// ErrNotFound reports a draft or idempotency record that does not exist
	// (or has expired).
	ErrNotFound = errors.New("apistate: not found")
	// ErrExists is returned by Create when the draft already exists.
	ErrExists = errors.New("apistate: already exists")
	// ErrInvalidArgument reports a malformed call (empty ids, nil draft).
	ErrInvalidArgument = errors.New("apistate: invalid argument")
	// ErrCorrupt reports a stored value that does not decode or open.
	ErrCorrupt = errors.New("apistate: corrupt record")
	// ErrClosed is returned by calls on a closed store.
	ErrClosed = errors.New("apistate: store closed")
)

// Sealer encrypts with the data key of one session (store/keys.Ring).
type Sealer interface {
	Seal(ctx context.Context, tenant, session string, plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, tenant, session string, sealed, aad []byte) ([]byte, error)
}

// Status is the gateway-side status of a draft.
type Status string

// Draft statuses.
const (
	// StatusCreated: accepting images, not yet submitted.
	StatusCreated Status = "created"
	// StatusSubmitted: the verification request was published to Kafka;
	// from here on the session store is the authority.
	StatusSubmitted Status = "submitted"
	// StatusErased: the session's images and personal data were erased;
	// only this tombstone (no personal data) remains.
	StatusErased Status = "erased"
)

// Image is the metadata of one uploaded image (the bytes are in the blob
// store).
type Image struct {
	// Name in the blob store: "document_front", "document_back", "selfie".
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	UploadedAt  time.Time `json:"uploaded_at"`
}

// Draft is one session as the gateway knows it.
type Draft struct {
	Tenant string
	ID     string
	Status Status

	CreatedAt   time.Time
	SubmittedAt time.Time // zero until submitted
	ErasedAt    time.Time // zero unless erased

	// Personal data, sealed at rest; nil/empty after erasure.
	Applicant *ekycv1.Applicant
	// Declared document data (type, issuing country, MRZ lines); images are
	// in Images. Sealed at rest.
	Document *ekycv1.Document
	// The client's own reference for the session. Sealed at rest.
	Reference string

	Checks      []ekycv1.CheckKind
	PolicyID    string
	CallbackURL string
	Images      []Image
	// EventID of the verification request; set on the first submit attempt
	// and reused by every retry.
	EventID string
}

// Image returns the image named name.
func (d *Draft) Image(name string) (Image, bool) {
	for _, im := range d.Images {
		if im.Name == name {
			return im, true
		}
	}
	return Image{}, false
}

// SetImage adds or replaces the image with im.Name.
func (d *Draft) SetImage(im Image) {
	for i := range d.Images {
		if d.Images[i].Name == im.Name {
			d.Images[i] = im
			return
		}
	}
	d.Images = append(d.Images, im)
}

// record is the stored value of a draft.
type record struct {
	Status      Status             `json:"status"`
	CreatedAt   time.Time          `json:"created_at"`
	SubmittedAt time.Time          `json:"submitted_at,omitzero"`
	ErasedAt    time.Time          `json:"erased_at,omitzero"`
	Checks      []ekycv1.CheckKind `json:"checks,omitempty"`
	PolicyID    string             `json:"policy_id,omitempty"`
	CallbackURL string             `json:"callback_url,omitempty"`
	Images      []Image            `json:"images,omitempty"`
	EventID     string             `json:"event_id,omitempty"`
	Sealed      []byte             `json:"sealed,omitempty"`
}

// personal is the sealed part of a draft.
type personal struct {
	Applicant []byte `json:"applicant,omitempty"` // ekycv1.Applicant, protobuf
	Document  []byte `json:"document,omitempty"`  // ekycv1.Document, protobuf
	Reference string `json:"reference,omitempty"`
}

// IdempotentResponse is the stored first response to a POST with an
// Idempotency-Key.
type IdempotentResponse struct {
	// RequestHash identifies the request (method, path, body); a retry with
	// another hash is a reuse of the key.
	RequestHash string    `json:"request_hash"`
	StatusCode  int       `json:"status_code"`
	ContentType string    `json:"content_type,omitempty"`
	Body        []byte    `json:"body,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

const (
	draftPrefix = "d/"
	idemPrefix  = "i/"
	stripes     = 64
)

// Store is the gateway state on Pebble. Safe for concurrent use.
type Store struct {
	db     *pebble.DB
	sealer Sealer
	now    func() time.Time
	ttl    time.Duration

	// closeMu: calls hold it for reading while they use db, Close for
	// writing.
	closeMu sync.RWMutex
	closed  bool

	seed  maphash.Seed
	locks [stripes]sync.Mutex
}

type config struct {
	logger     pebble.Logger
	now        func() time.Time
	ttl        time.Duration
	tunePebble []func(*pebble.Options)
}

// Option configures Open.
type Option func(*config)

// WithLogger sets Pebble's logger (default: errors only).
func WithLogger(l pebble.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the clock used for idempotency expiry.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithIdempotencyTTL sets how long idempotency records are kept (default
// 24h).
func WithIdempotencyTTL(d time.Duration) Option { return func(c *config) { c.ttl = d } }

// WithPebbleOptions lets the caller adjust Pebble's options before the
// database is opened.
func WithPebbleOptions(f func(*pebble.Options)) Option {
	return func(c *config) { c.tunePebble = append(c.tunePebble, f) }
}

// Open opens (creating it if needed) the store in dir. sealer seals the
// personal data of drafts.
func Open(dir string, sealer Sealer, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", ErrInvalidArgument)
	}
	if sealer == nil {
		return nil, fmt.Errorf("%w: no sealer", ErrInvalidArgument)
	}
	cfg := config{logger: sessionspebble.QuietLogger{}, now: time.Now, ttl: DefaultIdempotencyTTL}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.ttl <= 0 {
		return nil, fmt.Errorf("%w: idempotency TTL must be positive", ErrInvalidArgument)
	}
	cache := pebble.NewCache(8 << 20)
	defer cache.Unref()
	po := &pebble.Options{Cache: cache, Logger: cfg.logger}
	for _, f := range cfg.tunePebble {
		f(po)
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("apistate: open %s: %w", dir, err)
	}
	return &Store{db: db, sealer: sealer, now: cfg.now, ttl: cfg.ttl, seed: maphash.MakeSeed()}, nil
}

func key(prefix, tenant, id string) []byte {
	k := make([]byte, 0, len(prefix)+binary.MaxVarintLen64+len(tenant)+1+len(id))
	k = append(k, prefix...)
	k = binary.AppendUvarint(k, uint64(len(tenant)))
	k = append(k, tenant...)
	k = append(k, '/')
	return append(k, id...)
}

// DraftKey returns the Pebble key of a draft.
func DraftKey(tenant, session string) []byte { return key(draftPrefix, tenant, session) }

func idemKey(tenant, k string) []byte { return key(idemPrefix, tenant, k) }

// sealAAD binds the sealed part to its role and its draft.
func sealAAD(tenant, session string) []byte {
	return append([]byte("ekyc/apistate/draft/v1\x00"), DraftKey(tenant, session)...)
}

func validID(what, v string) error {
	if v == "" || len(v) > MaxIDLen || !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s must be 1..%d bytes of UTF-8", ErrInvalidArgument, what, MaxIDLen)
	}
	return nil
}

func validKey(tenant, id string) error {
	if err := validID("tenant", tenant); err != nil {
		return err
	}
	return validID("id", id)
}

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

func (s *Store) lock(k []byte) *sync.Mutex {
	return &s.locks[maphash.Bytes(s.seed, k)%stripes]
}

func (s *Store) encode(ctx context.Context, d *Draft) ([]byte, error) {
	r := record{Status: d.Status, CreatedAt: d.CreatedAt.UTC(), SubmittedAt: d.SubmittedAt.UTC(), ErasedAt: d.ErasedAt.UTC(),
		Checks: d.Checks, PolicyID: d.PolicyID, CallbackURL: d.CallbackURL, Images: d.Images, EventID: d.EventID}
	if d.SubmittedAt.IsZero() {
		r.SubmittedAt = time.Time{}
	}
	if d.ErasedAt.IsZero() {
		r.ErasedAt = time.Time{}
	}
	if d.Status != StatusErased && (d.Applicant != nil || d.Document != nil || d.Reference != "") {
		var p personal
		var err error
		if d.Applicant != nil {
			if p.Applicant, err = proto.Marshal(d.Applicant); err != nil {
				return nil, fmt.Errorf("apistate: encode applicant: %w", err)
			}
		}
		if d.Document != nil {
			if p.Document, err = proto.Marshal(d.Document); err != nil {
				return nil, fmt.Errorf("apistate: encode document: %w", err)
			}
		}
		p.Reference = d.Reference
		plain, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("apistate: encode personal data: %w", err)
		}
		r.Sealed, err = s.sealer.Seal(ctx, d.Tenant, d.ID, plain, sealAAD(d.Tenant, d.ID))
		clear(plain)
		clear(p.Applicant)
		clear(p.Document)
		if err != nil {
			return nil, fmt.Errorf("apistate: seal: %w", err)
		}
	}
	v, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("apistate: encode draft: %w", err)
	}
	return v, nil
}

// decode decodes a stored draft; with open false the sealed part is left
// sealed (personal fields empty).
func (s *Store) decode(ctx context.Context, tenant, id string, v []byte, open bool) (*Draft, error) {
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("%w: draft: %w", ErrCorrupt, err)
	}
	d := &Draft{Tenant: tenant, ID: id, Status: r.Status, CreatedAt: r.CreatedAt, SubmittedAt: r.SubmittedAt,
		ErasedAt: r.ErasedAt, Checks: r.Checks, PolicyID: r.PolicyID, CallbackURL: r.CallbackURL,
		Images: r.Images, EventID: r.EventID}
	if len(r.Sealed) == 0 || !open {
		return d, nil
	}
	plain, err := s.sealer.Open(ctx, tenant, id, r.Sealed, sealAAD(tenant, id))
	if err != nil {
		// Not ErrCorrupt by default: the sealer's error (a shredded key, an
		// unreachable KMS) is what the caller needs to see.
		return nil, fmt.Errorf("apistate: open personal data: %w", err)
	}
	defer clear(plain)
	var p personal
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("%w: personal data: %w", ErrCorrupt, err)
	}
	if p.Applicant != nil {
		d.Applicant = &ekycv1.Applicant{}
		if err := proto.Unmarshal(p.Applicant, d.Applicant); err != nil {
			return nil, fmt.Errorf("%w: applicant: %w", ErrCorrupt, err)
		}
	}
	if p.Document != nil {
		d.Document = &ekycv1.Document{}
		if err := proto.Unmarshal(p.Document, d.Document); err != nil {
			return nil, fmt.Errorf("%w: document: %w", ErrCorrupt, err)
		}
	}
	d.Reference = p.Reference
	return d, nil
}

// get reads a draft with s.closeMu held.
func (s *Store) get(ctx context.Context, tenant, id string) (*Draft, error) {
	return s.read(ctx, tenant, id, true)
}

func (s *Store) read(ctx context.Context, tenant, id string, open bool) (*Draft, error) {
	v, closer, err := s.db.Get(DraftKey(tenant, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("apistate: get draft: %w", err)
	}
	defer closer.Close()
	return s.decode(ctx, tenant, id, v, open)
}

// Create stores a new draft; ErrExists if one with its tenant and id exists.
func (s *Store) Create(ctx context.Context, d *Draft) error {
	if d == nil {
		return fmt.Errorf("%w: nil draft", ErrInvalidArgument)
	}
	if err := validKey(d.Tenant, d.ID); err != nil {
		return err
	}
	if d.Status == "" {
		return fmt.Errorf("%w: empty status", ErrInvalidArgument)
	}
	k := DraftKey(d.Tenant, d.ID)
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	val, err := s.encode(ctx, d)
	if err != nil {
		return err
	}
	mu := s.lock(k)
	mu.Lock()
	defer mu.Unlock()
	_, closer, err := s.db.Get(k)
	switch {
	case err == nil:
		closer.Close()
		return ErrExists
	case !errors.Is(err, pebble.ErrNotFound):
		return fmt.Errorf("apistate: create draft: %w", err)
	}
	if err := s.db.Set(k, val, pebble.Sync); err != nil {
		return fmt.Errorf("apistate: create draft: %w", err)
	}
	return nil
}

// Get returns a draft, or ErrNotFound.
func (s *Store) Get(ctx context.Context, tenant, id string) (*Draft, error) {
	if err := validKey(tenant, id); err != nil {
		return nil, err
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	return s.get(ctx, tenant, id)
}

// Meta returns a draft without opening its sealed part: Applicant,
// Document and Reference are empty. It neither needs nor touches the
// session's data key, so it is cheaper and works after the key was
// destroyed. ErrNotFound if there is none.
func (s *Store) Meta(ctx context.Context, tenant, id string) (*Draft, error) {
	if err := validKey(tenant, id); err != nil {
		return nil, err
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	return s.read(ctx, tenant, id, false)
}

// rangePage is how many drafts Range reads per iterator.
const rangePage = 256

// Range calls fn with every draft of tenant, in id order, as Meta returns
// them (the sealed part unopened: no data key is needed or touched), until
// fn returns an error (returned as is) or ctx is done. Drafts are read in
// pages and no lock is held while fn runs, so fn may call the store (Erase,
// Update); drafts written during the call may or may not be seen. A draft
// that does not decode is skipped, and Range then returns ErrCorrupt after
// it has visited all the others.
func (s *Store) Range(ctx context.Context, tenant string, fn func(*Draft) error) error {
	if err := validID("tenant", tenant); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: nil function", ErrInvalidArgument)
	}
	prefix := DraftKey(tenant, "")
	upper := append([]byte(nil), prefix...)
	upper[len(upper)-1]++ // '/' + 1: the first key after the tenant's drafts
	lower := prefix
	corrupt := 0
	for {
		page, next, bad, err := s.draftPage(ctx, tenant, prefix, lower, upper)
		if err != nil {
			return err
		}
		corrupt += bad
		for _, d := range page {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(d); err != nil {
				return err
			}
		}
		if next == nil {
			break
		}
		lower = next
	}
	if corrupt > 0 {
		return fmt.Errorf("%w: %d drafts did not decode", ErrCorrupt, corrupt)
	}
	return nil
}

// draftPage reads up to rangePage drafts in [lower, upper) and returns the
// lower bound of the next page (nil at the end) and how many drafts it
// skipped as undecodable.
func (s *Store) draftPage(ctx context.Context, tenant string, prefix, lower, upper []byte) (out []*Draft, next []byte, corrupt int, err error) {
	if err := s.acquire(ctx); err != nil {
		return nil, nil, 0, err
	}
	defer s.closeMu.RUnlock()
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("apistate: range drafts: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		if len(out)+corrupt == rangePage {
			next = append([]byte(nil), it.Key()...)
			break
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return nil, nil, 0, fmt.Errorf("apistate: range drafts: %w", err)
		}
		d, err := s.decode(ctx, tenant, string(it.Key()[len(prefix):]), v, false)
		if err != nil {
			corrupt++
			continue
		}
		out = append(out, d)
	}
	if err := it.Close(); err != nil {
		return nil, nil, 0, fmt.Errorf("apistate: range drafts: %w", err)
	}
	return out, next, corrupt, nil
}

// Update reads the draft, calls fn on it and writes the result, all under
// the draft's lock, so concurrent updates of one draft are serial. An error
// from fn is returned as it is and nothing is written. fn must not change
// Tenant or ID. It returns the draft as written.
func (s *Store) Update(ctx context.Context, tenant, id string, fn func(*Draft) error) (*Draft, error) {
	return s.update(ctx, tenant, id, true, fn)
}

// update is Update; with open false the sealed part is neither opened nor
// written back (only for erasure, which drops it).
func (s *Store) update(ctx context.Context, tenant, id string, open bool, fn func(*Draft) error) (*Draft, error) {
	if err := validKey(tenant, id); err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, fmt.Errorf("%w: nil update function", ErrInvalidArgument)
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	k := DraftKey(tenant, id)
	mu := s.lock(k)
	mu.Lock()
	defer mu.Unlock()
	d, err := s.read(ctx, tenant, id, open)
	if err != nil {
		return nil, err
	}
	if err := fn(d); err != nil {
		return nil, err
	}
	if d.Tenant != tenant || d.ID != id {
		return nil, fmt.Errorf("%w: update changed the draft's tenant or id", ErrInvalidArgument)
	}
	val, err := s.encode(ctx, d)
	if err != nil {
		return nil, err
	}
	if err := s.db.Set(k, val, pebble.Sync); err != nil {
		return nil, fmt.Errorf("apistate: update draft: %w", err)
	}
	return d, nil
}

// Erase replaces the draft by a tombstone without personal data or images:
// status erased, ErasedAt = at, creation and submission times, checks,
// policy and event id kept. Erasing an erased draft changes nothing.
// ErrNotFound if there is no draft. The sealed part is dropped unopened, so
// Erase works after the session's data key was destroyed.
func (s *Store) Erase(ctx context.Context, tenant, id string, at time.Time) (*Draft, error) {
	return s.update(ctx, tenant, id, false, func(d *Draft) error {
		if d.Status == StatusErased {
			return nil
		}
		d.Status = StatusErased
		d.ErasedAt = at.UTC()
		d.Applicant, d.Document, d.Reference = nil, nil, ""
		d.Images, d.CallbackURL = nil, ""
		return nil
	})
}

// Delete removes a draft entirely. Deleting a missing draft is not an error.
func (s *Store) Delete(ctx context.Context, tenant, id string) error {
	if err := validKey(tenant, id); err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	k := DraftKey(tenant, id)
	mu := s.lock(k)
	mu.Lock()
	defer mu.Unlock()
	if err := s.db.Delete(k, pebble.Sync); err != nil {
		return fmt.Errorf("apistate: delete draft: %w", err)
	}
	return nil
}

// LoadIdempotent returns the stored response for (tenant, key), or
// ErrNotFound when there is none or it has expired.
func (s *Store) LoadIdempotent(ctx context.Context, tenant, key string) (*IdempotentResponse, error) {
	if err := validKey(tenant, key); err != nil {
		return nil, err
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	v, closer, err := s.db.Get(idemKey(tenant, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("apistate: load idempotency record: %w", err)
	}
	defer closer.Close()
	var r IdempotentResponse
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("%w: idempotency record: %w", ErrCorrupt, err)
	}
	if !s.now().Before(r.ExpiresAt) {
		return nil, ErrNotFound
	}
	return &r, nil
}

// SaveIdempotent stores the first response for (tenant, key); CreatedAt and
// ExpiresAt are set from the store's clock and TTL. A record that exists
// and has not expired is kept (the first response wins) and ErrExists is
// returned.
func (s *Store) SaveIdempotent(ctx context.Context, tenant, key string, r IdempotentResponse) error {
	if err := validKey(tenant, key); err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	k := idemKey(tenant, key)
	mu := s.lock(k)
	mu.Lock()
	defer mu.Unlock()
	now := s.now()
	v, closer, err := s.db.Get(k)
	switch {
	case err == nil:
		var old IdempotentResponse
		uerr := json.Unmarshal(v, &old)
		closer.Close()
		if uerr == nil && now.Before(old.ExpiresAt) {
			return ErrExists
		}
	case !errors.Is(err, pebble.ErrNotFound):
		return fmt.Errorf("apistate: save idempotency record: %w", err)
	}
	r.CreatedAt = now.UTC()
	r.ExpiresAt = now.Add(s.ttl).UTC()
	val, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("apistate: encode idempotency record: %w", err)
	}
	if err := s.db.Set(k, val, pebble.Sync); err != nil {
		return fmt.Errorf("apistate: save idempotency record: %w", err)
	}
	return nil
}

// PurgeExpired deletes the expired idempotency records and returns how many
// it deleted. Run it periodically; correctness does not depend on it
// (expired records read as not found).
func (s *Store) PurgeExpired(ctx context.Context) (int, error) {
	if err := s.acquire(ctx); err != nil {
		return 0, err
	}
	defer s.closeMu.RUnlock()
	upper := []byte(idemPrefix)
	upper[len(upper)-1]++
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte(idemPrefix), UpperBound: upper})
	if err != nil {
		return 0, fmt.Errorf("apistate: purge: %w", err)
	}
	now := s.now()
	var expired [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			it.Close()
			return 0, err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return 0, fmt.Errorf("apistate: purge: %w", err)
		}
		var r IdempotentResponse
		if json.Unmarshal(v, &r) != nil || !now.Before(r.ExpiresAt) {
			expired = append(expired, append([]byte(nil), it.Key()...))
		}
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("apistate: purge: %w", err)
	}
	n := 0
	for _, k := range expired {
		mu := s.lock(k)
		mu.Lock()
		// Re-check under the lock: the key may have been saved anew.
		v, closer, err := s.db.Get(k)
		if err == nil {
			var r IdempotentResponse
			stale := json.Unmarshal(v, &r) != nil || !now.Before(r.ExpiresAt)
			closer.Close()
			if stale {
				err = s.db.Delete(k, pebble.NoSync)
				if err == nil {
					n++
				}
			}
		} else if errors.Is(err, pebble.ErrNotFound) {
			err = nil
		}
		mu.Unlock()
		if err != nil {
			return n, fmt.Errorf("apistate: purge: %w", err)
		}
	}
	return n, nil
}

// Close waits for the calls in progress and closes the database. It is
// idempotent.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("apistate: close: %w", err)
	}
	return nil
}
