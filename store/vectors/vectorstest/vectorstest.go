// Package vectorstest is the conformance suite of vectors.Store
// implementations.
//
// The suite keeps every tenant well below vectors.MaxK embeddings and
// expects a search with K = MaxK and MinScore = -1 to return all of a
// tenant's embeddings (an exhaustive or exact index does; hnswstore scans
// tenants that small, Milvus Lite's FLAT index is exact). Where an
// implementation may be approximate the suite checks recall against brute
// force rather than exact lists.
package vectorstest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/vectors"
)

// Run runs the conformance suite. newStore returns a fresh, empty store
// for each subtest; closing it is newStore's business (t.Cleanup), and the
// suite may close it first (Close must be idempotent).
func Run(t *testing.T, newStore func(t *testing.T) vectors.Store) {
	t.Run("InsertAndSearch", func(t *testing.T) { testInsertAndSearch(t, newStore(t)) })
	t.Run("ScoresAreCosine", func(t *testing.T) { testScores(t, newStore(t)) })
	t.Run("MinScore", func(t *testing.T) { testMinScore(t, newStore(t)) })
	t.Run("InsertIsIdempotent", func(t *testing.T) { testIdempotent(t, newStore(t)) })
	t.Run("TenantIsolation", func(t *testing.T) { testIsolation(t, newStore(t)) })
	t.Run("Consortium", func(t *testing.T) { testConsortium(t, newStore(t)) })
	t.Run("DeleteSession", func(t *testing.T) { testDeleteSession(t, newStore(t)) })
	t.Run("DeleteApplicant", func(t *testing.T) { testDeleteApplicant(t, newStore(t)) })
	t.Run("InvalidArguments", func(t *testing.T) { testInvalid(t, newStore(t)) })
	t.Run("ManyRecall", func(t *testing.T) { testMany(t, newStore(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	t.Run("ContextCancelled", func(t *testing.T) { testContextCancelled(t, newStore(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, newStore(t)) })
}

// Ctx returns a context for one test, cancelled at its end.
func Ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// RandomUnit returns a random unit vector of vectors.Dim components.
func RandomUnit(r *rand.Rand) []float32 {
	v := make([]float32, vectors.Dim)
	var ss float64
	for i := range v {
		f := r.NormFloat64()
		v[i] = float32(f)
		ss += f * f
	}
	inv := 1 / math.Sqrt(ss)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return v
}

// Near returns a unit vector whose cosine similarity with the unit vector
// v is cos (built from v and a random direction orthogonal to it).
func Near(r *rand.Rand, v []float32, cos float64) []float32 {
	u := RandomUnit(r)
	d := float64(dot(u, v))
	var ss float64
	for i := range u {
		u[i] -= float32(d) * v[i]
		ss += float64(u[i]) * float64(u[i])
	}
	inv := 1 / math.Sqrt(ss)
	sin := math.Sqrt(1 - cos*cos)
	out := make([]float32, len(v))
	for i := range out {
		out[i] = float32(cos*float64(v[i]) + sin*float64(u[i])*inv)
	}
	return out
}

func dot(a, b []float32) float32 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return float32(s)
}

func scaled(v []float32, k float32) []float32 {
	out := make([]float32, len(v))
	for i := range v {
		out[i] = v[i] * k
	}
	return out
}

// Emb returns an embedding.
func Emb(tenant, session, applicant string, v []float32) vectors.Embedding {
	return vectors.Embedding{Tenant: tenant, Session: session, Applicant: applicant, Vector: v}
}

// All returns every embedding of the tenants (K = MaxK, MinScore = -1).
func All(ctx context.Context, t *testing.T, s vectors.Store, tenants ...string) []vectors.Match {
	t.Helper()
	got, err := s.Search(ctx, vectors.Query{Tenants: tenants, Vector: RandomUnit(rand.New(rand.NewPCG(0, 0))), K: vectors.MaxK, MinScore: -1})
	require.NoError(t, err)
	return got
}

// Sessions returns the tenant/session keys of matches, sorted.
func Sessions(ms []vectors.Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Tenant + "|" + m.Session
	}
	slices.Sort(out)
	return out
}

func search(ctx context.Context, t *testing.T, s vectors.Store, v []float32, k int, min float32, tenants ...string) []vectors.Match {
	t.Helper()
	got, err := s.Search(ctx, vectors.Query{Tenants: tenants, Vector: v, K: k, MinScore: min})
	require.NoError(t, err)
	requireSorted(t, got)
	return got
}

func requireSorted(t *testing.T, ms []vectors.Match) {
	t.Helper()
	for i := 1; i < len(ms); i++ {
		a, b := ms[i-1], ms[i]
		require.True(t, a.Score > b.Score || (a.Score == b.Score && (a.Tenant < b.Tenant || (a.Tenant == b.Tenant && a.Session < b.Session))),
			"matches not in order at %d: %+v then %+v", i, a, b)
	}
}

func testInsertAndSearch(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	r := rand.New(rand.NewPCG(1, 1))
	require.Empty(t, search(ctx, t, s, RandomUnit(r), 5, -1, "t1"), "empty store")
	vs := make([][]float32, 5)
	for i := range vs {
		vs[i] = RandomUnit(r)
		require.NoError(t, s.Insert(ctx, Emb("t1", fmt.Sprintf("s-%d", i), fmt.Sprintf("a-%d", i%2), vs[i])))
	}
	for i, v := range vs {
		got := search(ctx, t, s, v, 3, -1, "t1")
		require.Len(t, got, 3, "K bounds the matches")
		require.Equal(t, "t1", got[0].Tenant)
		require.Equal(t, fmt.Sprintf("s-%d", i), got[0].Session)
		require.Equal(t, fmt.Sprintf("a-%d", i%2), got[0].Applicant)
		require.InDelta(t, 1, got[0].Score, 1e-4)
		for _, m := range got[1:] {
			require.InDelta(t, dot(v, vs[sessionIndex(t, m.Session)]), m.Score, 1e-4, "score of %s", m.Session)
		}
	}
	require.Len(t, All(ctx, t, s, "t1"), 5)
}

func sessionIndex(t *testing.T, session string) int {
	var i int
	_, err := fmt.Sscanf(session, "s-%d", &i)
	require.NoError(t, err)
	return i
}

func testScores(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	r := rand.New(rand.NewPCG(2, 2))
	base := RandomUnit(r)
	// Stored and probe vectors of any length: only their direction counts.
	require.NoError(t, s.Insert(ctx, Emb("t1", "same", "a", scaled(base, 7.5))))
	want := map[string]float64{"same": 1}
	for i, c := range []float64{0.9, 0.6, 0.3, 0, -0.5} {
		sess := fmt.Sprintf("cos-%d", i)
		want[sess] = c
		require.NoError(t, s.Insert(ctx, Emb("t1", sess, "a", scaled(Near(r, base, c), 0.01))))
	}
	got := search(ctx, t, s, scaled(base, 0.2), 10, -1, "t1")
	require.Len(t, got, len(want))
	for _, m := range got {
		require.InDelta(t, want[m.Session], m.Score, 1e-4, m.Session)
	}
	require.Equal(t, "same", got[0].Session)
	require.Equal(t, "cos-4", got[len(got)-1].Session, "the opposite direction comes last")
}

func testMinScore(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	r := rand.New(rand.NewPCG(3, 3))
	base := RandomUnit(r)
	for i, c := range []float64{0.95, 0.8, 0.5, 0.2} {
		require.NoError(t, s.Insert(ctx, Emb("t1", fmt.Sprintf("s-%d", i), "a", Near(r, base, c))))
	}
	sessions := func(ms []vectors.Match) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Session)
		}
		return out
	}
	require.Equal(t, []string{"s-0", "s-1"}, sessions(search(ctx, t, s, base, 10, 0.7, "t1")))
	require.Equal(t, []string{"s-0", "s-1", "s-2"}, sessions(search(ctx, t, s, base, 10, 0.5-1e-3, "t1")))
	require.Empty(t, search(ctx, t, s, base, 10, 0.99, "t1"))
	require.Equal(t, []string{"s-0"}, sessions(search(ctx, t, s, base, 1, 0.1, "t1")), "K applies after the threshold")
}

