// Package analyticstest is the conformance suite of analytics.Store
// implementations: it writes generated decisions (with redeliveries) and
// compares every report with a reference computed in Go (Expected).
package analyticstest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/analytics"
)

// N is the number of distinct decisions of the report tests.
const N = 1200

// FloatTolerance is the absolute tolerance of float cells: rates and
// quantiles are computed exactly alike (quantiles are observed values,
// rates one division of the same counts), means may differ in the last
// bits by summation order. Any wrong count, rank or row changes a value by
// far more.
const FloatTolerance = 1e-9

// Run runs the conformance suite. newStore returns a fresh, migrated,
// empty store for each subtest; closing it is newStore's business
// (t.Cleanup), and the suite may close it first (Close must be
// idempotent).
func Run(t *testing.T, newStore func(t *testing.T) analytics.Store) {
	t.Run("EmptyReports", func(t *testing.T) { testEmpty(t, newStore(t)) })
	t.Run("ReportsMatchReference", func(t *testing.T) { testReports(t, newStore(t)) })
	t.Run("RedeliveryDoesNotCount", func(t *testing.T) { testRedelivery(t, newStore(t)) })
	t.Run("ConcurrentWrites", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	t.Run("InvalidRows", func(t *testing.T) { testInvalidRows(t, newStore(t)) })
	t.Run("InvalidReports", func(t *testing.T) { testInvalidReports(t, newStore(t)) })
	t.Run("MigrateIsIdempotent", func(t *testing.T) { testMigrate(t, newStore(t)) })
	t.Run("ContextCancelled", func(t *testing.T) { testContextCancelled(t, newStore(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, newStore(t)) })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// ParamSets are the report parameters the suite checks for rows generated
// from Start: everything, one tenant, a window whose bounds fall exactly
// on (and, for From, half a second after) decision times, a limit, and
// ranges that select nothing.
func ParamSets(rows []analytics.Decision) map[string]analytics.Params {
	lo := analytics.TruncateTime(rows[len(rows)/7].DecidedAt)
	hi := analytics.TruncateTime(rows[len(rows)/3].DecidedAt)
	if hi.Before(lo) {
		lo, hi = hi, lo
	}
	return map[string]analytics.Params{
		"all":              {},
		"tenant":           {Tenant: Tenants[1]},
		"non-ascii tenant": {Tenant: Tenants[2]},
		"window":           {From: lo, To: hi},
		"window sub-second and tenant": {Tenant: Tenants[0], From: lo.Add(500 * time.Millisecond),
			To: hi.Add(999 * time.Millisecond)},
		"from only":      {From: lo},
		"to only":        {To: hi},
		"limit":          {Limit: 3},
		"tenant limit":   {Tenant: Tenants[0], Limit: 2},
		"unknown tenant": {Tenant: "nobody"},
		"future":         {From: Start.AddDate(1, 0, 0)},
		"empty window":   {From: lo, To: lo},
	}
}

// RequireReport runs report name on s and compares it with Expected over
// rows.
func RequireReport(ctx context.Context, t *testing.T, s analytics.Reporter, name string, rows []analytics.Decision, p analytics.Params, msg string) {
	t.Helper()
	want, err := Expected(name, rows, p)
	require.NoError(t, err)
	got, err := s.Report(ctx, name, p)
	require.NoError(t, err, "%s %s", name, msg)
	RequireTable(t, want, got, name+" "+msg)
}

// RequireTable compares two tables: same columns, rows and cells, floats
// within FloatTolerance, every value of its column's Go type.
func RequireTable(t *testing.T, want, got *analytics.Table, msg string) {
	t.Helper()
	require.NotNil(t, got, msg)
	require.Equal(t, want.Name, got.Name, msg)
	require.Equal(t, want.Columns, got.Columns, msg)
	info, ok := analytics.LookupReport(want.Name)
	require.True(t, ok, msg)
	if len(want.Rows) != len(got.Rows) {
		require.Failf(t, "row count", "%s: want %d rows, got %d\nwant: %v\ngot:  %v", msg, len(want.Rows), len(got.Rows), head(want.Rows), head(got.Rows))
	}
	for i := range want.Rows {
		require.Len(t, got.Rows[i], len(want.Columns), "%s: row %d", msg, i)
		for j, w := range want.Rows[i] {
			g := got.Rows[i][j]
			where := fmt.Sprintf("%s: row %d column %s\nwant row %v\ngot row  %v", msg, i, want.Columns[j], want.Rows[i], got.Rows[i])
			switch info.Columns[j].Type {
			case analytics.String:
				require.IsType(t, "", g, where)
				require.Equal(t, w, g, where)
			case analytics.Int:
				require.IsType(t, int64(0), g, where)
				require.Equal(t, w, g, where)
			case analytics.Float:
				require.IsType(t, float64(0), g, where)
				require.False(t, math.IsNaN(g.(float64)), where)
				require.InDelta(t, w.(float64), g.(float64), FloatTolerance, where)
			}
		}
	}
}

func head(rows [][]any) [][]any {
	if len(rows) > 8 {
		return rows[:8]
	}
	return rows
}

// WriteInBatches writes rows in batches of size n.
func WriteInBatches(ctx context.Context, t *testing.T, s analytics.Sink, rows []analytics.Decision, n int) {
	t.Helper()
	for i := 0; i < len(rows); i += n {
		require.NoError(t, s.Write(ctx, rows[i:min(i+n, len(rows))]))
	}
}

// WithRedeliveries returns rows followed and interleaved with deep copies
// of about a fifth of them (some twice), shuffled but with every first
// occurrence before its copies, for a seed.
func WithRedeliveries(seed uint64, rows []analytics.Decision) []analytics.Decision {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]analytics.Decision, 0, len(rows)*5/4)
	for i, d := range rows {
		out = append(out, d)
		if r.IntN(5) == 0 {
			// A redelivery soon after (often in the same batch) or much later.
			j := i - r.IntN(min(i+1, 50))
			out = append(out, Clone(rows[j]))
			if r.IntN(4) == 0 {
				out = append(out, Clone(rows[r.IntN(i+1)]))
			}
		}
	}
	return out
}

func testEmpty(t *testing.T, s analytics.Store) {
	ctx := ctxFor(t)
	require.NoError(t, s.Write(ctx, nil), "writing no rows")
	for _, info := range analytics.Reports() {
		got, err := s.Report(ctx, info.Name, analytics.Params{})
		require.NoError(t, err, info.Name)
		want := analytics.NewTable(info)
		RequireTable(t, want, got, info.Name)
		require.NotNil(t, got.Rows, info.Name)
	}
}

func testReports(t *testing.T, s analytics.Store) {
	ctx := ctxFor(t)
	base := Generate(1, N, Start, "d")
	// A decision exactly at the start of a day and one at the last second
	// of a month: day and partition boundaries.
	base[0].DecidedAt = time.Date(2026, 1, 28, 0, 0, 0, 0, time.UTC)
	base[1].DecidedAt = time.Date(2026, 1, 31, 23, 59, 59, 999_999_999, time.UTC)
	rows := WithRedeliveries(2, base)
	require.Greater(t, len(rows), len(base)+N/10, "the set has redeliveries")
	WriteInBatches(ctx, t, s, rows, 97)
	for _, info := range analytics.Reports() {
		for pname, p := range ParamSets(base) {
			RequireReport(ctx, t, s, info.Name, rows, p, pname)
		}
	}
	// The reference itself must see what the generator put in: every
	// report has rows, the limits bite, and the windowed reports differ
	// from the full ones.
	for _, info := range analytics.Reports() {
		all, err := Expected(info.Name, rows, analytics.Params{})
		require.NoError(t, err)
		require.NotEmpty(t, all.Rows, info.Name)
		limited, err := Expected(info.Name, rows, analytics.Params{Limit: 3})
		require.NoError(t, err)
		require.Len(t, limited.Rows, 3, info.Name)
	}
	all, err := Expected(analytics.ReportOutcomesDaily, rows, analytics.Params{})
	require.NoError(t, err)
	var total int64
	for _, r := range all.Rows {
		total += r[2].(int64)
	}
	require.Equal(t, int64(N), total, "the reference counts each decision once")
}

func testRedelivery(t *testing.T, s analytics.Store) {
	ctx := ctxFor(t)
	base := Generate(3, 300, Start, "r")
	require.NoError(t, s.Write(ctx, base))
	before := map[string]*analytics.Table{}
	for _, name := range analytics.ReportNames() {
		got, err := s.Report(ctx, name, analytics.Params{})
		require.NoError(t, err)
		RequireTable(t, mustExpected(t, name, base, analytics.Params{}), got, name+" first write")
		before[name] = got
	}
	// The same decisions again: whole, in other batches, repeated within a
	// batch, and mixed with new ones.
	again := make([]analytics.Decision, 0, 2*len(base))
	for i := len(base) - 1; i >= 0; i-- {
		again = append(again, Clone(base[i]), Clone(base[i]))
	}
	WriteInBatches(ctx, t, s, again, 41)
	require.NoError(t, s.Write(ctx, base))
	for _, name := range analytics.ReportNames() {
		got, err := s.Report(ctx, name, analytics.Params{})
		require.NoError(t, err)
		RequireTable(t, before[name], got, name+" after redelivery")
	}
	more := Generate(4, 50, Start, "r2")
	mixed := append(append([]analytics.Decision{}, base[:100]...), more...)
	require.NoError(t, s.Write(ctx, mixed))
	all := append(append([]analytics.Decision{}, base...), more...)
	for _, name := range analytics.ReportNames() {
		RequireReport(ctx, t, s, name, all, analytics.Params{}, "after new rows mixed with redeliveries")
	}
}

func mustExpected(t *testing.T, name string, rows []analytics.Decision, p analytics.Params) *analytics.Table {
	t.Helper()
	want, err := Expected(name, rows, p)
	require.NoError(t, err)
	return want
}

func testConcurrent(t *testing.T, s analytics.Store) {
	ctx := ctxFor(t)
	base := Generate(5, 400, Start, "c")
	const writers = 6
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every writer writes an overlapping half of the rows, in its own
			// order and batch size: each row is written by several writers.
			r := rand.New(rand.NewPCG(uint64(w), 11))
			var mine []analytics.Decision
			for i, d := range base {
				if (i+w)%2 == 0 || i%writers == w {
					mine = append(mine, Clone(d))
				}
			}
			r.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
			n := 20 + 15*w
			for i := 0; i < len(mine); i += n {
				if err := s.Write(ctx, mine[i:min(i+n, len(mine))]); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	for _, name := range analytics.ReportNames() {
		RequireReport(ctx, t, s, name, base, analytics.Params{}, "after concurrent writes")
	}
}

func testInvalidRows(t *testing.T, s analytics.Store) {
	ctx := ctxFor(t)
	good := Generate(6, 1, Start, "v")[0]
	mod := func(f func(d *analytics.Decision)) analytics.Decision {
		d := Clone(good)
		d.DecisionID = "bad"
		f(&d)
		return d
	}
	cases := map[string]analytics.Decision{
		"empty decision id": mod(func(d *analytics.Decision) { d.DecisionID = "" }),
		"empty tenant":      mod(func(d *analytics.Decision) { d.TenantID = "" }),
		"empty session":     mod(func(d *analytics.Decision) { d.SessionID = "" }),
		"long tenant":       mod(func(d *analytics.Decision) { d.TenantID = strings.Repeat("t", analytics.MaxIDLen+1) }),
		"invalid utf-8":     mod(func(d *analytics.Decision) { d.SessionID = "\xff" }),
		"nul byte":          mod(func(d *analytics.Decision) { d.NodeID = "a\x00b" }),
		"unknown outcome":   mod(func(d *analytics.Decision) { d.Outcome = "MAYBE" }),
		"no decided_at":     mod(func(d *analytics.Decision) { d.DecidedAt = time.Time{} }),
		"decided too late":  mod(func(d *analytics.Decision) { d.DecidedAt = analytics.MaxTime }),
		"decided too early": mod(func(d *analytics.Decision) { d.DecidedAt = analytics.MinTime.Add(-time.Second) }),
		"NaN score":         mod(func(d *analytics.Decision) { d.Score = math.NaN() }),
		"negative latency":  mod(func(d *analytics.Decision) { d.LatencyMS = -1 }),
		"infinite latency":  mod(func(d *analytics.Decision) { d.LatencyMS = math.Inf(1) }),
		"empty reason code": mod(func(d *analytics.Decision) { d.ReasonCodes = []string{""} }),
		"hit version not screened": mod(func(d *analytics.Decision) {
			d.ListVersions = []string{"a@1"}
			d.HitListVersions = []string{"b@1"}
		}),
		"duplicate check kind": mod(func(d *analytics.Decision) {
			d.Checks = []analytics.Check{{Kind: "FACE", Status: "PASS"}, {Kind: "FACE", Status: "FAIL"}}
		}),
		"empty check kind":    mod(func(d *analytics.Decision) { d.Checks = []analytics.Check{{Status: "PASS"}} }),
		"reserved check kind": mod(func(d *analytics.Decision) { d.Checks = []analytics.Check{{Kind: analytics.EndToEnd, Status: "PASS"}} }),
		"empty check status":  mod(func(d *analytics.Decision) { d.Checks = []analytics.Check{{Kind: "FACE"}} }),
		"check latency NaN": mod(func(d *analytics.Decision) {
			d.Checks = []analytics.Check{{Kind: "FACE", Status: "PASS", LatencyMS: math.NaN()}}
		}),
		"negative attempts": mod(func(d *analytics.Decision) {
			d.Checks = []analytics.Check{{Kind: "FACE", Status: "PASS", Attempts: -1}}
		}),
		"negative hits":        mod(func(d *analytics.Decision) { d.ScreeningHits = -1 }),
		"submitted far future": mod(func(d *analytics.Decision) { d.SubmittedAt = analytics.MaxTime.Add(time.Hour) }),
	}
	for name, bad := range cases {
		require.ErrorIs(t, analytics.Validate(bad), analytics.ErrInvalidArgument, name)
		// The valid row in the same batch is not written either.
		require.ErrorIs(t, s.Write(ctx, []analytics.Decision{good, bad}), analytics.ErrInvalidArgument, name)
	}
	got, err := s.Report(ctx, analytics.ReportOutcomesDaily, analytics.Params{})
	require.NoError(t, err)
	require.Empty(t, got.Rows, "nothing of a batch with an invalid row is written")
	require.NoError(t, s.Write(ctx, []analytics.Decision{good}))
	RequireReport(ctx, t, s, analytics.ReportOutcomesDaily, []analytics.Decision{good}, analytics.Params{}, "the valid row alone")
}

func testInvalidReports(t *testing.T, s analytics.Store) {
	ctx := ctxFor(t)
	_, err := s.Report(ctx, "no_such_report", analytics.Params{})
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)
	_, err = s.Report(ctx, "outcomes_daily; DROP TABLE decisions", analytics.Params{})
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)
	_, err = s.Report(ctx, analytics.ReportSTPRate, analytics.Params{From: Start, To: Start.Add(-time.Second)})
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)
	_, err = s.Report(ctx, analytics.ReportSTPRate, analytics.Params{Limit: -1})
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)
	_, err = s.Report(ctx, analytics.ReportSTPRate, analytics.Params{Tenant: "\xff"})
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)
	// A tenant id that would break naive SQL quoting is just a tenant.
	rows := Generate(7, 20, Start, "q")
	for i := range rows {
		rows[i].TenantID = `it's "quoted" \ ; --`
	}
	require.NoError(t, s.Write(ctx, rows))
	RequireReport(ctx, t, s, analytics.ReportSTPRate, rows, analytics.Params{Tenant: rows[0].TenantID}, "quoted tenant")
}

