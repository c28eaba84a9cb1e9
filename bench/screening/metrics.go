package screeningbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Run is the measurement of one searcher over one query set.
type Run struct {
	Name            string
	Threshold       float64
	ThresholdSource string
	Description     string // from Describer, if any

	Queries []Query
	Results [][]Result // per query, from the single-threaded pass
	Errs    []error    // per query, from the single-threaded pass
	// ParallelErrors counts the errors of the parallel pass.
	ParallelErrors int

	Serial      Timing
	Parallel    Timing
	Parallelism int
	// Load is the 1-minute load average of the machine before and after the
	// passes (Linux /proc/loadavg): other work on the machine skews timings.
	Load string
}

// Timing is one pass over all queries.
type Timing struct {
	Wall      time.Duration
	Latencies []time.Duration // sorted
}

// QPS is queries per second of wall time.
func (t Timing) QPS() float64 {
	if t.Wall <= 0 {
		return 0
	}
	return float64(len(t.Latencies)) / t.Wall.Seconds()
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100).
func (t Timing) Percentile(p float64) time.Duration {
	n := len(t.Latencies)
	if n == 0 {
		return 0
	}
	rank := int(p/100*float64(n) + 0.999999999)
	rank = max(1, min(n, rank))
	return t.Latencies[rank-1]
}

// MeasureOptions tunes Measure.
type MeasureOptions struct {
	Parallelism int // goroutines of the parallel pass (GOMAXPROCS in TestCompare)
	Warmup      int // queries sent first and not measured
}

