package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openekyc/ekyc/store/vectors"
	"github.com/openekyc/ekyc/store/vectors/milvusstore"
)

// runMilvus loads the data set into a fresh collection of the Milvus
// server at o.milvus through milvusstore (InsertMany, batches of 1000) and
// times searches through milvusstore.Search (tenant filter, Strong
// consistency, K = o.k). The server's resident memory is read from
// /proc/<pid>/status when -milvus-pid names it.
func runMilvus(o options, data, queries [][]float32, truth [][]int32) error {
	ctx := context.Background()
	name := fmt.Sprintf("ekyc_bench_%s_%d", o.data, o.n)
	cfg := milvusstore.Config{Address: o.milvus, Collection: name}
	if o.milvusFlat {
		cfg.Index = "FLAT"
	}
	// Start from an empty collection.
	if s, err := milvusstore.Open(ctx, cfg); err == nil {
		if err := s.Drop(ctx); err != nil {
			return err
		}
	} else {
		return err
	}
	rssBefore := rssMiB(o.milvusPID)
	s, err := milvusstore.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	t0 := time.Now()
	const batch = 1000
	es := make([]vectors.Embedding, 0, batch)
	for i, v := range data {
		es = append(es, vectors.Embedding{Tenant: "bench", Session: "p" + strconv.Itoa(i), Applicant: "a" + strconv.Itoa(i), Vector: v})
		if len(es) == batch || i == len(data)-1 {
			if err := s.InsertMany(ctx, es); err != nil {
				return err
			}
			es = es[:0]
		}
		if (i+1)%(max(len(data)/10, 1)) == 0 {
			log.Printf("inserted %d/%d (%s)", i+1, len(data), time.Since(t0).Round(time.Second))
		}
	}
	insertTime := time.Since(t0)
	// The first search builds or loads whatever the server builds lazily:
	// time it apart.
	t1 := time.Now()
	if _, err := s.Search(ctx, vectors.Query{Tenants: []string{"bench"}, Vector: queries[0], K: o.k, MinScore: -1}); err != nil {
		return err
	}
	firstSearch := time.Since(t1)
	rssAfter := rssMiB(o.milvusPID)
	index := "AUTOINDEX"
	if o.milvusFlat {
		index = "FLAT"
	}
	fmt.Printf("\nMilvus at %s (%s), %s, n=%d, dim=%d\n", o.milvus, index, o.data, o.n, o.dim)
	fmt.Printf("insert time: %s (%.0f rows/s, batches of %d); first search %s\n", insertTime.Round(time.Millisecond), float64(o.n)/insertTime.Seconds(), batch, firstSearch.Round(time.Millisecond))
	if o.milvusPID > 0 {
		fmt.Printf("server RSS: %.0f MiB before, %.0f MiB after loading (+%.0f MiB)\n", rssBefore, rssAfter, rssAfter-rssBefore)
	}
	pos2id := make([]uint32, len(data))
	for i := range pos2id {
		pos2id[i] = uint32(i)
	}
	search := func(q []float32) []uint32 {
		ms, err := s.Search(ctx, vectors.Query{Tenants: []string{"bench"}, Vector: q, K: o.k, MinScore: -1})
		if err != nil {
			log.Fatal(err)
		}
		ids := make([]uint32, 0, len(ms))
		for _, m := range ms {
			p, err := strconv.Atoi(strings.TrimPrefix(m.Session, "p"))
			if err != nil {
				log.Fatalf("session %q", m.Session)
			}
			ids = append(ids, uint32(p))
		}
		return ids
	}
	r := measure(o, queries, truth, pos2id, search)
	fmt.Printf("\n| recall@%d | p50 | p99 | mean | QPS (1 client) |\n|---|---|---|---|---|\n", o.k)
	fmt.Printf("| %.4f | %s | %s | %s | %.0f |\n", r.recall, ms(r.p50), ms(r.p99), ms(r.mean), 1/r.mean.Seconds())
	// (The client's CPU time says nothing about the server's: not shown.)
	if !o.keep {
		return s.Drop(ctx)
	}
	return nil
}

// rssMiB returns the resident memory of a process, or 0.
func rssMiB(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