func testIdempotent(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	r := rand.New(rand.NewPCG(4, 4))
	v1, v2 := RandomUnit(r), RandomUnit(r)
	e := Emb("t1", "s-1", "a-1", v1)
	require.NoError(t, s.Insert(ctx, e))
	require.NoError(t, s.Insert(ctx, e), "a redelivery")
	require.NoError(t, s.Insert(ctx, Emb("t1", "s-1", "a-1", scaled(v1, 2))), "the same direction")
	got := All(ctx, t, s, "t1")
	require.Len(t, got, 1, "one embedding per session")

	// Inserting the session again with another vector replaces it.
	require.NoError(t, s.Insert(ctx, Emb("t1", "s-1", "a-2", v2)))
	got = search(ctx, t, s, v1, 10, -1, "t1")
	require.Len(t, got, 1)
	require.Equal(t, "a-2", got[0].Applicant)
	require.InDelta(t, dot(v1, v2), got[0].Score, 1e-4, "the old vector is gone")
	got = search(ctx, t, s, v2, 1, 0.99, "t1")
	require.Len(t, got, 1)
	require.Equal(t, "s-1", got[0].Session)
	// The old applicant no longer owns it.
	require.NoError(t, s.DeleteApplicant(ctx, "t1", "a-1"))
	require.Len(t, All(ctx, t, s, "t1"), 1)
}

