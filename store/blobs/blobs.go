// Package blobs keeps each session's images and documents encrypted in a
// gocloud.dev/blob bucket: a local directory ("file:///abs/dir", the
// embedded default <data_dir>/blobs) or an S3-compatible bucket
// ("s3://bucket?region=…&endpoint=…").
//
// Every object is sealed by the session's data key in a keys.Ring (AES-256-
// GCM under a per-session key, wrapped by a per-tenant key, wrapped by the
// master key): the bucket only ever holds ciphertext, and the content type
// travels inside the sealed payload. The object's name is authenticated as
// associated data, and the ring binds tenant and session, so an object
// copied to another name, session or tenant does not open.
//
// Object keys carry no ids in the clear:
//
//	v1/<hex SHA-256(tenant), 16 bytes>/<hex SHA-256(tenant, session), 16 bytes>/<name>
//
// and names are short fixed labels ("document-front", "selfie-0") checked
// against a strict alphabet, so nothing can escape a session's prefix.
//
// Erasure is crypto-shredding: DeleteSession destroys the session's data
// key (keys.Ring.Shred) and then deletes the objects. Copies of the
// ciphertext the bucket cannot delete (S3 object versions, replicas,
// backups) stay undecryptable forever.
package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets
	_ "gocloud.dev/blob/s3blob"   // s3:// buckets
	"gocloud.dev/gcerrors"

	"github.com/openekyc/ekyc/store/keys"
)

// DefaultMaxSize is the default bound on one object's plaintext.
const DefaultMaxSize = 32 << 20

// MaxNameLen bounds object names.
const MaxNameLen = 64

// maxContentTypeLen bounds the stored content type.
const maxContentTypeLen = 255

const (
	keyVersion  = "v1/"
	uriPrefix   = "blob:///"
	storedType  = "application/octet-stream"
	sealSlack   = 1 + 12 + 16 + 2 + maxContentTypeLen // keys' sealed overhead + content type header
	aadPrefix   = "ekyc/blob/v1/"
	idHashBytes = 16
)

var (
	// ErrNotFound reports an object that does not exist.
	ErrNotFound = errors.New("blobs: not found")
	// ErrTooLarge reports an object over the size limit.
	ErrTooLarge = errors.New("blobs: object too large")
	// ErrInvalidArgument reports a bad id, name, content type or URI.
	ErrInvalidArgument = errors.New("blobs: invalid argument")
	// ErrClosed reports a call on a closed Store.
	ErrClosed = errors.New("blobs: store closed")
)

// Store is the encrypted blob store. Safe for concurrent use.
type Store struct {
	bucket  *blob.Bucket
	ring    *keys.Ring
	maxSize int

	closeMu sync.RWMutex
	closed  bool
}

type config struct {
	maxSize int
}

// Option configures Open.
type Option func(*config)

// WithMaxSize bounds the plaintext size of one object (default
// DefaultMaxSize). Put refuses larger data and Get larger objects, with
// ErrTooLarge.
func WithMaxSize(n int) Option { return func(c *config) { c.maxSize = n } }

// FileURL returns the file:// bucket URL of a local directory.
func FileURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("blobs: %w", err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// Open opens the bucket at bucketURL; ring seals and opens the objects and
// stays the caller's (Close does not close it). For a file:// URL the
// directory is created (mode 0700) and, unless the URL says otherwise,
// temporary files are written next to the objects (no_tmp_dir) and no
// metadata sidecar files are written (metadata=skip).
func Open(ctx context.Context, bucketURL string, ring *keys.Ring, opts ...Option) (*Store, error) {
	if ring == nil {
		return nil, fmt.Errorf("%w: no key ring", ErrInvalidArgument)
	}
	cfg := config{maxSize: DefaultMaxSize}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxSize <= 0 {
		return nil, fmt.Errorf("%w: max size %d", ErrInvalidArgument, cfg.maxSize)
	}
	u, err := url.Parse(bucketURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("%w: bucket URL must be file:///dir or s3://bucket", ErrInvalidArgument)
	}
	if u.Scheme == "file" {
		if u.Path == "" || u.Host != "" {
			return nil, fmt.Errorf("%w: file bucket URL must be file:///absolute/dir", ErrInvalidArgument)
		}
		if err := os.MkdirAll(filepath.FromSlash(u.Path), 0o700); err != nil {
			return nil, fmt.Errorf("blobs: create bucket directory: %w", err)
		}
		q := u.Query()
		if !q.Has("no_tmp_dir") {
			q.Set("no_tmp_dir", "true")
		}
		if !q.Has("metadata") {
			q.Set("metadata", "skip")
		}
		u.RawQuery = q.Encode()
	}
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("blobs: open bucket (%s): %w", u.Scheme, err)
	}
	return &Store{bucket: b, ring: ring, maxSize: cfg.maxSize}, nil
}

