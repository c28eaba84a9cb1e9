package milvusstore_test

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/vectors"
	"github.com/openekyc/ekyc/store/vectors/milvusstore"
	"github.com/openekyc/ekyc/store/vectors/vectorstest"
)

// Tests against a Milvus server: EKYC_TEST_MILVUS=host:port.
// deploy/local/milvus.sh start runs Milvus Lite on 127.0.0.1:29530. Each
// test uses its own collection, dropped at the end.
const envMilvus = "EKYC_TEST_MILVUS"

func addr(t *testing.T) string {
	t.Helper()
	a := os.Getenv(envMilvus)
	if a == "" {
		t.Skip("EKYC_TEST_MILVUS not set: no Milvus server to test against; run `deploy/local/milvus.sh start` and export EKYC_TEST_MILVUS=127.0.0.1:29530")
	}
	return a
}

func collectionName(t *testing.T) string {
	b := make([]byte, 6)
	_, err := crand.Read(b)
	require.NoError(t, err)
	return "ekyc_test_" + hex.EncodeToString(b)
}

func open(t *testing.T) *milvusstore.Store { return openIndex(t, "") }

func openIndex(t *testing.T, index string) *milvusstore.Store {
	t.Helper()
	a := addr(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := milvusstore.Open(ctx, milvusstore.Config{Address: a, Collection: collectionName(t), Index: index})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Drop through a second handle: the test may have closed s.
		name := s.Collection()
		d, err := milvusstore.Open(ctx, milvusstore.Config{Address: a, Collection: name})
		if err == nil {
			err = d.Drop(ctx)
		}
		if err != nil {
			t.Logf("drop collection %s: %v", name, err)
		}
		_ = s.Close()
	})
	return s
}

func TestConformance(t *testing.T) {
	addr(t)
	vectorstest.Run(t, func(t *testing.T) vectors.Store { return open(t) })
}

func TestConformanceFlat(t *testing.T) {
	addr(t)
	vectorstest.Run(t, func(t *testing.T) vectors.Store { return openIndex(t, "FLAT") })
}

// TestHNSWIndex: a Milvus server with HNSW passes the suite; Milvus Lite
// has no HNSW and must say so at Open (not fail later or silently).
func TestHNSWIndex(t *testing.T) {
	a := addr(t)
	ctx := vectorstest.Ctx(t)
	name := collectionName(t)
	s, err := milvusstore.Open(ctx, milvusstore.Config{Address: a, Collection: name, Index: "HNSW"})
	if err != nil {
		require.ErrorContains(t, err, "HNSW", "Milvus Lite refuses the index type")
		require.NoError(t, milvusstore.DropTestCollection(ctx, a, name))
		t.Logf("the server has no HNSW (Milvus Lite): %v", err)
		return
	}
	require.NoError(t, s.Drop(ctx))
	vectorstest.Run(t, func(t *testing.T) vectors.Store { return openIndex(t, "HNSW") })
}

func TestReopenKeepsData(t *testing.T) {
	s := open(t)
	ctx := vectorstest.Ctx(t)
	r := rand.New(rand.NewPCG(1, 1))
	v := vectorstest.RandomUnit(r)
	require.NoError(t, s.Insert(ctx, vectorstest.Emb("t1", "s-1", "a-1", v)))
	require.NoError(t, s.Close())
	s2, err := milvusstore.Open(ctx, milvusstore.Config{Address: addr(t), Collection: s.Collection()})
	require.NoError(t, err)
	defer s2.Close()
	got, err := s2.Search(ctx, vectors.Query{Tenants: []string{"t1"}, Vector: v, K: 1, MinScore: 0.99})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "a-1", got[0].Applicant)
}

func TestInsertMany(t *testing.T) {
	s := open(t)
	ctx := vectorstest.Ctx(t)
	r := rand.New(rand.NewPCG(2, 2))
	var es []vectors.Embedding
	for i := range 300 {
		es = append(es, vectorstest.Emb("t1", "s-"+hex.EncodeToString([]byte{byte(i), byte(i >> 8)}), "a", vectorstest.RandomUnit(r)))
	}
	require.NoError(t, s.InsertMany(ctx, es))
	require.Len(t, vectorstest.All(ctx, t, s, "t1"), 300)
	err := s.InsertMany(ctx, []vectors.Embedding{es[0], es[0]})
	require.ErrorIs(t, err, vectors.ErrInvalidArgument, "a session twice in one batch")
	bad := es[1]
	bad.Vector = bad.Vector[:10]
	require.ErrorIs(t, s.InsertMany(ctx, []vectors.Embedding{es[2], bad}), vectors.ErrInvalidArgument)
}