// TrickyTenants are tenant ids that a naive key or filter expression would
// mix up or that would break out of a quoted string.
var TrickyTenants = []string{
	"a", "ab", "a/b", "A", "a b", `a"`, `a\`, `a\"`, `a' or '1'='1`, `" || tenant != "`, `a"] or tenant in ["b`,
	"ä", "a\x00b", "a\nb", "😀", strings.Repeat("t", vectors.MaxIDLen),
}

func testIsolation(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	r := rand.New(rand.NewPCG(5, 5))
	v := RandomUnit(r)
	// Every tenant gets the same vector and the same session and applicant
	// ids.
	for _, tn := range TrickyTenants {
		require.NoError(t, s.Insert(ctx, Emb(tn, "s-1", "a-1", v)), "%q", tn)
	}
	for _, tn := range TrickyTenants {
		got := search(ctx, t, s, v, 50, -1, tn)
		require.Len(t, got, 1, "tenant %q sees only its own", tn)
		require.Equal(t, tn, got[0].Tenant)
		require.Equal(t, "s-1", got[0].Session)
	}
	require.Empty(t, search(ctx, t, s, v, 50, -1, "b"), "a tenant without embeddings")
	require.Empty(t, search(ctx, t, s, v, 50, -1, "a\"b"))
	// Deletes are per tenant too.
	require.NoError(t, s.DeleteSession(ctx, "a", "s-1"))
	require.NoError(t, s.DeleteApplicant(ctx, `a"`, "a-1"))
	require.Empty(t, search(ctx, t, s, v, 50, -1, "a"))
	require.Empty(t, search(ctx, t, s, v, 50, -1, `a"`))
	for _, tn := range TrickyTenants[1:] {
		if tn == `a"` {
			continue
		}
		require.Len(t, search(ctx, t, s, v, 50, -1, tn), 1, "tenant %q kept its embedding", tn)
	}
}

