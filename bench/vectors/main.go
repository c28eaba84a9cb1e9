// Command vectors benchmarks the face-embedding vector stores: recall@k
// against exact brute-force search, single-query latency on one core,
// memory and build time, for our HNSW index (store/vectors/hnsw) and for
// Milvus (store/vectors/milvusstore, e.g. Milvus Lite from
// deploy/local/milvus.sh). See README.md for the recorded results.
//
//	go run ./bench/vectors -n 100000 -data random
//	go run ./bench/vectors -n 1000000 -data clustered -save /tmp/c1m.hnsw
//	go run ./bench/vectors -n 1000000 -data clustered -load /tmp/c1m.hnsw -ef 64,128
//	go run ./bench/vectors -n 100000 -data random -milvus 127.0.0.1:29530 -milvus-pid "$(cat var/milvus/milvus.pid)"
//
// The data set is generated from -seed (the same flags give the same
// vectors); the exact top-k of every query is computed once by brute force
// (in parallel) and cached in -cache. Queries run one at a time with
// GOMAXPROCS=1: the latency is that of one core.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openekyc/ekyc/store/vectors"
	"github.com/openekyc/ekyc/store/vectors/hnsw"
)

type options struct {
	n, dim, queries, k int
	data               string
	clusters           int
	spread             float64
	seed               uint64
	m, efc             int
	efs                []int
	workers            int
	save, load, cache  string
	milvus             string
	milvusPID          int
	milvusFlat, keep   bool
	exact              bool
	warmup             int
}

func main() {
	var o options
	var efs string
	flag.IntVar(&o.n, "n", 100_000, "vectors in the data set")
	flag.IntVar(&o.dim, "dim", vectors.Dim, "dimension")
	flag.IntVar(&o.queries, "queries", 500, "queries (exact ground truth is computed for each)")
	flag.IntVar(&o.k, "k", 10, "k of recall@k")
	flag.StringVar(&o.data, "data", "random", "random (uniform unit vectors) or clustered (gaussian clusters, normalised)")
	flag.IntVar(&o.clusters, "clusters", 1000, "clusters of -data clustered")
	flag.Float64Var(&o.spread, "spread", 0.05, "per-component standard deviation around a cluster centre (unit centre)")
	flag.Uint64Var(&o.seed, "seed", 1, "data seed")
	flag.IntVar(&o.m, "m", 16, "HNSW M")
	flag.IntVar(&o.efc, "efc", 200, "HNSW efConstruction")
	flag.StringVar(&efs, "ef", "32,64,128,256", "HNSW efSearch values to measure")
	flag.IntVar(&o.workers, "workers", runtime.NumCPU(), "parallel inserts while building")
	flag.StringVar(&o.save, "save", "", "write the built index to this file")
	flag.StringVar(&o.load, "load", "", "read the index from this file instead of building it")
	flag.StringVar(&o.cache, "cache", filepath.Join(os.TempDir(), "ekyc-bench-vectors"), "directory of cached ground truth")
	flag.StringVar(&o.milvus, "milvus", "", "host:port of a Milvus server: benchmark it instead of the HNSW index")
	flag.IntVar(&o.milvusPID, "milvus-pid", 0, "pid of the Milvus server, to report its resident memory")
	flag.BoolVar(&o.milvusFlat, "milvus-flat", false, "index with FLAT instead of AUTOINDEX")
	flag.BoolVar(&o.keep, "keep", false, "keep the Milvus collection afterwards")
	flag.BoolVar(&o.exact, "exact", false, "also time an exhaustive scan (what hnswstore does for small tenants)")
	flag.IntVar(&o.warmup, "warmup", 50, "queries run before timing")
	flag.Parse()
	for _, f := range strings.Split(efs, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			log.Fatalf("bad -ef %q", efs)
		}
		o.efs = append(o.efs, v)
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	t0 := time.Now()
	data := generate(o)
	queries := generateQueries(o)
	log.Printf("generated %d %s vectors and %d queries in %s", o.n, o.data, len(queries), time.Since(t0).Round(time.Millisecond))
	truth, err := groundTruth(o, data, queries)
	if err != nil {
		return err
	}
	if o.milvus != "" {
		return runMilvus(o, data, queries, truth)
	}
	return runHNSW(o, data, queries, truth)
}

