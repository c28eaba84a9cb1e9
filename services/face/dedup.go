package face

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/reasons"
	"github.com/openekyc/ekyc/services/signal"
)

// DefaultDuplicateThreshold is the cosine similarity at or above which the
// duplicate search flags an earlier session's face as the selfie's: the
// 1:1 match threshold (see DefaultMatchThreshold for what it rests on).
// A 1:N search compares the selfie with every stored face, so its
// false-match rate grows with the gallery: calibrate on a labelled set of
// the gallery's size before raising or lowering it.
const DefaultDuplicateThreshold = DefaultMatchThreshold

// Duplicate is an earlier session whose face matches the selfie.
type Duplicate struct {
	// Tenant is the earlier session's tenant when it is not the searching
	// tenant (a consortium search across tenants); empty for the searching
	// tenant's own sessions.
	Tenant string
	// Session is the earlier session's id.
	Session string
	// Similarity is the cosine similarity of the two embeddings (−1..1).
	Similarity float64
}

// Ref names the session as the face.dedup.session signal does: "session",
// or "tenant/session" for another tenant's session.
func (d Duplicate) Ref() string {
	if d.Tenant == "" {
		return d.Session
	}
	return d.Tenant + "/" + d.Session
}

// DuplicateFinder searches earlier sessions' faces for the selfie embedding
// (L2-normalised, EmbeddingSize values; the finder may keep or modify the
// slice it is given). It returns the best matches at or above
// minSimilarity, best first; none is not an error. An error means the
// search could not be done (store unavailable, ctx ended): the check
// returns ERROR so that the caller retries.
//
// The check only searches; inserting the new embedding is the caller's,
// after the decision (CheckDetailed hands the embedding out).
type DuplicateFinder interface {
	FindDuplicates(ctx context.Context, embedding []float32, minSimilarity float64) ([]Duplicate, error)
}

// DuplicateFinderFunc adapts a function to DuplicateFinder.
type DuplicateFinderFunc func(ctx context.Context, embedding []float32, minSimilarity float64) ([]Duplicate, error)

// FindDuplicates calls f.
func (f DuplicateFinderFunc) FindDuplicates(ctx context.Context, embedding []float32, minSimilarity float64) ([]Duplicate, error) {
	return f(ctx, embedding, minSimilarity)
}

// findDuplicates runs the configured search for embedding and returns the
// matches at or above the threshold, best first. It does not trust the
// finder on either point: matches under the threshold are dropped and the
// rest sorted (stably, so equal similarities keep the finder's order).
func findDuplicates(ctx context.Context, cfg config, embedding []float32) ([]Duplicate, error) {
	got, err := cfg.dedup.FindDuplicates(ctx, slices.Clone(embedding), cfg.dedupThreshold)
	if err != nil {
		return nil, fmt.Errorf("face: duplicate search: %w", err)
	}
	out := make([]Duplicate, 0, len(got))
	for _, d := range got {
		if d.Similarity >= cfg.dedupThreshold { // false for NaN
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b Duplicate) int { return cmp.Compare(b.Similarity, a.Similarity) })
	return out, nil
}

// dedupSignals are the duplicate search's signals for its matches (best
// first): the best similarity (0 when none), whether there is a match, how
// many, and the best match's session when there is one.
func dedupSignals(dups []Duplicate) []*ekycv1.Signal {
	var best float64
	if len(dups) > 0 {
		best = dups[0].Similarity
	}
	out := []*ekycv1.Signal{
		signal.Number(SignalDedupSimilarity, best, "cosine"),
		signal.Flag(SignalDedupMatch, len(dups) > 0),
		signal.Number(SignalDedupCount, float64(len(dups)), "count"),
	}
	if len(dups) > 0 {
		out = append(out, signal.Text(SignalDedupSession, dups[0].Ref()))
	}
	return out
}

// searchError turns a failed duplicate search into an ERROR result, as
// modelError does for a model: CHECK_TIMEOUT when ctx ended, else
// CHECK_UNAVAILABLE (the search's store is a dependency like a model
// backend, and the caller retries either).
func searchError(res *ekycv1.CheckResult, err error) *ekycv1.CheckResult {
	res.Status = ekycv1.CheckStatus_CHECK_STATUS_ERROR
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		res.ReasonCodes = []string{reasons.CheckTimeout}
	} else {
		res.ReasonCodes = []string{reasons.CheckUnavailable}
	}
	res.Error = err.Error()
	res.Score = 0
	return res
}