func testConsortium(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	r := rand.New(rand.NewPCG(6, 6))
	base := RandomUnit(r)
	// Tenant b has the best matches; a and c have weaker ones.
	for i, c := range []float64{0.99, 0.98, 0.97} {
		require.NoError(t, s.Insert(ctx, Emb("b", fmt.Sprintf("b-%d", i), "x", Near(r, base, c))))
	}
	for i, c := range []float64{0.9, 0.7} {
		require.NoError(t, s.Insert(ctx, Emb("a", fmt.Sprintf("a-%d", i), "x", Near(r, base, c))))
	}
	for i, c := range []float64{0.8, 0.6} {
		require.NoError(t, s.Insert(ctx, Emb("c", fmt.Sprintf("c-%d", i), "x", Near(r, base, c))))
	}
	got := search(ctx, t, s, base, 3, -1, "a", "c")
	require.Equal(t, []string{"a|a-0", "c|c-0", "a|a-1"}, []string{got[0].Tenant + "|" + got[0].Session, got[1].Tenant + "|" + got[1].Session, got[2].Tenant + "|" + got[2].Session}, "merged by score across the allowed tenants")
	got = search(ctx, t, s, base, 10, -1, "c", "a", "a", "nobody")
	require.Len(t, got, 4, "duplicates and unknown tenants are harmless")
	for _, m := range got {
		require.NotEqual(t, "b", m.Tenant, "b is not in the consortium")
	}
	got = search(ctx, t, s, base, 4, -1, "a", "b", "c")
	require.Equal(t, []string{"b|b-0", "b|b-1", "b|b-2", "a|a-0"}, []string{got[0].Tenant + "|" + got[0].Session, got[1].Tenant + "|" + got[1].Session, got[2].Tenant + "|" + got[2].Session, got[3].Tenant + "|" + got[3].Session})
}

func testDeleteSession(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	r := rand.New(rand.NewPCG(7, 7))
	v1, v2, v3 := RandomUnit(r), RandomUnit(r), RandomUnit(r)
	require.NoError(t, s.Insert(ctx, Emb("t1", "s-1", "a-1", v1)))
	require.NoError(t, s.Insert(ctx, Emb("t1", "s-2", "a-1", v2)))
	require.NoError(t, s.Insert(ctx, Emb("t2", "s-1", "a-1", v1)))
	require.NoError(t, s.DeleteSession(ctx, "t1", "s-1"))
	require.NoError(t, s.DeleteSession(ctx, "t1", "s-1"), "deleting twice")
	require.NoError(t, s.DeleteSession(ctx, "t1", "missing"))
	require.NoError(t, s.DeleteSession(ctx, "nobody", "s-1"))
	require.Equal(t, []string{"t1|s-2"}, Sessions(All(ctx, t, s, "t1")))
	require.Equal(t, []string{"t2|s-1"}, Sessions(All(ctx, t, s, "t2")), "the same session id of another tenant stays")
	require.Empty(t, search(ctx, t, s, v1, 5, 0.99, "t1"))
	// The session can be inserted again.
	require.NoError(t, s.Insert(ctx, Emb("t1", "s-1", "a-1", v3)))
	got := search(ctx, t, s, v3, 1, 0.99, "t1")
	require.Len(t, got, 1)
	require.Equal(t, "s-1", got[0].Session)
}

func testDeleteApplicant(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	r := rand.New(rand.NewPCG(8, 8))
	for i := range 4 {
		require.NoError(t, s.Insert(ctx, Emb("t1", fmt.Sprintf("s-%d", i), "anna", RandomUnit(r))))
	}
	require.NoError(t, s.Insert(ctx, Emb("t1", "s-9", "bob", RandomUnit(r))))
	require.NoError(t, s.Insert(ctx, Emb("t2", "s-0", "anna", RandomUnit(r))))
	require.NoError(t, s.DeleteApplicant(ctx, "t1", "anna"))
	require.NoError(t, s.DeleteApplicant(ctx, "t1", "anna"), "erasing twice")
	require.NoError(t, s.DeleteApplicant(ctx, "t1", "nobody"))
	require.NoError(t, s.DeleteApplicant(ctx, "nobody", "anna"))
	require.Equal(t, []string{"t1|s-9"}, Sessions(All(ctx, t, s, "t1")))
	require.Equal(t, []string{"t2|s-0"}, Sessions(All(ctx, t, s, "t2")), "erasure is per tenant")
	// A later enrolment of the applicant is kept.
	require.NoError(t, s.Insert(ctx, Emb("t1", "s-5", "anna", RandomUnit(r))))
	require.Equal(t, []string{"t1|s-5", "t1|s-9"}, Sessions(All(ctx, t, s, "t1")))
}

