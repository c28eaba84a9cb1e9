package review

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/reasons"
	rv "github.com/openekyc/ekyc/services/review"
)

// queueOf opens a store holding n open cases of tenant acme, a fifth of
// each priority, opened over the last n minutes.
func queueOf(b *testing.B, n int) *Store {
	b.Helper()
	s := newEnv(b).store
	codes := []string{reasons.ScreeningSanctionsHit, reasons.FaceDuplicateIdentity, reasons.FaceLivenessFailed, reasons.DocExpired, reasons.DecisionScoreReview}
	for i := range n {
		c, err := rv.NewCase(rv.Opening{Tenant: "acme", SessionID: fmt.Sprintf("s-%d", i), DecisionID: fmt.Sprintf("d-%d", i),
			Reasons: []string{codes[i%len(codes)]}, OpenedAt: t0.Add(-time.Duration(i) * time.Minute)}, rv.DefaultSLA())
		require.NoError(b, err)
		_, _, err = s.Create(context.Background(), c)
		require.NoError(b, err)
	}
	return s
}

// BenchmarkList is the console's queue page: the 50 most urgent cases.
func BenchmarkList(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("cases=%d", n), func(b *testing.B) {
			s := queueOf(b, n)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				cs, err := s.List(ctx, "acme", Filter{Limit: 50})
				if err != nil || len(cs) != 50 {
					b.Fatal(len(cs), err)
				}
			}
		})
	}
}

// BenchmarkQueueStats is one tenant's part of a monitor sweep.
func BenchmarkQueueStats(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("cases=%d", n), func(b *testing.B) {
			s := queueOf(b, n)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				q, err := s.QueueStats(ctx, "acme", t0)
				if err != nil || q.Total() != n {
					b.Fatal(q.Total(), err)
				}
			}
		})
	}
}
