package screeningbench

import (
	"context"
	"sort"
)

// Result is one hit of a name search.
type Result struct {
	// ID names the listed entry in this package's namespace: "ofac:<ent_num>"
	// or "un:<DATAID>" (see SourceOFAC, SourceUN).
	ID    string
	Name  string
	Score float64 // the searcher's own scale; compared with its Spec.Threshold
}

// Searcher is a screening matcher under test. Search returns its best hits for
// a name, best first, without applying a threshold: the harness applies the
// threshold itself so that one pass gives recall and false-positive rate at
// every threshold. A searcher returns at most its usual top-N (watchman: 10).
type Searcher interface {
	Search(ctx context.Context, name string) ([]Result, error)
}

// Describer is implemented by searchers that can say what they loaded (list
// sizes, version); the description is printed with the report.
type Describer interface {
	Describe(ctx context.Context) (string, error)
}

// Spec registers a searcher with the comparison.
type Spec struct {
	Name string
	// Env is the variable that enables this searcher; its value is handed to
	// Open (a base URL, a path, or just "1").
	Env string
	// Threshold is the searcher's recommended match threshold: recall and FPR
	// are reported at it. ThresholdSource says where it comes from.
	Threshold       float64
	ThresholdSource string
	// Open builds the searcher. If the result implements io.Closer it is closed
	// after the run.
	Open func(ctx context.Context, cfg OpenConfig) (Searcher, error)
}

// OpenConfig is what a Spec's Open gets.
type OpenConfig struct {
	Value        string // the value of Spec.Env
	SanctionsDir string // the lists the query set was generated from (ofac/, un/)
}

// Registry lists the searchers TestCompare runs, in report order. A searcher
// runs when its Env variable is set; the test skips when none is.
//
// To add our matcher (services/screening) when it is ready, append a Spec that
// loads the same lists (OpenConfig.SanctionsDir) in process and reports hits
// with IDs "ofac:<ent_num>" / "un:<DATAID>", for example:
//
//	{
//		Name:            "ekyc services/screening",
//		Env:             "EKYC_BENCH_EKYC", // e.g. EKYC_BENCH_EKYC=1
//		Threshold:       0.0,               // its own recommended threshold
//		ThresholdSource: "services/screening/...",
//		Open:            openEKYC,          // adapter to Searcher, in a file of this package
//	},
var Registry = []Spec{
	{
		Name:            "watchman " + WatchmanVersion,
		Env:             "EKYC_BENCH_WATCHMAN",
		Threshold:       WatchmanThreshold,
		ThresholdSource: "watchman README.md and docs/usage-docker.md: /v2/search?...&minMatch=0.75",
		Open: func(_ context.Context, cfg OpenConfig) (Searcher, error) {
			return NewWatchman(cfg.Value)
		},
	},
	// services/screening: add its Spec here (see above).
}

// dedupe keeps each ID once with its best score, best first (ties by ID).
func dedupe(rs []Result) []Result {
	best := make(map[string]int, len(rs))
	out := rs[:0:0]
	for _, r := range rs {
		if i, ok := best[r.ID]; ok {
			if r.Score > out[i].Score {
				out[i] = r
			}
			continue
		}
		best[r.ID] = len(out)
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ID < out[j].ID
	})
	return out
}