func testInvalid(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	r := rand.New(rand.NewPCG(9, 9))
	v := RandomUnit(r)
	nan := slices.Clone(v)
	nan[3] = float32(math.NaN())
	inf := slices.Clone(v)
	inf[7] = float32(math.Inf(-1))
	long := strings.Repeat("x", vectors.MaxIDLen+1)
	for name, e := range map[string]vectors.Embedding{
		"empty tenant":       Emb("", "s", "a", v),
		"empty session":      Emb("t1", "", "a", v),
		"empty applicant":    Emb("t1", "s", "", v),
		"long tenant":        Emb(long, "s", "a", v),
		"long session":       Emb("t1", long, "a", v),
		"invalid utf-8":      Emb("t1", "s\xff", "a", v),
		"short vector":       Emb("t1", "s", "a", v[:128]),
		"long vector":        Emb("t1", "s", "a", append(slices.Clone(v), 0)),
		"nil vector":         Emb("t1", "s", "a", nil),
		"zero vector":        Emb("t1", "s", "a", make([]float32, vectors.Dim)),
		"NaN component":      Emb("t1", "s", "a", nan),
		"infinite component": Emb("t1", "s", "a", inf),
	} {
		require.ErrorIs(t, s.Insert(ctx, e), vectors.ErrInvalidArgument, name)
	}
	tooMany := make([]string, vectors.MaxTenants+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("t%d", i)
	}
	for name, q := range map[string]vectors.Query{
		"no tenant":      {Vector: v, K: 1},
		"empty tenant":   {Tenants: []string{"t1", ""}, Vector: v, K: 1},
		"too many":       {Tenants: tooMany, Vector: v, K: 1},
		"K 0":            {Tenants: []string{"t1"}, Vector: v, K: 0},
		"K too large":    {Tenants: []string{"t1"}, Vector: v, K: vectors.MaxK + 1},
		"MinScore 1.5":   {Tenants: []string{"t1"}, Vector: v, K: 1, MinScore: 1.5},
		"MinScore NaN":   {Tenants: []string{"t1"}, Vector: v, K: 1, MinScore: float32(math.NaN())},
		"short vector":   {Tenants: []string{"t1"}, Vector: v[:511], K: 1},
		"zero vector":    {Tenants: []string{"t1"}, Vector: make([]float32, vectors.Dim), K: 1},
		"NaN in a query": {Tenants: []string{"t1"}, Vector: nan, K: 1},
	} {
		_, err := s.Search(ctx, q)
		require.ErrorIs(t, err, vectors.ErrInvalidArgument, name)
	}
	require.ErrorIs(t, s.DeleteSession(ctx, "", "s"), vectors.ErrInvalidArgument)
	require.ErrorIs(t, s.DeleteSession(ctx, "t1", ""), vectors.ErrInvalidArgument)
	require.ErrorIs(t, s.DeleteApplicant(ctx, "t1", ""), vectors.ErrInvalidArgument)
	require.ErrorIs(t, s.DeleteApplicant(ctx, long, "a"), vectors.ErrInvalidArgument)
	require.Empty(t, All(ctx, t, s, "t1"), "nothing invalid was stored")
}

// ManyN is the number of embeddings of the recall test.
const ManyN = 600