// Close closes the bucket (not the ring).
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.bucket.Close(); err != nil {
		return fmt.Errorf("blobs: close: %w", err)
	}
	return nil
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

// --- names and keys ---

func validIDs(tenant, session string) error {
	if tenant == "" || session == "" {
		return fmt.Errorf("%w: empty tenant or session id", ErrInvalidArgument)
	}
	if len(tenant) > keys.MaxIDLen || len(session) > keys.MaxIDLen {
		return fmt.Errorf("%w: id longer than %d bytes", ErrInvalidArgument, keys.MaxIDLen)
	}
	return nil
}

// ValidName reports whether name can name an object: 1 to MaxNameLen
// characters from [A-Za-z0-9._-], starting with a letter or digit, without
// "..". No separators, so a name cannot leave its session's prefix.
func ValidName(name string) bool {
	if name == "" || len(name) > MaxNameLen || strings.Contains(name, "..") {
		return false
	}
	for i, c := range []byte(name) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

func validate(tenant, session, name string) error {
	if err := validIDs(tenant, session); err != nil {
		return err
	}
	if !ValidName(name) {
		return fmt.Errorf("%w: object name must be 1-%d characters of [A-Za-z0-9._-]", ErrInvalidArgument, MaxNameLen)
	}
	return nil
}

func idHash(parts ...string) string {
	h := sha256.New()
	h.Write([]byte("ekyc-blobs-id"))
	for _, p := range parts {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:idHashBytes])
}

// sessionPrefix is the bucket prefix of a session's objects.
func sessionPrefix(tenant, session string) string {
	return keyVersion + idHash(tenant) + "/" + idHash(tenant, session) + "/"
}

// ObjectKey returns the bucket key of an object (for operators and tests
// that look at the bucket directly).
func ObjectKey(tenant, session, name string) string {
	return sessionPrefix(tenant, session) + name
}

func aad(name string) []byte { return []byte(aadPrefix + name) }

// --- operations ---

// Put stores data (sealed, with its content type) as the named object of
// the session, replacing any earlier one. It returns keys.ErrShredded for
// an erased session.
func (s *Store) Put(ctx context.Context, tenant, session, name, contentType string, data []byte) error {
	if err := validate(tenant, session, name); err != nil {
		return err
	}
	if len(contentType) > maxContentTypeLen {
		return fmt.Errorf("%w: content type longer than %d bytes", ErrInvalidArgument, maxContentTypeLen)
	}
	if len(data) > s.maxSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), s.maxSize)
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	plain := make([]byte, 0, binary.MaxVarintLen64+len(contentType)+len(data))
	plain = binary.AppendUvarint(plain, uint64(len(contentType)))
	plain = append(plain, contentType...)
	plain = append(plain, data...)
	sealed, err := s.ring.Seal(ctx, tenant, session, plain, aad(name))
	clear(plain)
	if err != nil {
		return fmt.Errorf("blobs: seal: %w", err)
	}
	if err := s.bucket.WriteAll(ctx, ObjectKey(tenant, session, name), sealed, &blob.WriterOptions{ContentType: storedType}); err != nil {
		return fmt.Errorf("blobs: write: %w", err)
	}
	return nil
}

