package screeningbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/services/screening/lists"
)

// EKYCSpec registers our matcher (services/screening) with the comparison:
// it loads the same OFAC and UN files in process and answers with the
// harness's ids ("ofac:<ent_num>", "un:<DATAID>").
var EKYCSpec = Spec{
	Name:            "ekyc services/screening",
	Env:             "EKYC_BENCH_EKYC",
	Threshold:       screening.RecommendedThreshold,
	ThresholdSource: "services/screening.RecommendedThreshold (services/screening/README.md § Threshold)",
	Open:            openEKYC,
}

func init() { Registry = append(Registry, EKYCSpec) }

type ekycSearcher struct {
	ix *screening.Index
}

func openEKYC(ctx context.Context, cfg OpenConfig) (Searcher, error) {
	ofac, err := lists.LoadOFACDir(ctx, filepath.Join(cfg.SanctionsDir, "ofac"))
	if err != nil {
		return nil, err
	}
	un, err := lists.LoadFile(ctx, screening.SourceUN, filepath.Join(cfg.SanctionsDir, "un", "consolidated.xml"))
	if err != nil {
		return nil, err
	}
	ix, err := screening.NewIndex([]*screening.List{ofac, un})
	if err != nil {
		return nil, err
	}
	return &ekycSearcher{ix: ix}, nil
}

// Search returns the top 10 with no score floor: the harness applies the
// threshold.
func (s *ekycSearcher) Search(_ context.Context, name string) ([]Result, error) {
	res, err := s.ix.Screen(screening.Query{Name: name}, screening.WithLimit(10), screening.WithMinScore(0))
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(res.Hits))
	for _, h := range res.Hits {
		id := h.EntityID
		switch {
		case strings.HasPrefix(id, "ofac-"):
			id = "ofac:" + strings.TrimPrefix(id, "ofac-")
		case strings.HasPrefix(id, "un-"):
			id = "un:" + strings.TrimPrefix(id, "un-")
		}
		out = append(out, Result{ID: id, Name: h.MatchedName, Score: h.Score})
	}
	return dedupe(out), nil
}

func (s *ekycSearcher) Describe(context.Context) (string, error) {
	return fmt.Sprintf("%d entities, %d names, lists %v (pid %d)", s.ix.Len(), s.ix.NameCount(), s.ix.Versions(), os.Getpid()), nil
}