func testMany(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	r := rand.New(rand.NewPCG(10, 10))
	// Clustered, like faces of people enrolled more than once.
	centres := make([][]float32, 30)
	for i := range centres {
		centres[i] = RandomUnit(r)
	}
	vs := make([][]float32, ManyN)
	for i := range vs {
		vs[i] = Near(r, centres[i%len(centres)], 0.7)
		require.NoError(t, s.Insert(ctx, Emb(fmt.Sprintf("t%d", i%2), fmt.Sprintf("s-%04d", i), fmt.Sprintf("a-%d", i%50), vs[i])))
	}
	for i := 0; i < ManyN; i += 7 {
		got := search(ctx, t, s, vs[i], 1, 0.5, fmt.Sprintf("t%d", i%2))
		require.Len(t, got, 1)
		require.Equal(t, fmt.Sprintf("s-%04d", i), got[0].Session, "finds itself")
		require.InDelta(t, 1, got[0].Score, 1e-4)
	}
	// Recall@10 against brute force over both tenants.
	var hits, total int
	for range 30 {
		q := Near(r, centres[r.IntN(len(centres))], 0.8)
		type hit struct {
			i int
			s float32
		}
		var exact []hit
		for i, v := range vs {
			exact = append(exact, hit{i, dot(q, v)})
		}
		slices.SortFunc(exact, func(a, b hit) int {
			if a.s > b.s {
				return -1
			}
			if a.s < b.s {
				return 1
			}
			return 0
		})
		want := map[string]bool{}
		for _, h := range exact[:10] {
			want[fmt.Sprintf("s-%04d", h.i)] = true
		}
		for _, m := range search(ctx, t, s, q, 10, -1, "t0", "t1") {
			if want[m.Session] {
				hits++
			}
		}
		total += 10
	}
	require.GreaterOrEqual(t, float64(hits)/float64(total), 0.95, "recall@10")
	require.Len(t, All(ctx, t, s, "t0", "t1"), ManyN)
}

func testConcurrent(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	const workers, each = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 11))
			for i := range each {
				v := RandomUnit(r)
				if err := s.Insert(ctx, Emb("t1", fmt.Sprintf("w%d-%d", w, i), "a", v)); err != nil {
					errs <- err
					continue
				}
				// Everyone also races on one session.
				if err := s.Insert(ctx, Emb("t1", "shared", fmt.Sprintf("w%d", w), RandomUnit(r))); err != nil {
					errs <- err
				}
				got, err := s.Search(ctx, vectors.Query{Tenants: []string{"t1"}, Vector: v, K: 1, MinScore: 0.99})
				if err != nil {
					errs <- err
				} else if len(got) != 1 || got[0].Session != fmt.Sprintf("w%d-%d", w, i) {
					errs <- fmt.Errorf("w%d-%d: own insert not found: %+v", w, i, got)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	all := All(ctx, t, s, "t1")
	require.Len(t, all, workers*each+1, "one embedding for the shared session")
	n := 0
	for _, m := range all {
		if m.Session == "shared" {
			n++
		}
	}
	require.Equal(t, 1, n)
}

func testContextCancelled(t *testing.T, s vectors.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := rand.New(rand.NewPCG(12, 12))
	v := RandomUnit(r)
	require.ErrorIs(t, s.Insert(ctx, Emb("t1", "s-1", "a", v)), context.Canceled)
	_, err := s.Search(ctx, vectors.Query{Tenants: []string{"t1"}, Vector: v, K: 1})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, s.DeleteSession(ctx, "t1", "s-1"), context.Canceled)
	require.ErrorIs(t, s.DeleteApplicant(ctx, "t1", "a"), context.Canceled)
	require.Empty(t, All(Ctx(t), t, s, "t1"))
}

func testClose(t *testing.T, s vectors.Store) {
	ctx := Ctx(t)
	r := rand.New(rand.NewPCG(13, 13))
	v := RandomUnit(r)
	require.NoError(t, s.Insert(ctx, Emb("t1", "s-1", "a", v)))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	require.ErrorIs(t, s.Insert(ctx, Emb("t1", "s-2", "a", v)), vectors.ErrClosed)
	_, err := s.Search(ctx, vectors.Query{Tenants: []string{"t1"}, Vector: v, K: 1})
	require.ErrorIs(t, err, vectors.ErrClosed)
	require.ErrorIs(t, s.DeleteSession(ctx, "t1", "s-1"), vectors.ErrClosed)
	require.ErrorIs(t, s.DeleteApplicant(ctx, "t1", "a"), vectors.ErrClosed)
}
