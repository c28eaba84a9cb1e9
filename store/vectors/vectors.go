// Package vectors defines the store of face embeddings used for 1:N
// deduplication: before (or after) a verification is decided, the applicant's
// face embedding is compared with every embedding already enrolled by the
// same tenant, or by the tenants of a consortium the tenant's policy allows,
// to find the same face under another identity.
//
// An Embedding is the 512-dimensional float32 output of the ArcFace model,
// keyed by tenant and session, with the applicant id it was taken for. The
// store keeps one embedding per (tenant, session): Insert replaces an
// earlier one (so a redelivered event never duplicates it). Search returns
// the K most similar embeddings of the given tenants by cosine similarity,
// above a minimum score. Tenant isolation is the store's job: a search
// never returns an embedding of a tenant that is not in its Tenants.
// DeleteApplicant (erasure of a data subject) and DeleteSession remove
// embeddings.
//
// Vectors are normalised by the store (cosine similarity does not depend
// on length); a zero vector or one with NaN or infinite components is
// rejected. Searches are approximate where the implementation uses an
// approximate index: the conformance suite checks what any implementation
// must get right (self-matches, thresholds, isolation, deletes), and
// bench/vectors measures recall.
//
// Implementations:
//   - hnswstore: embedded, our own HNSW index (store/vectors/hnsw), one
//     graph per tenant, persisted in a data directory (fsynced write-ahead
//     log plus snapshots).
//   - milvusstore: a Milvus server (or Milvus Lite, deploy/local/milvus.sh)
//     through github.com/milvus-io/milvus-sdk-go/v2.
//
// vectorstest holds the conformance suite every implementation must pass.
package vectors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Dim is the dimension of a face embedding (ArcFace).
const Dim = 512

// MaxIDLen is the longest tenant, session or applicant id the stores
// accept, in bytes.
const MaxIDLen = 1024

// MaxK is the largest number of matches one search may ask for.
const MaxK = 1000

// MaxTenants is the largest number of tenants one search may cover.
const MaxTenants = 256

var (
	// ErrInvalidArgument reports a malformed call: an empty or too long
	// id, a vector of the wrong dimension or without a direction, a bad K
	// or score threshold. Retrying the same call cannot succeed.
	ErrInvalidArgument = errors.New("vectors: invalid argument")
	// ErrUnavailable reports that the store cannot serve the call now: the
	// server is down or unreachable, or the embedded store failed to write
	// and must be reopened. The call may succeed later.
	ErrUnavailable = errors.New("vectors: store unavailable")
	// ErrCorrupt reports stored data that cannot be read (a damaged
	// snapshot or log, or one written with other parameters).
	ErrCorrupt = errors.New("vectors: corrupt data")
	// ErrClosed is returned by calls on a closed store.
	ErrClosed = errors.New("vectors: store closed")
)

// Embedding is one face embedding.
type Embedding struct {
	Tenant    string
	Session   string
	Applicant string
	// Vector has Dim components. It need not be normalised; the store
	// keeps its direction only.
	Vector []float32
}

// Query is a similarity search.
type Query struct {
	// Tenants whose embeddings are searched: the caller's tenant, and the
	// tenants of a consortium its policy allows. At least one, at most
	// MaxTenants; duplicates are ignored.
	Tenants []string
	// Vector is the probe embedding (Dim components, any length).
	Vector []float32
	// K is the largest number of matches returned, 1..MaxK.
	K int
	// MinScore is the smallest cosine similarity returned, in [-1, 1].
	MinScore float32
}

// Match is one search result.
type Match struct {
	Tenant    string
	Session   string
	Applicant string
	// Score is the cosine similarity with the query vector, in [-1, 1]
	// (up to float32 rounding).
	Score float32
}

// Store keeps face embeddings. Implementations are safe for concurrent
// use.
type Store interface {
	// Insert stores e under (e.Tenant, e.Session). It is idempotent: if
	// the session already has an embedding, it is replaced, so a
	// redelivered insert leaves exactly one. When Insert returns nil the
	// embedding is durable and visible to every later Search.
	Insert(ctx context.Context, e Embedding) error

	// Search returns at most q.K embeddings of q.Tenants with a cosine
	// similarity of at least q.MinScore, most similar first (ties by
	// tenant, then session). It never returns an embedding of another
	// tenant.
	Search(ctx context.Context, q Query) ([]Match, error)

	// DeleteApplicant removes every embedding of applicant in tenant
	// (erasure). Deleting what does not exist is not an error. When it
	// returns nil no later Search returns them.
	DeleteApplicant(ctx context.Context, tenant, applicant string) error

	// DeleteSession removes the embedding of (tenant, session), if any.
	DeleteSession(ctx context.Context, tenant, session string) error

	// Close releases the store. It is idempotent; other calls after Close
	// return ErrClosed.
	Close() error
}

