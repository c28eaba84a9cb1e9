package face

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/inference"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
)

// memFinder is an in-memory DuplicateFinder: an exhaustive cosine search
// over stored embeddings. It records what it was asked.
type memFinder struct {
	entries []memEntry
	err     error
	// sloppy returns every entry, unsorted, ignoring minSimilarity (a
	// finder the check must not trust).
	sloppy bool

	calls   int
	got     []float32
	gotMin  float64
	results []Duplicate
}

type memEntry struct {
	tenant, session string
	embedding       []float32
}

func (m *memFinder) FindDuplicates(_ context.Context, e []float32, minSimilarity float64) ([]Duplicate, error) {
	m.calls++
	m.got, m.gotMin = slices.Clone(e), minSimilarity
	if m.err != nil {
		return nil, m.err
	}
	var out []Duplicate
	for _, en := range m.entries {
		s := Cosine(e, en.embedding)
		if m.sloppy || s >= minSimilarity {
			out = append(out, Duplicate{Tenant: en.tenant, Session: en.session, Similarity: s})
		}
	}
	if m.sloppy {
		slices.SortFunc(out, func(a, b Duplicate) int { return cmp.Compare(a.Similarity, b.Similarity) }) // worst first
	} else {
		slices.SortFunc(out, func(a, b Duplicate) int { return cmp.Compare(b.Similarity, a.Similarity) })
	}
	m.results = out
	return out, nil
}

// countingRunner counts the calls per model.
type countingRunner struct {
	r     Runner
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingRunner) Run(ctx context.Context, model string, in []inference.Tensor) ([]inference.Tensor, error) {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[model]++
	c.mu.Unlock()
	return c.r.Run(ctx, model, in)
}

func (c *countingRunner) count(model string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[model]
}

func dedupSignalNames(res *ekycv1.CheckResult) []string {
	var out []string
	for _, s := range res.GetSignals() {
		if strings.HasPrefix(s.GetName(), "face.dedup.") {
			out = append(out, s.GetName())
		}
	}
	return out
}

func TestWithDuplicateSearchOption(t *testing.T) {
	c := newConfig(nil)
	require.Nil(t, c.dedup)
	require.Equal(t, DefaultDuplicateThreshold, c.dedupThreshold)

	f := &memFinder{}
	c = newConfig([]Option{WithDuplicateSearch(f, 0.8)})
	require.Same(t, f, c.dedup)
	require.Equal(t, 0.8, c.dedupThreshold)
	for _, bad := range []float64{1.5, -1.01, math.NaN()} {
		c = newConfig([]Option{WithDuplicateSearch(f, bad)})
		require.Same(t, f, c.dedup)
		require.Equal(t, DefaultDuplicateThreshold, c.dedupThreshold, bad)
	}
	c = newConfig([]Option{WithDuplicateSearch(f, 0.8), WithDuplicateSearch(nil, 0.7)})
	require.Nil(t, c.dedup)
}

func TestFindDuplicatesFiltersAndSorts(t *testing.T) {
	ctx := context.Background()
	emb := []float32{0.6, 0.8}
	var got []float32
	var gotMin float64
	f := DuplicateFinderFunc(func(_ context.Context, e []float32, minSimilarity float64) ([]Duplicate, error) {
		got, gotMin = e, minSimilarity
		e[0] = 42 // the finder may modify what it is given
		return []Duplicate{
			{Session: "low", Similarity: 0.5},
			{Session: "b", Similarity: 0.8},
			{Tenant: "t2", Session: "best", Similarity: 0.95},
			{Session: "nan", Similarity: math.NaN()},
			{Session: "c", Similarity: 0.8},
			{Session: "edge", Similarity: 0.7},
		}, nil
	})
	cfg := newConfig([]Option{WithDuplicateSearch(f, 0.7)})
	dups, err := findDuplicates(ctx, cfg, emb)
	require.NoError(t, err)
	require.Equal(t, 0.7, gotMin)
	require.Equal(t, []float32{42, 0.8}, got)
	require.Equal(t, []float32{0.6, 0.8}, emb, "the check's embedding must not change")
	require.Equal(t, []Duplicate{
		{Tenant: "t2", Session: "best", Similarity: 0.95},
		{Session: "b", Similarity: 0.8},
		{Session: "c", Similarity: 0.8},
		{Session: "edge", Similarity: 0.7},
	}, dups)

	failing := DuplicateFinderFunc(func(context.Context, []float32, float64) ([]Duplicate, error) {
		return nil, inference.ErrUnavailable
	})
	_, err = findDuplicates(ctx, newConfig([]Option{WithDuplicateSearch(failing, 0.7)}), emb)
	require.ErrorIs(t, err, inference.ErrUnavailable)
	require.Contains(t, err.Error(), "duplicate search")
}

