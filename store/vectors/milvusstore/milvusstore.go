// Package milvusstore is the vectors.Store on a Milvus server (a cluster,
// Milvus Standalone, or Milvus Lite run as a server by
// deploy/local/milvus.sh), through github.com/milvus-io/milvus-sdk-go/v2.
//
// # Collection
//
// One collection (default "ekyc_face_embeddings") holds every tenant:
//
//	pk            VarChar(64)  primary key: hex SHA-256 of (tenant, session)
//	tenant_key    VarChar(32)  hex of the first 16 bytes of SHA-256(tenant)
//	applicant_key VarChar(32)  the same of (tenant, applicant)
//	tenant, session, applicant VarChar(1024)  the ids, returned by searches
//	embedding     FloatVector(512), COSINE
//
// The primary key is a function of (tenant, session), and Insert is a
// Milvus upsert, so a redelivered insert replaces the session's row instead
// of adding one. Searches filter with `tenant_key in [...]` and deletes with
// `pk in [...]` or `applicant_key == ...`: the keys are hex digests, so no
// id, whatever its characters, is ever spliced into a filter expression.
// Every returned row's tenant is checked against the query's tenants as
// well. (A partition key on tenant_key would let Milvus prune partitions
// for many-tenant deployments; Milvus Lite rejects filters on a partition
// key field, so the store does not declare one.)
//
// # Consistency
//
// Searches run at consistency level Strong (Config.Consistency changes it): a
// search sees every insert and delete acknowledged before it started, with
// no flush. Bounded or Eventually trade that for latency on a cluster; a
// caller that needs to read its own writes then must wait for the staleness
// bound.
//
// # Index
//
// AUTOINDEX by default (the server picks: HNSW on Milvus Standalone and
// clusters, FLAT on Milvus Lite, which only has FLAT, IVF_FLAT and
// AUTOINDEX); Config.Index chooses HNSW or FLAT explicitly.
//
// # Errors
//
// A server that cannot be reached (connection refused, gRPC Unavailable or
// a dial timeout) is vectors.ErrUnavailable, after Config.Retries retries.
// The status of every response is checked on both its legacy error_code and
// its code field (Milvus Lite and Milvus ≥ 2.4 fill only the latter, which
// the SDK's own calls of this version do not look at), so the store calls
// the SDK's gRPC service directly and builds requests with the SDK's entity
// package.
package milvusstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang/protobuf/proto"
	grpc_retry "github.com/grpc-ecosystem/go-grpc-middleware/retry"
	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus-sdk-go/v2/client"
	"github.com/milvus-io/milvus-sdk-go/v2/entity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/openekyc/ekyc/store/vectors"
)

// DefaultCollection is the collection name unless Config.Collection sets
// one.
const DefaultCollection = "ekyc_face_embeddings"

// Field names.
const (
	fieldPK           = "pk"
	fieldTenantKey    = "tenant_key"
	fieldApplicantKey = "applicant_key"
	fieldTenant       = "tenant"
	fieldSession      = "session"
	fieldApplicant    = "applicant"
	fieldEmbedding    = "embedding"
)

// Store is a vectors.Store on a Milvus collection.
type Store struct {
	c    client.Client
	svc  milvuspb.MilvusServiceClient
	coll string
	cfg  Config

	closeMu sync.RWMutex
	closed  bool
}

var _ vectors.Store = (*Store)(nil)

// Config configures Open. Zero values select the defaults.
type Config struct {
	// Address of the Milvus server, host:port (required).
	Address string
	// Collection name: letters, digits and underscores, starting with a
	// letter or underscore (default DefaultCollection).
	Collection string

	// Index of the embedding field when Open creates it: "AUTOINDEX"
	// (default: the server picks), "HNSW" (HNSWM, HNSWEfConstruction;
	// not in Milvus Lite) or "FLAT" (exact, brute force). An existing
	// collection keeps the index it has.
	Index string
	// HNSWM and HNSWEfConstruction build an HNSW index (defaults 16 and
	// 200); HNSWEf is its search beam width, raised to K (default 192).
	HNSWM, HNSWEfConstruction, HNSWEf int

	// Consistency of searches. The zero value is entity.ClStrong.
	Consistency entity.ConsistencyLevel

	// DialTimeout bounds the connection attempt of Open (default 10 s).
	DialTimeout time.Duration
	// Retries: how often a call that found the server unavailable is
	// retried, with backoff (60 ms, 180 ms, 540 ms, ... tripling), before
	// it fails with vectors.ErrUnavailable. Zero selects 4 (about 2.4 s,
	// which also covers gRPC's reconnection backoff after a server
	// restart), a negative value none; the SDK's own default, 6, waits
	// about 22 s.
	Retries int

	// Username and Password, if set, authenticate.
	Username, Password string
}

