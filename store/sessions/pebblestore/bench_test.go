package pebblestore_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions/sessionstest"
)

// BenchmarkPut measures a session's create (Put at version 0) followed by an
// update (Put at version 1): two synced writes per iteration. The parallel
// variant shows Pebble's commit pipeline grouping concurrent fsyncs.
func BenchmarkPut(b *testing.B) {
	template := sessionstest.FullState("tenant-bench", "")
	createAndUpdate := func(b *testing.B, s interface {
		Put(context.Context, *ekycv1.SessionState, int64) error
	}, id string) {
		st := &ekycv1.SessionState{
			TenantId: "tenant-bench", SessionId: id, Status: ekycv1.SessionStatus_SESSION_STATUS_CREATED,
			Request: template.GetRequest(),
		}
		if err := s.Put(context.Background(), st, 0); err != nil {
			b.Fatal(err)
		}
		st.Status = ekycv1.SessionStatus_SESSION_STATUS_DECIDED
		st.Checks, st.Decision = template.GetChecks(), template.GetDecision()
		if err := s.Put(context.Background(), st, 1); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("sequential", func(b *testing.B) {
		s := open(b, b.TempDir())
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			createAndUpdate(b, s, "session-"+strconv.Itoa(i))
			i++
		}
		b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "writes/s")
	})

	b.Run("parallel", func(b *testing.B) {
		s := open(b, b.TempDir())
		b.ReportAllocs()
		b.SetParallelism(8) // 8 × GOMAXPROCS writers: I/O bound
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				createAndUpdate(b, s, "session-"+strconv.FormatInt(next.Add(1), 10))
			}
		})
		b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "writes/s")
	})
}