func TestExistingCollectionWithAnotherSchema(t *testing.T) {
	s := open(t)
	ctx := vectorstest.Ctx(t)
	// The test's collection exists; opening it with the expected schema
	// works, and a collection of another shape is refused.
	s2, err := milvusstore.Open(ctx, milvusstore.Config{Address: addr(t), Collection: s.Collection()})
	require.NoError(t, err)
	require.NoError(t, s2.Close())
	other := collectionName(t)
	require.NoError(t, milvusstore.CreateTestCollection(ctx, addr(t), other, 128))
	defer func() {
		if err := milvusstore.DropTestCollection(context.Background(), addr(t), other); err != nil {
			t.Logf("drop %s: %v", other, err)
		}
	}()
	_, err = milvusstore.Open(ctx, milvusstore.Config{Address: addr(t), Collection: other})
	require.ErrorIs(t, err, vectors.ErrInvalidArgument)
}

// proxy forwards TCP connections from a loopback port to target until
// stopped; stopping closes the listener and every connection, as a server
// that went down would.
type proxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

func startProxy(t *testing.T, addr, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	p := &proxy{l: l, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) stop() {
	p.l.Close()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestServerGoesDown: calls fail with ErrUnavailable while the server
// cannot be reached and work again when it is back.
func TestServerGoesDown(t *testing.T) {
	target := addr(t)
	p := startProxy(t, "127.0.0.1:0", target)
	front := p.l.Addr().String()
	ctx := vectorstest.Ctx(t)
	name := collectionName(t)
	s, err := milvusstore.Open(ctx, milvusstore.Config{Address: front, Collection: name})
	require.NoError(t, err)
	defer func() {
		d, err := milvusstore.Open(context.Background(), milvusstore.Config{Address: target, Collection: name})
		if err == nil {
			err = d.Drop(context.Background())
		}
		if err != nil {
			t.Logf("drop %s: %v", name, err)
		}
	}()
	defer s.Close()
	r := rand.New(rand.NewPCG(3, 3))
	v := vectorstest.RandomUnit(r)
	require.NoError(t, s.Insert(ctx, vectorstest.Emb("t1", "s-1", "a", v)))

	p.stop()
	require.ErrorIs(t, s.Insert(ctx, vectorstest.Emb("t1", "s-2", "a", v)), vectors.ErrUnavailable)
	_, err = s.Search(ctx, vectors.Query{Tenants: []string{"t1"}, Vector: v, K: 1})
	require.ErrorIs(t, err, vectors.ErrUnavailable)
	require.ErrorIs(t, s.DeleteSession(ctx, "t1", "s-1"), vectors.ErrUnavailable)

	startProxy(t, front, target)
	var got []vectors.Match
	// gRPC reconnects with backoff (up to 3 s between attempts): a call
	// may still find the connection down for a moment.
	for attempt := 0; ; attempt++ {
		got, err = s.Search(ctx, vectors.Query{Tenants: []string{"t1"}, Vector: v, K: 5, MinScore: -1})
		if err == nil || attempt == 10 {
			break
		}
		require.ErrorIs(t, err, vectors.ErrUnavailable)
	}
	require.NoError(t, err)
	require.Equal(t, []string{"t1|s-1"}, vectorstest.Sessions(got), "the failed insert and delete did nothing")
}

// TestServerDown needs no server: nothing listens on the port.
func TestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a := l.Addr().String()
	require.NoError(t, l.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = milvusstore.Open(ctx, milvusstore.Config{Address: a, DialTimeout: time.Second})
	require.ErrorIs(t, err, vectors.ErrUnavailable)
	pctx, pcancel := context.WithTimeout(ctx, time.Second)
	defer pcancel()
	require.ErrorIs(t, milvusstore.Ping(pctx, a), vectors.ErrUnavailable)
}

func TestOpenArguments(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]milvusstore.Config{
		"no address":    {},
		"bad name":      {Address: "127.0.0.1:1", Collection: "bad-name"},
		"digit first":   {Address: "127.0.0.1:1", Collection: "1abc"},
		"unknown index": {Address: "127.0.0.1:1", Index: "DISKANN"},
		"bad HNSW":      {Address: "127.0.0.1:1", Index: "HNSW", HNSWM: 1},
	} {
		_, err := milvusstore.Open(ctx, cfg)
		require.ErrorIs(t, err, vectors.ErrInvalidArgument, name)
	}
}

func TestKeysAreDigests(t *testing.T) {
	// Distinct (tenant, session) pairs that concatenate alike get
	// distinct keys; keys are hex only.
	require.NotEqual(t, milvusstore.PK("a", "b/c"), milvusstore.PK("a/b", "c"))
	require.NotEqual(t, milvusstore.PK("ab", "c"), milvusstore.PK("a", "bc"))
	require.NotEqual(t, milvusstore.TenantKey("a"), milvusstore.TenantKey("b"))
	require.NotEqual(t, milvusstore.ApplicantKey("a", "x"), milvusstore.ApplicantKey("b", "x"))
	for _, k := range []string{milvusstore.PK(`a"`, `"]`), milvusstore.TenantKey(`" || 1`), milvusstore.ApplicantKey("\x00", "\n")} {
		_, err := hex.DecodeString(k)
		require.NoError(t, err, k)
	}
	require.Len(t, milvusstore.PK("t", "s"), 64)
	require.Len(t, milvusstore.TenantKey("t"), 32)
}