func TestDedupSignalsAndSearchError(t *testing.T) {
	sig := signals(&ekycv1.CheckResult{Signals: dedupSignals(nil)})
	require.Len(t, sig, 3)
	require.Equal(t, 0.0, sig[SignalDedupSimilarity].GetNumber())
	require.False(t, sig[SignalDedupMatch].GetFlag())
	require.Equal(t, 0.0, sig[SignalDedupCount].GetNumber())
	require.NotContains(t, sig, SignalDedupSession)

	sig = signals(&ekycv1.CheckResult{Signals: dedupSignals([]Duplicate{
		{Tenant: "bank-b", Session: "s-1", Similarity: 0.9}, {Session: "s-2", Similarity: 0.7},
	})})
	require.Len(t, sig, 4)
	require.Equal(t, 0.9, sig[SignalDedupSimilarity].GetNumber())
	require.Equal(t, "cosine", sig[SignalDedupSimilarity].GetUnit())
	require.True(t, sig[SignalDedupMatch].GetFlag())
	require.Equal(t, 2.0, sig[SignalDedupCount].GetNumber())
	require.Equal(t, "bank-b/s-1", sig[SignalDedupSession].GetText())
	require.Equal(t, "s-2", Duplicate{Session: "s-2"}.Ref())

	for err, code := range map[error]string{
		errors.New("vector store down"):               reasons.CheckUnavailable,
		fmt.Errorf("x: %w", inference.ErrUnavailable): reasons.CheckUnavailable,
		fmt.Errorf("x: %w", context.DeadlineExceeded): reasons.CheckTimeout,
		fmt.Errorf("x: %w", context.Canceled):         reasons.CheckTimeout,
	} {
		res := searchError(&ekycv1.CheckResult{Score: 1}, err)
		require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_ERROR, res.GetStatus())
		require.Equal(t, []string{code}, res.GetReasonCodes(), err.Error())
		require.Equal(t, err.Error(), res.GetError())
		require.Zero(t, res.GetScore())
	}

	info, ok := reasons.Lookup(reasons.FaceDuplicateIdentity)
	require.True(t, ok)
	require.Equal(t, "face", info.Category)
	require.Equal(t, reasons.SeverityWarning, info.Severity)
	require.Contains(t, info.Description, SignalDedupSession)
}

// noFaceRunner is a detector that finds nothing (every face score 0); any
// other model is an error.
var noFaceRunner = RunnerFunc(func(_ context.Context, model string, _ []inference.Tensor) ([]inference.Tensor, error) {
	if model != ModelDetect {
		return nil, errors.New("unexpected model " + model)
	}
	const anchors = 4420
	return []inference.Tensor{
		{Name: "scores", Shape: []int64{1, anchors, 2}, Data: make([]float32, 2*anchors)},
		{Name: "boxes", Shape: []int64{1, anchors, 4}, Data: make([]float32, 4*anchors)},
	}, nil
})

func TestCheckDuplicateSearchNeedsAFace(t *testing.T) {
	ctx := context.Background()
	f := &memFinder{entries: []memEntry{{session: "s", embedding: []float32{1, 0}}}}
	opt := WithDuplicateSearch(f, 0)

	out := CheckDetailed(ctx, noFaceRunner, []byte("garbage"), nil, opt)
	require.Equal(t, []string{reasons.FaceImageUnreadable}, out.Result.GetReasonCodes())
	require.Nil(t, out.Embedding)

	blank := image.NewRGBA(image.Rect(0, 0, 400, 300))
	fill(blank, color.RGBA{120, 130, 140, 255})
	out = CheckDetailed(ctx, noFaceRunner, encodeJPEG(t, blank), nil, opt)
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_FAIL, out.Result.GetStatus())
	require.Equal(t, []string{reasons.FaceNotFound}, out.Result.GetReasonCodes())
	require.Empty(t, dedupSignalNames(out.Result))
	require.Nil(t, out.Embedding)
	require.Empty(t, out.Duplicates)
	require.Zero(t, f.calls)
}

// Tests with the real models.