func (c Config) withDefaults() (Config, error) {
	if c.Address == "" {
		return c, fmt.Errorf("vectors milvusstore: %w: empty address", vectors.ErrInvalidArgument)
	}
	if c.Collection == "" {
		c.Collection = DefaultCollection
	}
	if !validName(c.Collection) {
		return c, fmt.Errorf("vectors milvusstore: %w: collection name %q", vectors.ErrInvalidArgument, c.Collection)
	}
	switch c.Index {
	case "":
		c.Index = "AUTOINDEX"
	case "AUTOINDEX", "FLAT":
	case "HNSW":
		if c.HNSWM == 0 {
			c.HNSWM = 16
		}
		if c.HNSWEfConstruction == 0 {
			c.HNSWEfConstruction = 200
		}
		if c.HNSWEf == 0 {
			c.HNSWEf = 192
		}
		if c.HNSWM < 2 || c.HNSWEfConstruction < 1 || c.HNSWEf < 1 {
			return c, fmt.Errorf("vectors milvusstore: %w: HNSW M %d, efConstruction %d, ef %d", vectors.ErrInvalidArgument, c.HNSWM, c.HNSWEfConstruction, c.HNSWEf)
		}
	default:
		return c, fmt.Errorf("vectors milvusstore: %w: index %q (want AUTOINDEX, HNSW or FLAT)", vectors.ErrInvalidArgument, c.Index)
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 10 * time.Second
	}
	switch {
	case c.Retries == 0:
		c.Retries = 4
	case c.Retries < 0:
		c.Retries = 0
	}
	return c, nil
}

