package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/openekyc/ekyc/config"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/face"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/store/vectors"
	"github.com/openekyc/ekyc/store/vectors/hnswstore"
	"github.com/openekyc/ekyc/store/vectors/milvusstore"
)

// OpenVectors opens the configured face-embedding store (nil, nil for
// vectors.backend=none).
func OpenVectors(ctx context.Context, cfg config.Config) (vectors.Store, error) {
	switch cfg.Vectors.Backend {
	case "none":
		return nil, nil
	case "milvus":
		return milvusstore.Open(ctx, milvusstore.Config{Address: cfg.Vectors.Milvus.Address, Collection: cfg.Vectors.Milvus.Collection})
	default:
		return hnswstore.Open(ctx, cfg.Vectors.Dir)
	}
}

// dedup is 1:N face deduplication. The face check searches the selfie's
// embedding among the tenant's (and its consortium's) earlier sessions
// before anything is inserted; the session's own embedding is inserted only
// after its decision is stored (AfterDecided), so a session never finds
// itself, and a search is never influenced by sessions still in flight.
//
// The applicant id of an embedding is the session id: requests carry no
// applicant identity of their own yet (issue 8), so erasure of a session's
// data removes its embedding with DeleteSession.
type dedup struct {
	store   vectors.Store
	node    float64 // face.dedup_threshold
	tenants map[string]config.Tenant
	load    func(ctx context.Context, req *ekycv1.VerificationRequest) ([]byte, error)
	runner  face.Runner

	mu    sync.Mutex
	cache map[string]cachedEmbedding // tenant/session → selfie embedding, until inserted
}

type cachedEmbedding struct {
	v  []float32
	at time.Time
}

// maxCached bounds the embeddings kept between the check and the decision
// (2 KiB each); an evicted one is recomputed from the selfie at insert.
const maxCached = 4096

func (n *Node) startDedup(ctx context.Context) error {
	st, err := OpenVectors(ctx, n.cfg)
	if err != nil || st == nil {
		return err
	}
	n.dedup = &dedup{
		store: st, node: n.cfg.Face.DedupThreshold, tenants: n.tenants,
		load: func(ctx context.Context, req *ekycv1.VerificationRequest) ([]byte, error) {
			if len(req.GetSelfies()) == 0 {
				return nil, errors.New("no selfie")
			}
			return n.images.Load(ctx, req.GetTenantId(), req.GetSelfies()[0].GetUri())
		},
		runner: n.runner(),
		cache:  map[string]cachedEmbedding{},
	}
	n.log.Info("face deduplication enabled", "backend", n.cfg.Vectors.Backend)
	return nil
}

// enabled reports whether the tenant deduplicates faces, and its threshold.
func (d *dedup) enabled(tenant string) (bool, float64) {
	if d == nil {
		return false, 0
	}
	t := d.tenants[tenant]
	if t.Dedup.Disabled {
		return false, 0
	}
	if t.Dedup.Threshold > 0 {
		return true, t.Dedup.Threshold
	}
	return true, d.node
}

// finder searches the tenant's own and its consortium's embeddings; a match
// of the session itself (an embedding inserted before a redelivery) is not
// a duplicate.
func (d *dedup) finder(tenant, session string) face.DuplicateFinder {
	return face.DuplicateFinderFunc(func(ctx context.Context, emb []float32, minSim float64) ([]face.Duplicate, error) {
		tenants := append([]string{tenant}, d.tenants[tenant].Dedup.Consortium...)
		ms, err := d.store.Search(ctx, vectors.Query{Tenants: tenants, Vector: emb, K: 10, MinScore: float32(minSim)})
		if err != nil {
			return nil, err
		}
		var out []face.Duplicate
		for _, m := range ms {
			if m.Tenant == tenant && m.Session == session {
				continue
			}
			dup := face.Duplicate{Session: m.Session, Similarity: float64(m.Score)}
			if m.Tenant != tenant {
				dup.Tenant = m.Tenant
			}
			out = append(out, dup)
		}
		return out, nil
	})
}

func cacheKey(tenant, session string) string { return tenant + "\x00" + session }

func (d *dedup) remember(tenant, session string, emb []float32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cache) >= maxCached { // evict the oldest
		var oldK string
		var oldT time.Time
		for k, c := range d.cache {
			if oldK == "" || c.at.Before(oldT) {
				oldK, oldT = k, c.at
			}
		}
		delete(d.cache, oldK)
	}
	d.cache[cacheKey(tenant, session)] = cachedEmbedding{v: slices.Clone(emb), at: time.Now()}
}

func (d *dedup) take(tenant, session string) []float32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := cacheKey(tenant, session)
	c, ok := d.cache[k]
	if !ok {
		return nil
	}
	delete(d.cache, k)
	return c.v
}

// afterDecided inserts the session's selfie embedding once its decision is
// stored: when the tenant deduplicates and the face check measured a face.
// Insert is idempotent by (tenant, session), so a redelivered event that
// runs this again leaves one embedding.
func (d *dedup) afterDecided(ctx context.Context, st *ekycv1.SessionState) error {
	tenant, session := st.GetTenantId(), st.GetSessionId()
	if ok, _ := d.enabled(tenant); !ok || !measuredFace(st) {
		return nil
	}
	emb := d.take(tenant, session)
	if emb == nil { // evicted, or decided on another node / before a restart
		selfie, err := d.load(ctx, st.GetRequest())
		if err != nil {
			return fmt.Errorf("dedup: selfie: %w", err)
		}
		img, err := face.Decode(selfie, face.Limits{})
		if err != nil {
			return nil // the check could not decode it either
		}
		a, err := face.Analyze(ctx, d.runner, img, face.WithLiveness(false), face.WithEmbedding(true))
		if err != nil {
			return fmt.Errorf("dedup: embedding: %w", err)
		}
		f := a.Primary()
		if f == nil || len(f.Embedding) == 0 {
			return nil
		}
		emb = f.Embedding
	}
	err := d.store.Insert(ctx, vectors.Embedding{Tenant: tenant, Session: session, Applicant: session, Vector: emb})
	if errors.Is(err, vectors.ErrInvalidArgument) {
		return nil // cannot succeed on retry (ids too long, degenerate vector)
	}
	return err
}

// measuredFace: the session's face check ran and found a face in the
// selfie (the embedding is what dedup stores).
func measuredFace(st *ekycv1.SessionState) bool {
	for _, c := range st.GetChecks() {
		if c.GetKind() != ekycv1.CheckKind_CHECK_KIND_FACE {
			continue
		}
		if c.GetStatus() == ekycv1.CheckStatus_CHECK_STATUS_ERROR || c.GetStatus() == ekycv1.CheckStatus_CHECK_STATUS_UNSPECIFIED {
			return false
		}
		return !slices.Contains(c.GetReasonCodes(), reasons.FaceNotFound) && !slices.Contains(c.GetReasonCodes(), reasons.FaceImageUnreadable)
	}
	return false
}

func (d *dedup) close() error { return d.store.Close() }
