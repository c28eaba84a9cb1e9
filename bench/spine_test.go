// Package bench holds whole-system benchmarks. BenchmarkSpine measures the
// verification spine end to end through the embedded Kafka: produce requests,
// session actors run the MRZ document check and the decision engine, persist
// to Pebble, emit decisions; it reports verifications/s and p50/p99 latency
// from produce to decision receipt.
//
//	go test -run '^$' -bench Spine -benchtime 1x ./bench/
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/testgen"
	"github.com/openekyc/ekyc/node"
	"github.com/openekyc/ekyc/streams/codec"
)

// BenchmarkSpine runs two loads: a burst (all requests produced at once: the
// throughput at saturation, latency includes queueing) and a paced load at a
// fixed rate below saturation (latency of one verification through the spine).
func BenchmarkSpine(b *testing.B) {
	for _, tc := range []struct {
		total int
		rate  int // requests/s; 0 = burst
	}{{5000, 0}, {2000, 200}} {
		name := fmt.Sprintf("burst/requests=%d", tc.total)
		if tc.rate > 0 {
			name = fmt.Sprintf("paced/rate=%d/requests=%d", tc.rate, tc.total)
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runSpine(b, tc.total, tc.rate)
			}
		})
	}
}

func runSpine(b *testing.B, total, rate int) {
	b.StopTimer()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Load("", []string{
		"EKYC_DATA_DIR=" + b.TempDir(),
		"EKYC_ADMIN_LISTEN=127.0.0.1:0", "EKYC_GATEWAY_LISTEN=127.0.0.1:0",
		"EKYC_KAFKA_EMBEDDED_PORT=0",
		"EKYC_KAFKA_PARTITIONS=8",
		"EKYC_POLICIES_DIR=" + filepath.Join("..", "deploy", "policies"),
		"EKYC_NODE_ID=bench",
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	n, err := node.Start(ctx, cfg, node.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), node.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close(true)

	gen := testgen.New(3, now, "demo", cfg.Kafka.Topics.Requests, "bench")
	recs := make([]*kgo.Record, total)
	for i := range recs {
		// Valid requests only (a mix of approve/reject/review outcomes).
		kinds := []testgen.Kind{testgen.Approve, testgen.Approve, testgen.Approve, testgen.BadCheckDigit, testgen.Expired, testgen.Underage}
		recs[i] = gen.Make(kinds[i%len(kinds)]).Record
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(n.Brokers()...), kgo.ConsumeTopics(cfg.Kafka.Topics.Decisions),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(n.Brokers()...), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()

	sent := make(map[string]time.Time, total)
	b.StartTimer()
	start := time.Now()
	var mu sync.Mutex
	go func() {
		var tick *time.Ticker
		if rate > 0 {
			tick = time.NewTicker(time.Second / time.Duration(rate))
			defer tick.Stop()
		}
		for _, r := range recs {
			if tick != nil {
				<-tick.C
			}
			mu.Lock()
			sent[string(r.Key)] = time.Now()
			mu.Unlock()
			prod.Produce(ctx, r, func(_ *kgo.Record, err error) {
				if err != nil && ctx.Err() == nil {
					b.Error(err)
				}
			})
		}
	}()
	lat := make([]time.Duration, 0, total)
	seen := make(map[string]bool, total)
	for len(seen) < total && ctx.Err() == nil {
		fs := cons.PollFetches(ctx)
		arrived := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			d, err := codec.DecodeDecision(r)
			if err != nil || seen[d.GetSessionId()] {
				return
			}
			seen[d.GetSessionId()] = true
			mu.Lock()
			lat = append(lat, arrived.Sub(sent[d.GetSessionId()]))
			mu.Unlock()
		})
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if len(seen) < total {
		b.Fatalf("only %d/%d decisions", len(seen), total)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(total)/elapsed.Seconds(), "verifications/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}