// generate returns the data set: o.n unit vectors, in blocks generated in
// parallel from seeds derived from o.seed (deterministic).
func generate(o options) [][]float32 {
	var centres [][]float32
	if o.data == "clustered" {
		r := rand.New(rand.NewPCG(o.seed, 0xc1))
		centres = make([][]float32, o.clusters)
		for i := range centres {
			centres[i] = unit(r, o.dim, nil, 0)
		}
	} else if o.data != "random" {
		log.Fatalf("-data %q: want random or clustered", o.data)
	}
	backing := make([]float32, o.n*o.dim)
	out := make([][]float32, o.n)
	const block = 4096
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for b := 0; b < o.n; b += block {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := rand.New(rand.NewPCG(o.seed, uint64(b)+1))
			for i := b; i < min(b+block, o.n); i++ {
				v := backing[i*o.dim : (i+1)*o.dim : (i+1)*o.dim]
				var c []float32
				if centres != nil {
					c = centres[r.IntN(len(centres))]
				}
				unitInto(r, v, c, o.spread)
				out[i] = v
			}
		}()
	}
	wg.Wait()
	return out
}

// generateQueries draws queries from the data distribution (new points,
// not members of the data set).
func generateQueries(o options) [][]float32 {
	var centres [][]float32
	if o.data == "clustered" {
		r := rand.New(rand.NewPCG(o.seed, 0xc1))
		centres = make([][]float32, o.clusters)
		for i := range centres {
			centres[i] = unit(r, o.dim, nil, 0)
		}
	}
	r := rand.New(rand.NewPCG(o.seed, 0xabcdef))
	out := make([][]float32, o.queries+o.warmup)
	for i := range out {
		var c []float32
		if centres != nil {
			c = centres[r.IntN(len(centres))]
		}
		out[i] = unit(r, o.dim, c, o.spread)
	}
	return out
}

func unit(r *rand.Rand, dim int, centre []float32, spread float64) []float32 {
	v := make([]float32, dim)
	unitInto(r, v, centre, spread)
	return v
}

func unitInto(r *rand.Rand, v, centre []float32, spread float64) {
	var ss float64
	for i := range v {
		var f float64
		if centre != nil {
			f = float64(centre[i]) + r.NormFloat64()*spread
		} else {
			f = r.NormFloat64()
		}
		v[i] = float32(f)
		ss += f * f
	}
	inv := 1 / math.Sqrt(ss)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
}

// groundTruth returns the exact top-k positions of every timed query
// (queries after the warm-up ones), from the cache or by brute force.
func groundTruth(o options, data, queries [][]float32) ([][]int32, error) {
	timed := queries[o.warmup:]
	name := fmt.Sprintf("gt-%s-n%d-d%d-c%d-s%g-seed%d-q%d-w%d-k%d.bin", o.data, o.n, o.dim, o.clusters, o.spread, o.seed, o.queries, o.warmup, o.k)
	path := filepath.Join(o.cache, name)
	if b, err := os.ReadFile(path); err == nil && len(b) == 4*len(timed)*o.k {
		out := make([][]int32, len(timed))
		for i := range out {
			out[i] = make([]int32, o.k)
			for j := range out[i] {
				out[i][j] = int32(binary.LittleEndian.Uint32(b[4*(i*o.k+j):]))
			}
		}
		log.Printf("ground truth from %s", path)
		return out, nil
	}
	t0 := time.Now()
	out := make([][]int32, len(timed))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(timed) {
					return
				}
				out[i] = exactTopK(data, timed[i], o.k)
			}
		}()
	}
	wg.Wait()
	log.Printf("exact ground truth of %d queries over %d vectors in %s", len(timed), len(data), time.Since(t0).Round(time.Millisecond))
	if err := os.MkdirAll(o.cache, 0o755); err == nil {
		b := make([]byte, 0, 4*len(out)*o.k)
		for _, row := range out {
			for _, id := range row {
				b = binary.LittleEndian.AppendUint32(b, uint32(id))
			}
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			log.Printf("cache ground truth: %v", err)
		}
	}
	return out, nil
}

