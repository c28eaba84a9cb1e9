package screeningbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestCompare runs every searcher of Registry whose Env variable is set over
// the same labelled query set and prints the comparison as markdown tables.
// Without any such variable it skips, so `go test ./...` stays fast.
//
//	export EKYC_BENCH_WATCHMAN="$(bench/screening/watchman.sh start)"
//	go test ./bench/screening -run TestCompare -v -timeout 30m
//
// Optional: EKYC_SANCTIONS_DIR (the lists), EKYC_BENCH_SEED (1),
// EKYC_BENCH_POSITIVES (1000), EKYC_BENCH_NEGATIVES (1000),
// EKYC_BENCH_PARALLEL (goroutines of the parallel pass; GOMAXPROCS),
// EKYC_BENCH_WARMUP (50), EKYC_BENCH_REPORT (also write the tables to this
// file), EKYC_BENCH_DUMP (write every query and its hits as JSON lines).
func TestCompare(t *testing.T) {
	var specs []Spec
	var envs []string
	for _, s := range Registry {
		envs = append(envs, s.Env)
		if os.Getenv(s.Env) != "" {
			specs = append(specs, s)
		}
	}
	if len(specs) == 0 {
		t.Skipf("screening comparison not configured: set %s (e.g. EKYC_BENCH_WATCHMAN=\"$(bench/screening/watchman.sh start)\"); see bench/screening/README.md",
			strings.Join(envs, " and/or "))
	}

	dir, err := FindSanctionsDir()
	if err != nil {
		t.Fatal(err)
	}
	lists, err := LoadLists(dir)
	if err != nil {
		t.Fatal(err)
	}
	opt := DefaultOptions
	opt.Seed = uint64(envInt(t, "EKYC_BENCH_SEED", int(opt.Seed)))
	opt.Positives = envInt(t, "EKYC_BENCH_POSITIVES", opt.Positives)
	opt.Negatives = envInt(t, "EKYC_BENCH_NEGATIVES", opt.Negatives)
	qs, err := Generate(lists, opt)
	if err != nil {
		t.Fatal(err)
	}
	mopt := MeasureOptions{
		Parallelism: envInt(t, "EKYC_BENCH_PARALLEL", runtime.GOMAXPROCS(0)),
		Warmup:      envInt(t, "EKYC_BENCH_WARMUP", 50),
	}
	t.Logf("lists %s: %d entries; %d queries (seed %d); parallel pass with %d goroutines",
		dir, len(lists.Entries), len(qs), opt.Seed, mopt.Parallelism)

	ctx := context.Background()
	var runs []*Run
	for _, spec := range specs {
		s, err := spec.Open(ctx, OpenConfig{Value: os.Getenv(spec.Env), SanctionsDir: dir})
		if err != nil {
			t.Fatalf("%s (%s=%s): %v", spec.Name, spec.Env, os.Getenv(spec.Env), err)
		}
		// Fail early, with the searcher's own message, when it is unreachable.
		if _, err := s.Search(ctx, "ping"); err != nil {
			t.Fatalf("%s (%s=%s): %v", spec.Name, spec.Env, os.Getenv(spec.Env), err)
		}
		r := Measure(ctx, s, qs, mopt)
		r.Name, r.Threshold, r.ThresholdSource = spec.Name, spec.Threshold, spec.ThresholdSource
		if c, ok := s.(io.Closer); ok {
			_ = c.Close()
		}
		runs = append(runs, r)
		t.Logf("%s: %d queries in %v single-threaded, %v with %d goroutines",
			spec.Name, len(qs), r.Serial.Wall.Round(1e6), r.Parallel.Wall.Round(1e6), r.Parallelism)
	}

	var report strings.Builder
	Report(&report, runs, DefaultSweep)
	fmt.Print(report.String())
	if p := os.Getenv("EKYC_BENCH_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(report.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
	if p := os.Getenv("EKYC_BENCH_DUMP"); p != "" {
		if err := writeDump(p, runs); err != nil {
			t.Error(err)
		}
	}
	for _, r := range runs {
		if n := r.Errors() + r.ParallelErrors; n > 0 {
			for i, err := range r.Errs {
				if err != nil {
					t.Errorf("%s: %d failed queries, first %q: %v", r.Name, n, r.Queries[i].Text, err)
					break
				}
			}
			if r.Errors() == 0 {
				t.Errorf("%s: %d queries failed in the parallel pass", r.Name, n)
			}
		}
	}
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

func writeDump(path string, runs []*Run) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := Dump(w, runs); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