// Get returns the named object's data and content type. It returns
// ErrNotFound when there is no such object, keys.ErrShredded when the
// session was erased, and keys.ErrCorrupt when the object does not
// authenticate (tampered, or copied from elsewhere).
func (s *Store) Get(ctx context.Context, tenant, session, name string) ([]byte, string, error) {
	if err := validate(tenant, session, name); err != nil {
		return nil, "", err
	}
	if err := s.acquire(ctx); err != nil {
		return nil, "", err
	}
	defer s.closeMu.RUnlock()
	sealed, err := s.read(ctx, ObjectKey(tenant, session, name))
	if errors.Is(err, ErrNotFound) {
		if shredded, serr := s.ring.Shredded(ctx, tenant, session); serr == nil && shredded {
			return nil, "", fmt.Errorf("blobs: %w", keys.ErrShredded)
		}
	}
	if err != nil {
		return nil, "", err
	}
	plain, err := s.ring.Open(ctx, tenant, session, sealed, aad(name))
	if err != nil {
		return nil, "", fmt.Errorf("blobs: open: %w", err)
	}
	n, w := binary.Uvarint(plain)
	if w <= 0 || n > uint64(len(plain)-w) {
		clear(plain)
		return nil, "", fmt.Errorf("blobs: %w: payload header", keys.ErrCorrupt)
	}
	contentType := string(plain[w : w+int(n)])
	return plain[w+int(n):], contentType, nil
}

// read reads a raw object, bounded by the size limit.
func (s *Store) read(ctx context.Context, key string) ([]byte, error) {
	r, err := s.bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blobs: read: %w", err)
	}
	defer r.Close()
	limit := int64(s.maxSize) + sealSlack
	if r.Size() > limit {
		return nil, fmt.Errorf("%w: stored object of %d bytes", ErrTooLarge, r.Size())
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("blobs: read: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: stored object over the limit", ErrTooLarge)
	}
	return b, nil
}

// List returns the names of the session's objects, sorted.
func (s *Store) List(ctx context.Context, tenant, session string) ([]string, error) {
	if err := validIDs(tenant, session); err != nil {
		return nil, err
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.closeMu.RUnlock()
	return s.list(ctx, sessionPrefix(tenant, session))
}

func (s *Store) list(ctx context.Context, prefix string) ([]string, error) {
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	var names []string
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("blobs: list: %w", err)
		}
		name := strings.TrimPrefix(o.Key, prefix)
		if o.IsDir || !ValidName(name) {
			continue // not ours
		}
		names = append(names, name)
	}
}

// DeleteSession erases a session: it shreds the session's data key first
// (from then on nothing of the session can be decrypted, wherever copies of
// the ciphertext are) and then deletes its objects. It is idempotent; after
// an error, calling it again finishes the job.
func (s *Store) DeleteSession(ctx context.Context, tenant, session string) error {
	if err := validIDs(tenant, session); err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.closeMu.RUnlock()
	if err := s.ring.Shred(ctx, tenant, session); err != nil {
		return fmt.Errorf("blobs: shred: %w", err)
	}
	prefix := sessionPrefix(tenant, session)
	names, err := s.list(ctx, prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if err := s.bucket.Delete(ctx, prefix+n); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			errs = append(errs, fmt.Errorf("blobs: delete %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// URI returns the reference to an object carried in a VerificationRequest:
// "blob:///" + tenant + "/" + session + "/" + name, each path-escaped.
func URI(tenant, session, name string) string {
	return uriPrefix + url.PathEscape(tenant) + "/" + url.PathEscape(session) + "/" + url.PathEscape(name)
}

// URI is the package's URI, as a method so that a *Store is a
// gateway.Blobs.
func (s *Store) URI(tenant, session, name string) string { return URI(tenant, session, name) }

// ParseURI splits a URI made by URI. It returns ErrInvalidArgument for
// anything else: another scheme, a host, a wrong number of segments, bad
// escapes, empty or oversized ids, or an invalid name.
func ParseURI(uri string) (tenant, session, name string, err error) {
	rest, ok := strings.CutPrefix(uri, uriPrefix)
	if !ok {
		return "", "", "", fmt.Errorf("%w: URI must start with %s", ErrInvalidArgument, uriPrefix)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return "", "", "", fmt.Errorf("%w: URI must be %s<tenant>/<session>/<name>", ErrInvalidArgument, uriPrefix)
	}
	var out [3]string
	for i, p := range parts {
		if out[i], err = url.PathUnescape(p); err != nil {
			return "", "", "", fmt.Errorf("%w: bad escape in URI", ErrInvalidArgument)
		}
	}
	if err := validate(out[0], out[1], out[2]); err != nil {
		return "", "", "", err
	}
	return out[0], out[1], out[2], nil
}