func TestModelsCheckDuplicateSearch(t *testing.T) {
	r := modelRunner(t)
	ctx := context.Background()
	obama, obama2, biden := readFace(t, "obama.jpg"), readFace(t, "obama2.jpg"), readFace(t, "biden.jpg")

	// The gallery: obama.jpg, the (smaller) Obama face of two_people.jpg
	// stored by another tenant, biden.jpg.
	eObama := analyzeFile(t, r, "obama.jpg").Primary().Embedding
	two := analyzeFile(t, r, "two_people.jpg")
	require.Len(t, two.Faces, 2)
	var eTwo []float32
	for i := range two.Faces {
		if &two.Faces[i] != two.Primary() {
			eTwo = two.Faces[i].Embedding
		}
	}
	eBiden := analyzeFile(t, r, "biden.jpg").Primary().Embedding
	eSelfie := analyzeFile(t, r, "obama2.jpg").Primary().Embedding
	gallery := []memEntry{
		{session: "s-obama", embedding: eObama},
		{tenant: "bank-b", session: "s-two", embedding: eTwo},
		{session: "s-biden", embedding: eBiden},
	}
	sObama, sTwo := Cosine(eSelfie, eObama), Cosine(eSelfie, eTwo)
	t.Logf("obama2 vs s-obama %.4f, vs bank-b/s-two %.4f, vs s-biden %.4f", sObama, sTwo, Cosine(eSelfie, eBiden))
	require.Greater(t, min(sObama, sTwo), DefaultDuplicateThreshold)
	require.Greater(t, math.Abs(sObama-sTwo), 0.002, "the two genuine pairs must be told apart for the threshold cases")
	best, second := Duplicate{Session: "s-obama", Similarity: sObama}, Duplicate{Tenant: "bank-b", Session: "s-two", Similarity: sTwo}
	if sTwo > sObama {
		best, second = second, best
	}

	// The same person's other photographs: both found, the best first,
	// CONSIDER with FACE_DUPLICATE_IDENTITY; selfie only, so the embedding
	// was computed for the search alone (once).
	f := &memFinder{entries: gallery}
	cr := &countingRunner{r: r}
	out := CheckDetailed(ctx, cr, obama2, nil, WithDuplicateSearch(f, DefaultDuplicateThreshold))
	res := out.Result
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, res.GetStatus(), res.GetReasonCodes())
	require.Equal(t, []string{reasons.FaceDuplicateIdentity}, res.GetReasonCodes())
	require.InDelta(t, 0.9, res.GetScore(), 1e-12)
	require.Equal(t, 1, f.calls)
	require.Equal(t, 1, cr.count(ModelEmbed))
	require.Equal(t, DefaultDuplicateThreshold, f.gotMin)
	require.Len(t, out.Embedding, EmbeddingSize)
	require.InDelta(t, 1, Cosine(out.Embedding, f.got), 1e-9, "handed-out embedding = searched embedding")
	require.InDelta(t, 1, Cosine(out.Embedding, eSelfie), 1e-5)
	require.Len(t, out.Duplicates, 2)
	require.Equal(t, best.Ref(), out.Duplicates[0].Ref())
	require.Equal(t, second.Ref(), out.Duplicates[1].Ref())
	require.InDelta(t, best.Similarity, out.Duplicates[0].Similarity, 1e-4)
	sig := signals(res)
	require.Equal(t, out.Duplicates[0].Similarity, sig[SignalDedupSimilarity].GetNumber())
	require.True(t, sig[SignalDedupMatch].GetFlag())
	require.Equal(t, 2.0, sig[SignalDedupCount].GetNumber())
	require.Equal(t, best.Ref(), sig[SignalDedupSession].GetText())
	require.NotContains(t, sig, SignalMatchSimilarity)
	require.True(t, proto.Equal(res, Check(ctx, r, obama2, nil, WithDuplicateSearch(&memFinder{entries: gallery}, DefaultDuplicateThreshold))))

	// Another tenant's session is named tenant/session.
	out = CheckDetailed(ctx, r, obama2, nil, WithDuplicateSearch(&memFinder{entries: gallery[1:2]}, DefaultDuplicateThreshold))
	require.Equal(t, "bank-b/s-two", signals(out.Result)[SignalDedupSession].GetText())
	require.Equal(t, []Duplicate{{Tenant: "bank-b", Session: "s-two", Similarity: out.Duplicates[0].Similarity}}, out.Duplicates)

	// A different person: searched, nothing found, PASS.
	f = &memFinder{entries: gallery[:2]}
	out = CheckDetailed(ctx, r, biden, nil, WithDuplicateSearch(f, DefaultDuplicateThreshold))
	require.Equal(t, 1, f.calls)
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, out.Result.GetStatus(), out.Result.GetReasonCodes())
	require.Empty(t, out.Result.GetReasonCodes())
	require.Empty(t, out.Duplicates)
	require.Len(t, out.Embedding, EmbeddingSize)
	sig = signals(out.Result)
	require.Equal(t, 0.0, sig[SignalDedupSimilarity].GetNumber())
	require.False(t, sig[SignalDedupMatch].GetFlag())
	require.Equal(t, 0.0, sig[SignalDedupCount].GetNumber())
	require.NotContains(t, sig, SignalDedupSession)

	// The threshold is the finder's floor and the check's: between the two
	// genuine pairs only the best is a duplicate; just over the best, none
	// is, even from a finder that returns everything.
	lo, hi := min(sObama, sTwo), max(sObama, sTwo)
	for _, c := range []struct {
		threshold float64
		sloppy    bool
		want      []string
	}{
		{lo - 0.001, false, []string{best.Ref(), second.Ref()}},
		{(lo + hi) / 2, false, []string{best.Ref()}},
		{(lo + hi) / 2, true, []string{best.Ref()}},
		{hi + 0.001, false, nil},
		{hi + 0.001, true, nil},
		{0.99, true, nil},
	} {
		f := &memFinder{entries: gallery, sloppy: c.sloppy}
		out := CheckDetailed(ctx, r, obama2, nil, WithDuplicateSearch(f, c.threshold))
		require.Equal(t, c.threshold, f.gotMin)
		var refs []string
		for _, d := range out.Duplicates {
			refs = append(refs, d.Ref())
		}
		require.Equal(t, c.want, refs, "threshold %.4f sloppy %v", c.threshold, c.sloppy)
		sig := signals(out.Result)
		require.Equal(t, len(c.want) > 0, sig[SignalDedupMatch].GetFlag())
		if len(c.want) == 0 {
			require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, out.Result.GetStatus())
			require.NotContains(t, out.Result.GetReasonCodes(), reasons.FaceDuplicateIdentity)
			require.Equal(t, 0.0, sig[SignalDedupSimilarity].GetNumber())
			require.NotContains(t, sig, SignalDedupSession)
		} else {
			require.Equal(t, []string{reasons.FaceDuplicateIdentity}, out.Result.GetReasonCodes())
			require.Equal(t, best.Ref(), sig[SignalDedupSession].GetText())
		}
	}

	// With a document image too: both the 1:1 match and the search, on one
	// selfie embedding.
	f = &memFinder{entries: gallery}
	cr = &countingRunner{r: r}
	out = CheckDetailed(ctx, cr, obama2, obama, WithDuplicateSearch(f, DefaultDuplicateThreshold))
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, out.Result.GetStatus())
	require.Equal(t, []string{reasons.FaceDuplicateIdentity}, out.Result.GetReasonCodes())
	require.Equal(t, 2, cr.count(ModelEmbed)) // selfie and portrait
	sig = signals(out.Result)
	require.True(t, sig[SignalMatchOK].GetFlag())
	require.True(t, sig[SignalDedupMatch].GetFlag())
	require.InDelta(t, 1, Cosine(out.Embedding, f.got), 1e-9)

	// A failed search is ERROR, retried by the caller; no embedding then.
	for err, code := range map[error]string{
		errors.New("vector store down"):                   reasons.CheckUnavailable,
		fmt.Errorf("query: %w", context.DeadlineExceeded): reasons.CheckTimeout,
	} {
		f := &memFinder{entries: gallery, err: err}
		out := CheckDetailed(ctx, r, obama2, obama, WithDuplicateSearch(f, DefaultDuplicateThreshold))
		require.Equal(t, 1, f.calls)
		require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_ERROR, out.Result.GetStatus())
		require.Equal(t, []string{code}, out.Result.GetReasonCodes())
		require.Contains(t, out.Result.GetError(), "duplicate search")
		require.Contains(t, out.Result.GetError(), err.Error())
		require.Zero(t, out.Result.GetScore())
		require.Nil(t, out.Embedding)
		require.Empty(t, out.Duplicates)
	}
}