// ValidateID checks a tenant, session or applicant id; what names it in
// the error.
func ValidateID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty %s", ErrInvalidArgument, what)
	case len(id) > MaxIDLen:
		return fmt.Errorf("%w: %s is %d bytes long, the limit is %d", ErrInvalidArgument, what, len(id), MaxIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidArgument, what)
	}
	return nil
}

// Normalize returns v scaled to unit length (a new slice). It fails with
// ErrInvalidArgument when v does not have Dim components, has a NaN or
// infinite component, or is zero.
func Normalize(v []float32) ([]float32, error) {
	if len(v) != Dim {
		return nil, fmt.Errorf("%w: vector has %d components, want %d", ErrInvalidArgument, len(v), Dim)
	}
	var ss float64
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%w: vector component %d is %v", ErrInvalidArgument, i, x)
		}
		ss += f * f
	}
	if ss == 0 || math.IsInf(ss, 0) {
		return nil, fmt.Errorf("%w: vector has no direction (norm² %v)", ErrInvalidArgument, ss)
	}
	inv := 1 / math.Sqrt(ss)
	out := make([]float32, Dim)
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out, nil
}

// ValidateEmbedding checks the argument of Store.Insert and returns its
// normalised vector.
func ValidateEmbedding(e Embedding) ([]float32, error) {
	if err := ValidateID("tenant id", e.Tenant); err != nil {
		return nil, err
	}
	if err := ValidateID("session id", e.Session); err != nil {
		return nil, err
	}
	if err := ValidateID("applicant id", e.Applicant); err != nil {
		return nil, err
	}
	return Normalize(e.Vector)
}

// ValidateQuery checks the argument of Store.Search. It returns the
// tenants sorted and without duplicates, and the normalised vector.
func ValidateQuery(q Query) (tenants []string, vec []float32, err error) {
	if len(q.Tenants) == 0 {
		return nil, nil, fmt.Errorf("%w: a search needs at least one tenant", ErrInvalidArgument)
	}
	for _, t := range q.Tenants {
		if err := ValidateID("tenant id", t); err != nil {
			return nil, nil, err
		}
	}
	tenants = slices.Clone(q.Tenants)
	slices.Sort(tenants)
	tenants = slices.Compact(tenants)
	if len(tenants) > MaxTenants {
		return nil, nil, fmt.Errorf("%w: %d tenants, the limit is %d", ErrInvalidArgument, len(tenants), MaxTenants)
	}
	if q.K < 1 || q.K > MaxK {
		return nil, nil, fmt.Errorf("%w: K is %d, want 1..%d", ErrInvalidArgument, q.K, MaxK)
	}
	if !(q.MinScore >= -1 && q.MinScore <= 1) { // also rejects NaN
		return nil, nil, fmt.Errorf("%w: MinScore is %v, want -1..1", ErrInvalidArgument, q.MinScore)
	}
	vec, err = Normalize(q.Vector)
	if err != nil {
		return nil, nil, err
	}
	return tenants, vec, nil
}

// ValidateKey checks the arguments of DeleteSession.
func ValidateKey(tenant, session string) error {
	if err := ValidateID("tenant id", tenant); err != nil {
		return err
	}
	return ValidateID("session id", session)
}

// ValidateApplicant checks the arguments of DeleteApplicant.
func ValidateApplicant(tenant, applicant string) error {
	if err := ValidateID("tenant id", tenant); err != nil {
		return err
	}
	return ValidateID("applicant id", applicant)
}

// SortMatches orders matches as Search returns them: by score descending,
// then tenant, then session.
func SortMatches(ms []Match) {
	slices.SortFunc(ms, func(a, b Match) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		if c := strings.Compare(a.Tenant, b.Tenant); c != 0 {
			return c
		}
		return strings.Compare(a.Session, b.Session)
	})
}