// Measure sends every query once single-threaded (latency, results) and once
// more from opt.Parallelism goroutines sharing one queue (throughput).
func Measure(ctx context.Context, s Searcher, qs []Query, opt MeasureOptions) *Run {
	r := &Run{Queries: qs, Results: make([][]Result, len(qs)), Errs: make([]error, len(qs)), Parallelism: max(1, opt.Parallelism)}
	if d, ok := s.(Describer); ok {
		if desc, err := d.Describe(ctx); err != nil {
			r.Description = "describe failed: " + err.Error()
		} else {
			r.Description = desc
		}
	}
	load0 := loadAvg()
	for i := 0; i < opt.Warmup && len(qs) > 0; i++ {
		_, _ = s.Search(ctx, qs[i%len(qs)].Text)
	}

	lat := make([]time.Duration, len(qs))
	start := time.Now()
	for i, q := range qs {
		t0 := time.Now()
		res, err := s.Search(ctx, q.Text)
		lat[i] = time.Since(t0)
		r.Results[i], r.Errs[i] = res, err
	}
	r.Serial = Timing{Wall: time.Since(start), Latencies: sortedCopy(lat)}

	plat := make([]time.Duration, len(qs))
	var next atomic.Int64
	var errs atomic.Int64
	var wg sync.WaitGroup
	start = time.Now()
	for w := 0; w < r.Parallelism; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(qs) {
					return
				}
				t0 := time.Now()
				if _, err := s.Search(ctx, qs[i].Text); err != nil {
					errs.Add(1)
				}
				plat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	r.Parallel = Timing{Wall: time.Since(start), Latencies: sortedCopy(plat)}
	r.ParallelErrors = int(errs.Load())
	if load1 := loadAvg(); load0 != "" && load1 != "" {
		r.Load = fmt.Sprintf("load average %s before, %s after, on %d CPUs", load0, load1, runtime.NumCPU())
	}
	return r
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func sortedCopy(d []time.Duration) []time.Duration {
	out := slices.Clone(d)
	slices.Sort(out)
	return out
}

// Errors counts the queries of the single-threaded pass that failed.
func (r *Run) Errors() int {
	n := 0
	for _, e := range r.Errs {
		if e != nil {
			n++
		}
	}
	return n
}

// Found reports whether query i's labelled entry is among its hits scoring at
// least t.
func (r *Run) Found(i int, t float64) bool {
	for _, h := range r.Results[i] {
		if h.Score >= t && h.ID == r.Queries[i].Want {
			return true
		}
	}
	return false
}

// Flagged reports whether query i has any hit scoring at least t.
func (r *Run) Flagged(i int, t float64) bool {
	for _, h := range r.Results[i] {
		if h.Score >= t {
			return true
		}
	}
	return false
}

// Rates are recall and false-positive rate over a subset of queries.
type Rates struct {
	Positives, Found   int
	Negatives, Flagged int
}

// Recall is Found/Positives.
func (c Rates) Recall() float64 { return ratio(c.Found, c.Positives) }

// FPR is Flagged/Negatives.
func (c Rates) FPR() float64 { return ratio(c.Flagged, c.Negatives) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Rates counts, at threshold t, the positives whose labelled entry is among the
// hits scoring at least t and the negatives with any hit scoring at least t,
// over the queries keep accepts (nil: all).
func (r *Run) Rates(t float64, keep func(Query) bool) Rates {
	var c Rates
	for i, q := range r.Queries {
		if keep != nil && !keep(q) {
			continue
		}
		if q.Positive() {
			c.Positives++
			if r.Found(i, t) {
				c.Found++
			}
		} else {
			c.Negatives++
			if r.Flagged(i, t) {
				c.Flagged++
			}
		}
	}
	return c
}

// DefaultSweep is the thresholds of the sweep table.
var DefaultSweep = []float64{0.60, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95}

// Report writes the markdown tables for the runs.
func Report(w io.Writer, runs []*Run, sweep []float64) {
	if len(runs) == 0 {
		return
	}
	qs := runs[0].Queries
	var pos, neg int
	for _, q := range qs {
		if q.Positive() {
			pos++
		} else {
			neg++
		}
	}
	fmt.Fprintf(w, "\n### Screening comparison: %d queries (%d positives, %d negatives)\n\n", len(qs), pos, neg)
	for _, r := range runs {
		fmt.Fprintf(w, "- **%s**: threshold %.2f (%s)", r.Name, r.Threshold, r.ThresholdSource)
		if r.Description != "" {
			fmt.Fprintf(w, "; %s", r.Description)
		}
		if r.Load != "" {
			fmt.Fprintf(w, "; %s", r.Load)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| searcher | qps 1× | qps %d× | p50 1× | p99 1× | p50 %d× | p99 %d× | threshold | recall | FPR | errors |\n",
		runs[0].Parallelism, runs[0].Parallelism, runs[0].Parallelism)
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range runs {
		c := r.Rates(r.Threshold, nil)
		fmt.Fprintf(w, "| %s | %.1f | %.1f | %s | %s | %s | %s | %.2f | %s (%d/%d) | %s (%d/%d) | %d |\n",
			r.Name, r.Serial.QPS(), r.Parallel.QPS(),
			ms(r.Serial.Percentile(50)), ms(r.Serial.Percentile(99)),
			ms(r.Parallel.Percentile(50)), ms(r.Parallel.Percentile(99)),
			r.Threshold, pct(c.Recall()), c.Found, c.Positives, pct(c.FPR()), c.Flagged, c.Negatives,
			r.Errors()+r.ParallelErrors)
	}

	// Recall per positive variant and source, FPR per negative variant, at
	// each searcher's threshold.
	fmt.Fprintf(w, "\nPer variant, at each searcher's threshold (recall for positives, FPR for negatives):\n\n| variant | n |")
	for _, r := range runs {
		fmt.Fprintf(w, " %s |", r.Name)
	}
	fmt.Fprint(w, "\n|---|---:|")
	for range runs {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	row := func(label string, keep func(Query) bool, positive bool) {
		c0 := runs[0].Rates(runs[0].Threshold, keep)
		n := c0.Negatives
		if positive {
			n = c0.Positives
		}
		if n == 0 {
			return
		}
		fmt.Fprintf(w, "| %s | %d |", label, n)
		for _, r := range runs {
			c := r.Rates(r.Threshold, keep)
			if positive {
				fmt.Fprintf(w, " %s |", pct(c.Recall()))
			} else {
				fmt.Fprintf(w, " %s |", pct(c.FPR()))
			}
		}
		fmt.Fprintln(w)
	}
	for _, v := range PositiveVariants {
		row(v, func(q Query) bool { return q.Variant == v }, true)
	}
	for _, src := range []string{SourceOFAC, SourceUN} {
		for _, k := range []Kind{KindPerson, KindEntity} {
			row(fmt.Sprintf("all positives, %s %s", strings.ToUpper(src), k), func(q Query) bool {
				return q.Positive() && q.Source == src && q.Kind == k
			}, true)
		}
	}
	for _, v := range NegativeVariants {
		row(v, func(q Query) bool { return q.Variant == v }, false)
	}

	if len(sweep) > 0 {
		fmt.Fprint(w, "\nThreshold sweep (recall / FPR):\n\n| threshold |")
		for _, r := range runs {
			fmt.Fprintf(w, " %s |", r.Name)
		}
		fmt.Fprint(w, "\n|---:|")
		for range runs {
			fmt.Fprint(w, "---|")
		}
		fmt.Fprintln(w)
		for _, t := range sweep {
			fmt.Fprintf(w, "| %.2f |", t)
			for _, r := range runs {
				c := r.Rates(t, nil)
				fmt.Fprintf(w, " %s / %s |", pct(c.Recall()), pct(c.FPR()))
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// DumpRecord is one line of the per-query dump (EKYC_BENCH_DUMP).
type DumpRecord struct {
	Searcher string   `json:"searcher"`
	Query    Query    `json:"query"`
	Found    *bool    `json:"found,omitempty"`   // positives, at the searcher's threshold
	Flagged  *bool    `json:"flagged,omitempty"` // negatives, at the searcher's threshold
	Error    string   `json:"error,omitempty"`
	Hits     []Result `json:"hits"`
}

// Dump writes one JSON line per query and run.
func Dump(w io.Writer, runs []*Run) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range runs {
		for i, q := range r.Queries {
			rec := DumpRecord{Searcher: r.Name, Query: q, Hits: r.Results[i]}
			if q.Positive() {
				f := r.Found(i, r.Threshold)
				rec.Found = &f
			} else {
				f := r.Flagged(i, r.Threshold)
				rec.Flagged = &f
			}
			if r.Errs[i] != nil {
				rec.Error = r.Errs[i].Error()
			}
			if err := enc.Encode(rec); err != nil {
				return err
			}
		}
	}
	return nil
}