func testMigrate(t *testing.T, s analytics.Store) {
	ctx := ctxFor(t)
	rows := Generate(8, 50, Start, "m")
	require.NoError(t, s.Write(ctx, rows))
	require.NoError(t, s.Migrate(ctx), "migrating a migrated store")
	require.NoError(t, s.Migrate(ctx))
	for _, name := range analytics.ReportNames() {
		RequireReport(ctx, t, s, name, rows, analytics.Params{}, "after Migrate again")
	}
}

func testContextCancelled(t *testing.T, s analytics.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rows := Generate(9, 5, Start, "x")
	require.ErrorIs(t, s.Write(ctx, rows), context.Canceled)
	_, err := s.Report(ctx, analytics.ReportSTPRate, analytics.Params{})
	require.ErrorIs(t, err, context.Canceled)
	got, err := s.Report(ctxFor(t), analytics.ReportSTPRate, analytics.Params{})
	require.NoError(t, err)
	require.Empty(t, got.Rows, "a write with a cancelled context stores nothing")
}

func testClose(t *testing.T, s analytics.Store) {
	ctx := ctxFor(t)
	require.NoError(t, s.Write(ctx, Generate(10, 3, Start, "z")))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	require.ErrorIs(t, s.Write(ctx, Generate(10, 1, Start, "y")), analytics.ErrClosed)
	_, err := s.Report(ctx, analytics.ReportSTPRate, analytics.Params{})
	require.ErrorIs(t, err, analytics.ErrClosed)
	require.ErrorIs(t, s.Migrate(ctx), analytics.ErrClosed)
}

// BenchmarkWrite writes b.N batches of batch new decisions (generated, 3
// checks each on average) into s and reports rows/s (decision rows; their
// check rows are written too).
func BenchmarkWrite(b *testing.B, s analytics.Sink, batch int) {
	ctx := context.Background()
	pool := Generate(42, batch, Start, "bench")
	batches := make([][]analytics.Decision, b.N)
	for i := range batches {
		rows := make([]analytics.Decision, batch)
		for j := range rows {
			rows[j] = pool[j]
			rows[j].DecisionID = fmt.Sprintf("b%d-%d", i, j)
		}
		batches[i] = rows
	}
	b.ResetTimer()
	for i := range b.N {
		if err := s.Write(ctx, batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
}