func TestModelsCheckWithoutDuplicateSearch(t *testing.T) {
	r := modelRunner(t)
	ctx := context.Background()
	obama, obama2 := readFace(t, "obama.jpg"), readFace(t, "obama2.jpg")

	// Selfie only: no embedding computed, no dedup signals; Check and
	// CheckDetailed agree.
	cr := &countingRunner{r: r}
	out := CheckDetailed(ctx, cr, obama2, nil)
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, out.Result.GetStatus())
	require.Zero(t, cr.count(ModelEmbed))
	require.Nil(t, out.Embedding)
	require.Empty(t, out.Duplicates)
	require.Empty(t, dedupSignalNames(out.Result))
	require.True(t, proto.Equal(out.Result, Check(ctx, r, obama2, nil)))

	// With a document: the selfie embedding (computed for the 1:1 match) is
	// handed out, still without dedup signals or reasons.
	out = CheckDetailed(ctx, r, obama2, obama)
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, out.Result.GetStatus())
	require.Empty(t, dedupSignalNames(out.Result))
	require.Empty(t, out.Duplicates)
	require.InDelta(t, 1, Cosine(out.Embedding, analyzeFile(t, r, "obama2.jpg").Primary().Embedding), 1e-5)
	require.True(t, proto.Equal(out.Result, Check(ctx, r, obama2, obama)))
}