// Open connects to the Milvus server at cfg.Address and makes sure the
// collection exists with the expected schema, is indexed and loaded. A
// server that cannot be reached gives vectors.ErrUnavailable; an existing
// collection with another schema, vectors.ErrInvalidArgument.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	c, err := client.NewClient(dctx, client.Config{Address: cfg.Address, Username: cfg.Username, Password: cfg.Password})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("vectors milvusstore: %w: connect %s: %w", vectors.ErrUnavailable, cfg.Address, err)
	}
	gc, ok := c.(*client.GrpcClient)
	if !ok || gc.Service == nil {
		c.Close()
		return nil, fmt.Errorf("vectors milvusstore: unexpected client type %T", c)
	}
	s := &Store{c: c, svc: gc.Service, coll: cfg.Collection, cfg: cfg}
	if err := s.ensureCollection(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Ping checks that a Milvus server answers at addr.
func Ping(ctx context.Context, addr string) error {
	c, err := client.NewClient(ctx, client.Config{Address: addr})
	if err != nil {
		return fmt.Errorf("%w: connect %s: %w", vectors.ErrUnavailable, addr, err)
	}
	defer c.Close()
	resp, err := c.(*client.GrpcClient).Service.ShowCollections(ctx, &milvuspb.ShowCollectionsRequest{}, grpc_retry.WithMax(0))
	if err := check(ctx, resp.GetStatus(), err, "list collections"); err != nil {
		return err
	}
	return nil
}

func schema(name string) *entity.Schema {
	vc := func(n string, l int64) *entity.Field {
		return entity.NewField().WithName(n).WithDataType(entity.FieldTypeVarChar).WithMaxLength(l)
	}
	return entity.NewSchema().WithName(name).WithDescription("ekyc face embeddings (store/vectors/milvusstore)").
		WithField(vc(fieldPK, 64).WithIsPrimaryKey(true)).
		WithField(vc(fieldTenantKey, 32)).
		WithField(vc(fieldApplicantKey, 32)).
		WithField(vc(fieldTenant, vectors.MaxIDLen)).
		WithField(vc(fieldSession, vectors.MaxIDLen)).
		WithField(vc(fieldApplicant, vectors.MaxIDLen)).
		WithField(entity.NewField().WithName(fieldEmbedding).WithDataType(entity.FieldTypeFloatVector).WithDim(vectors.Dim))
}

func (s *Store) ensureCollection(ctx context.Context) error {
	has, err := s.svc.HasCollection(ctx, &milvuspb.HasCollectionRequest{CollectionName: s.coll}, s.call()...)
	if err := check(ctx, has.GetStatus(), err, "has collection"); err != nil {
		return err
	}
	if !has.GetValue() {
		sb, err := proto.Marshal(schema(s.coll).ProtoMessage())
		if err != nil {
			return err
		}
		st, err := s.svc.CreateCollection(ctx, &milvuspb.CreateCollectionRequest{
			CollectionName: s.coll, Schema: sb, ShardsNum: 1,
			ConsistencyLevel: commonpb.ConsistencyLevel_Strong,
		}, s.call()...)
		if err := check(ctx, st, err, "create collection"); err != nil {
			return err
		}
	} else if err := s.checkSchema(ctx); err != nil {
		return err
	}
	if err := s.ensureIndex(ctx); err != nil {
		return err
	}
	st, err := s.svc.LoadCollection(ctx, &milvuspb.LoadCollectionRequest{CollectionName: s.coll}, s.call()...)
	if err := check(ctx, st, err, "load collection"); err != nil {
		return err
	}
	for {
		p, err := s.svc.GetLoadingProgress(ctx, &milvuspb.GetLoadingProgressRequest{CollectionName: s.coll}, s.call()...)
		if err := check(ctx, p.GetStatus(), err, "loading progress"); err != nil {
			return err
		}
		if p.GetProgress() >= 100 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkSchema verifies an existing collection's fields.
func (s *Store) checkSchema(ctx context.Context) error {
	d, err := s.svc.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: s.coll}, s.call()...)
	if err := check(ctx, d.GetStatus(), err, "describe collection"); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, f := range schema(s.coll).Fields {
		want[f.Name] = true
	}
	for _, f := range d.GetSchema().GetFields() {
		if !want[f.GetName()] {
			continue
		}
		delete(want, f.GetName())
		if f.GetName() == fieldEmbedding {
			dim := ""
			for _, kv := range f.GetTypeParams() {
				if kv.GetKey() == "dim" {
					dim = kv.GetValue()
				}
			}
			if f.GetDataType() != schemapb.DataType_FloatVector || dim != fmt.Sprint(vectors.Dim) {
				return fmt.Errorf("vectors milvusstore: %w: collection %s has field %s of type %v, dim %q", vectors.ErrInvalidArgument, s.coll, f.GetName(), f.GetDataType(), dim)
			}
		} else if f.GetDataType() != schemapb.DataType_VarChar {
			return fmt.Errorf("vectors milvusstore: %w: collection %s has field %s of type %v", vectors.ErrInvalidArgument, s.coll, f.GetName(), f.GetDataType())
		}
	}
	if len(want) > 0 {
		return fmt.Errorf("vectors milvusstore: %w: collection %s exists without fields %v", vectors.ErrInvalidArgument, s.coll, keys(want))
	}
	return nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (s *Store) ensureIndex(ctx context.Context) error {
	d, err := s.svc.DescribeIndex(ctx, &milvuspb.DescribeIndexRequest{CollectionName: s.coll, FieldName: fieldEmbedding}, s.call()...)
	if err == nil && ok(d.GetStatus()) && len(d.GetIndexDescriptions()) > 0 {
		return nil // indexed already (its kind is the one it was created with)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	params := map[string]string{"index_type": s.cfg.Index, "metric_type": string(entity.COSINE)}
	if s.cfg.Index == "HNSW" {
		b, _ := json.Marshal(map[string]string{"M": fmt.Sprint(s.cfg.HNSWM), "efConstruction": fmt.Sprint(s.cfg.HNSWEfConstruction)})
		params["params"] = string(b)
	} else {
		params["params"] = "{}"
	}
	st, err := s.svc.CreateIndex(ctx, &milvuspb.CreateIndexRequest{
		CollectionName: s.coll, FieldName: fieldEmbedding, ExtraParams: entity.MapKvPairs(params),
	}, s.call()...)
	return check(ctx, st, err, "create index")
}

// ok reports a successful status (both the legacy and the new code).
func ok(st *commonpb.Status) bool {
	return st != nil && st.GetErrorCode() == commonpb.ErrorCode_Success && st.GetCode() == 0
}

// check turns a call's outcome into an error.
func check(ctx context.Context, st *commonpb.Status, err error, what string) error {
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded:
			return fmt.Errorf("vectors milvusstore: %w: %s: %w", vectors.ErrUnavailable, what, err)
		case codes.Canceled:
			return fmt.Errorf("vectors milvusstore: %s: %w", what, context.Canceled)
		}
		return fmt.Errorf("vectors milvusstore: %s: %w", what, err)
	}
	if st == nil {
		return fmt.Errorf("vectors milvusstore: %s: no status in the response", what)
	}
	if !ok(st) {
		return fmt.Errorf("vectors milvusstore: %s: code %d/%v: %s", what, st.GetCode(), st.GetErrorCode(), st.GetReason())
	}
	return nil
}

// call returns the per-call options: the SDK's retry of unavailable
// servers, bounded by Config.Retries.
func (s *Store) call() []grpc.CallOption {
	return []grpc.CallOption{grpc_retry.WithMax(uint(s.cfg.Retries))}
}

func (s *Store) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return vectors.ErrClosed
	}
	return nil
}