func exactTopK(data [][]float32, q []float32, k int) []int32 {
	type hit struct {
		id int32
		s  float32
	}
	top := make([]hit, 0, k+1)
	for i, v := range data {
		s := hnsw.Dot(q, v)
		if len(top) == k && s <= top[k-1].s {
			continue
		}
		j := len(top)
		top = append(top, hit{})
		for j > 0 && top[j-1].s < s {
			top[j] = top[j-1]
			j--
		}
		top[j] = hit{int32(i), s}
		if len(top) > k {
			top = top[:k]
		}
	}
	out := make([]int32, len(top))
	for i, h := range top {
		out[i] = h.id
	}
	return out
}

func heapMiB() float64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

func runHNSW(o options, data, queries [][]float32, truth [][]int32) error {
	cfg := hnsw.Config{Dim: o.dim, M: o.m, EfConstruction: o.efc, Seed: o.seed}
	before := heapMiB()
	var x *hnsw.Index
	pos2id := make([]uint32, len(data))
	var buildTime time.Duration
	if o.load != "" {
		f, err := os.Open(o.load)
		if err != nil {
			return err
		}
		t0 := time.Now()
		x, err = hnsw.Read(f, cfg)
		f.Close()
		if err != nil {
			return err
		}
		log.Printf("read %s (%d nodes) in %s", o.load, x.Len(), time.Since(t0).Round(time.Millisecond))
		if x.Len() != len(data) {
			return fmt.Errorf("%s has %d nodes, the data set %d", o.load, x.Len(), len(data))
		}
		// A saved index was renumbered in insertion order: map positions
		// through the vectors' identity (the file stores the positions
		// map beside it).
		m, err := os.ReadFile(o.load + ".ids")
		if err != nil {
			return err
		}
		for i := range pos2id {
			pos2id[i] = binary.LittleEndian.Uint32(m[4*i:])
		}
	} else {
		var err error
		x, err = hnsw.New(cfg)
		if err != nil {
			return err
		}
		t0 := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		step := max(len(data)/20, 1)
		for range o.workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= len(data) {
						return
					}
					id, err := x.Add(data[i])
					if err != nil {
						panic(err)
					}
					pos2id[i] = id
					if (i+1)%step == 0 {
						log.Printf("built %d/%d (%s)", i+1, len(data), time.Since(t0).Round(time.Second))
					}
				}
			}()
		}
		wg.Wait()
		buildTime = time.Since(t0)
		log.Printf("built %d nodes with %d workers in %s", x.Len(), o.workers, buildTime.Round(time.Millisecond))
		if o.save != "" {
			if err := save(x, pos2id, o.save); err != nil {
				return err
			}
		}
	}
	after := heapMiB()
	st := x.Stats()
	fmt.Printf("\n%s, n=%d, dim=%d, M=%d, efConstruction=%d, build workers=%d, GOMAXPROCS(build)=%d\n",
		o.data, o.n, o.dim, o.m, o.efc, o.workers, runtime.GOMAXPROCS(0))
	if buildTime > 0 {
		fmt.Printf("build time: %s (%.0f inserts/s)\n", buildTime.Round(time.Second), float64(o.n)/buildTime.Seconds())
	}
	fmt.Printf("index storage: %.0f MiB (vectors %.0f MiB); heap growth %.0f MiB; layers %v\n",
		float64(st.Bytes)/(1<<20), float64(o.n*o.dim*4)/(1<<20), after-before, st.Layers)

	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	fmt.Printf("\n| efSearch | recall@%d | p50 | p99 | mean | QPS (1 core) | CPU p50 | CPU p99 |\n|---|---|---|---|---|---|---|---|\n", o.k)
	for _, ef := range o.efs {
		search := func(q []float32) []uint32 {
			rs := x.Search(q, o.k, ef)
			ids := make([]uint32, len(rs))
			for i, r := range rs {
				ids[i] = r.ID
			}
			return ids
		}
		r := measure(o, queries, truth, pos2id, search)
		fmt.Printf("| %d | %.4f | %s | %s | %s | %.0f | %s | %s |\n", ef, r.recall, ms(r.p50), ms(r.p99), ms(r.mean), 1/r.mean.Seconds(), ms(r.cpu50), ms(r.cpu99))
	}
	if o.exact {
		identity := make([]uint32, len(data))
		for i := range identity {
			identity[i] = uint32(i)
		}
		scan := func(q []float32) []uint32 {
			top := exactTopK(data, q, o.k)
			ids := make([]uint32, len(top))
			for i, p := range top {
				ids[i] = uint32(p)
			}
			return ids
		}
		r := measure(o, queries, truth, identity, scan)
		fmt.Printf("| exhaustive scan | %.4f | %s | %s | %s | %.0f | %s | %s |\n", r.recall, ms(r.p50), ms(r.p99), ms(r.mean), 1/r.mean.Seconds(), ms(r.cpu50), ms(r.cpu99))
	}
	return nil
}

func save(x *hnsw.Index, pos2id []uint32, path string) error {
	t0 := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	v := x.Freeze()
	if err := x.WriteView(f, v); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Ids are renumbered densely in id order; with no deletes they stay.
	b := make([]byte, 0, 4*len(pos2id))
	for _, id := range pos2id {
		b = binary.LittleEndian.AppendUint32(b, id)
	}
	if err := os.WriteFile(path+".ids", b, 0o644); err != nil {
		return err
	}
	fi, _ := os.Stat(path)
	log.Printf("saved %s (%d MiB) in %s", path, fi.Size()>>20, time.Since(t0).Round(time.Millisecond))
	return nil
}

type result struct {
	recall              float64
	p50, p99, mean, max time.Duration
	cpu50, cpu99        time.Duration // thread CPU time
}

// measure runs the warm-up queries, then times each timed query alone.
// search returns ids of the index; pos2id maps ground-truth positions.
func measure(o options, queries [][]float32, truth [][]int32, pos2id []uint32, search func([]float32) []uint32) result {
	for _, q := range queries[:o.warmup] {
		search(q)
	}
	// The thread's CPU time is measured beside the wall clock: on a shared
	// machine other processes preempt a query now and then, which shows in
	// the wall-clock tail but not in the CPU time.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lat := make([]time.Duration, 0, len(truth))
	cpu := make([]time.Duration, 0, len(truth))
	var hits, total int
	for i, q := range queries[o.warmup:] {
		c0 := threadCPU()
		t0 := time.Now()
		ids := search(q)
		lat = append(lat, time.Since(t0))
		cpu = append(cpu, threadCPU()-c0)
		want := map[uint32]bool{}
		for _, p := range truth[i] {
			want[pos2id[p]] = true
		}
		for _, id := range ids {
			if want[id] {
				hits++
			}
		}
		total += len(truth[i])
	}
	slices.Sort(lat)
	slices.Sort(cpu)
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	return result{
		recall: float64(hits) / float64(total),
		p50:    lat[len(lat)/2],
		p99:    lat[min(len(lat)-1, len(lat)*99/100)],
		mean:   sum / time.Duration(len(lat)),
		max:    lat[len(lat)-1],
		cpu50:  cpu[len(cpu)/2],
		cpu99:  cpu[min(len(cpu)-1, len(cpu)*99/100)],
	}
}

// threadCPU returns the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