func (s *Store) release() { s.closeMu.RUnlock() }

// digest is the hex SHA-256 of the length-prefixed parts.
func digest(n int, parts ...string) string {
	h := sha256.New()
	var b [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(b[:binary.PutUvarint(b[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))[:n]
}

// PK is the primary key of (tenant, session).
func PK(tenant, session string) string { return digest(64, "session", tenant, session) }

// TenantKey is the filter key of a tenant.
func TenantKey(tenant string) string { return digest(32, "tenant", tenant) }

// ApplicantKey is the filter key of (tenant, applicant).
func ApplicantKey(tenant, applicant string) string {
	return digest(32, "applicant", tenant, applicant)
}

// Insert implements vectors.Store (an upsert keyed by tenant and session).
func (s *Store) Insert(ctx context.Context, e vectors.Embedding) error {
	return s.InsertMany(ctx, []vectors.Embedding{e})
}

// InsertMany inserts embeddings in one request, each as Insert would. The
// batch must not name a (tenant, session) twice.
func (s *Store) InsertMany(ctx context.Context, es []vectors.Embedding) error {
	n := len(es)
	if n == 0 {
		return nil
	}
	pks := make([]string, n)
	tks := make([]string, n)
	aks := make([]string, n)
	ts := make([]string, n)
	ss := make([]string, n)
	as := make([]string, n)
	vs := make([][]float32, n)
	seen := make(map[string]bool, n)
	for i, e := range es {
		v, err := vectors.ValidateEmbedding(e)
		if err != nil {
			return err
		}
		pks[i], tks[i], aks[i] = PK(e.Tenant, e.Session), TenantKey(e.Tenant), ApplicantKey(e.Tenant, e.Applicant)
		if seen[pks[i]] {
			return fmt.Errorf("%w: session %q of tenant %q twice in one batch", vectors.ErrInvalidArgument, e.Session, e.Tenant)
		}
		seen[pks[i]] = true
		ts[i], ss[i], as[i], vs[i] = e.Tenant, e.Session, e.Applicant, v
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	cols := []entity.Column{
		entity.NewColumnVarChar(fieldPK, pks),
		entity.NewColumnVarChar(fieldTenantKey, tks),
		entity.NewColumnVarChar(fieldApplicantKey, aks),
		entity.NewColumnVarChar(fieldTenant, ts),
		entity.NewColumnVarChar(fieldSession, ss),
		entity.NewColumnVarChar(fieldApplicant, as),
		entity.NewColumnFloatVector(fieldEmbedding, vectors.Dim, vs),
	}
	fd := make([]*schemapb.FieldData, len(cols))
	for i, c := range cols {
		fd[i] = c.FieldData()
	}
	r, err := s.svc.Upsert(ctx, &milvuspb.UpsertRequest{CollectionName: s.coll, FieldsData: fd, NumRows: uint32(n)}, s.call()...)
	if err := check(ctx, r.GetStatus(), err, "upsert"); err != nil {
		return err
	}
	if got := r.GetUpsertCnt(); got != int64(n) {
		return fmt.Errorf("vectors milvusstore: upsert: %d of %d rows written", got, n)
	}
	return nil
}

// Search implements vectors.Store.
func (s *Store) Search(ctx context.Context, q vectors.Query) ([]vectors.Match, error) {
	tenants, vec, err := vectors.ValidateQuery(q)
	if err != nil {
		return nil, err
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	allowed := make(map[string]bool, len(tenants))
	tk := make([]string, len(tenants))
	for i, t := range tenants {
		allowed[t] = true
		tk[i] = `"` + TenantKey(t) + `"` // hex: nothing to escape
	}
	expr := fieldTenantKey + " in [" + strings.Join(tk, ",") + "]"
	sp := map[string]any{}
	if s.cfg.Index == "HNSW" {
		sp["ef"] = max(s.cfg.HNSWEf, q.K)
	}
	spb, _ := json.Marshal(sp)
	pg, err := proto.Marshal(&commonpb.PlaceholderGroup{Placeholders: []*commonpb.PlaceholderValue{{
		Tag: "$0", Type: commonpb.PlaceholderType_FloatVector, Values: [][]byte{entity.FloatVector(vec).Serialize()},
	}}})
	if err != nil {
		return nil, err
	}
	gts := client.StrongTimestamp
	cl := commonpb.ConsistencyLevel(s.cfg.Consistency)
	if cl != commonpb.ConsistencyLevel_Strong {
		gts = client.EventuallyTimestamp
	}
	resp, err := s.svc.Search(ctx, &milvuspb.SearchRequest{
		CollectionName:   s.coll,
		Dsl:              expr,
		DslType:          commonpb.DslType_BoolExprV1,
		PlaceholderGroup: pg,
		OutputFields:     []string{fieldTenant, fieldSession, fieldApplicant},
		SearchParams: entity.MapKvPairs(map[string]string{
			"anns_field":    fieldEmbedding,
			"topk":          fmt.Sprint(q.K),
			"params":        string(spb),
			"metric_type":   string(entity.COSINE),
			"round_decimal": "-1",
		}),
		Nq:                    1,
		ConsistencyLevel:      cl,
		UseDefaultConsistency: false,
		GuaranteeTimestamp:    gts,
	}, s.call()...)
	if err := check(ctx, resp.GetStatus(), err, "search"); err != nil {
		return nil, err
	}
	res := resp.GetResults()
	if res.GetNumQueries() > 1 || len(res.GetTopks()) > 1 {
		return nil, fmt.Errorf("vectors milvusstore: search: %d result sets for one query", len(res.GetTopks()))
	}
	scores := res.GetScores()
	n := len(scores)
	cols := map[string][]string{}
	for _, fd := range res.GetFieldsData() {
		cols[fd.GetFieldName()] = fd.GetScalars().GetStringData().GetData()
	}
	tcol, scol, acol := cols[fieldTenant], cols[fieldSession], cols[fieldApplicant]
	if len(tcol) != n || len(scol) != n || len(acol) != n {
		return nil, fmt.Errorf("vectors milvusstore: search: %d scores but %d/%d/%d ids", n, len(tcol), len(scol), len(acol))
	}
	out := make([]vectors.Match, 0, n)
	for i := range n {
		if !allowed[tcol[i]] {
			// Only a 128-bit digest collision could get here; never
			// return another tenant's row.
			continue
		}
		if scores[i] < q.MinScore {
			continue
		}
		out = append(out, vectors.Match{Tenant: tcol[i], Session: scol[i], Applicant: acol[i], Score: scores[i]})
	}
	vectors.SortMatches(out)
	if len(out) > q.K {
		out = out[:q.K]
	}
	return out, nil
}

// DeleteSession implements vectors.Store.
func (s *Store) DeleteSession(ctx context.Context, tenant, session string) error {
	if err := vectors.ValidateKey(tenant, session); err != nil {
		return err
	}
	return s.delete(ctx, fieldPK+` in ["`+PK(tenant, session)+`"]`)
}

// DeleteApplicant implements vectors.Store.
func (s *Store) DeleteApplicant(ctx context.Context, tenant, applicant string) error {
	if err := vectors.ValidateApplicant(tenant, applicant); err != nil {
		return err
	}
	return s.delete(ctx, fieldApplicantKey+` == "`+ApplicantKey(tenant, applicant)+`"`)
}

func (s *Store) delete(ctx context.Context, expr string) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	r, err := s.svc.Delete(ctx, &milvuspb.DeleteRequest{CollectionName: s.coll, Expr: expr}, s.call()...)
	return check(ctx, r.GetStatus(), err, "delete")
}

// Drop deletes the collection and closes the store (tests,
// decommissioning).
func (s *Store) Drop(ctx context.Context) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	st, err := s.svc.DropCollection(ctx, &milvuspb.DropCollectionRequest{CollectionName: s.coll}, s.call()...)
	s.release()
	if err := check(ctx, st, err, "drop collection"); err != nil {
		return err
	}
	return s.Close()
}

// Close implements vectors.Store.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.c.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Collection returns the collection's name.
func (s *Store) Collection() string { return s.coll }
