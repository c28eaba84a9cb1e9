package duckstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/analytics"
	"github.com/openekyc/ekyc/store/analytics/analyticstest"
	"github.com/openekyc/ekyc/store/analytics/duckstore"
)

func open(t testing.TB, path string, opts ...duckstore.Option) *duckstore.Store {
	t.Helper()
	s, err := duckstore.Open(context.Background(), path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func tempPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "analytics", duckstore.FileName)
}

func TestDuckDBConformance(t *testing.T) {
	analyticstest.Run(t, func(t *testing.T) analytics.Store { return open(t, tempPath(t), duckstore.WithThreads(2)) })
}

func TestOpenArguments(t *testing.T) {
	ctx := context.Background()
	_, err := duckstore.Open(ctx, "")
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)
	_, err = duckstore.Open(ctx, tempPath(t), duckstore.WithThreads(-1))
	require.ErrorIs(t, err, analytics.ErrInvalidArgument)
	for _, bad := range []string{"lots", "1GB'; DROP TABLE x; --", "GB"} {
		_, err = duckstore.Open(ctx, tempPath(t), duckstore.WithMemoryLimit(bad))
		require.ErrorIs(t, err, analytics.ErrInvalidArgument, bad)
	}
	s := open(t, tempPath(t), duckstore.WithThreads(1), duckstore.WithMemoryLimit("256MB"))
	require.NoError(t, s.Write(ctx, analyticstest.Generate(1, 10, analyticstest.Start, "o")))
}

// The rows survive a reopen, in one file, and reopening does not migrate
// again.
func TestSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	rows := analyticstest.WithRedeliveries(3, analyticstest.Generate(2, 300, analyticstest.Start, "p"))
	s := open(t, path)
	analyticstest.WriteInBatches(ctx, t, s, rows, 50)
	require.NoError(t, s.Close())

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{duckstore.FileName}, names, "one file after Close (the WAL is checkpointed)")

	s = open(t, path)
	ms, err := duckstore.Migrations()
	require.NoError(t, err)
	v, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, ms[len(ms)-1].Version, v)
	for _, name := range analytics.ReportNames() {
		analyticstest.RequireReport(ctx, t, s, name, rows, analytics.Params{}, "after reopen")
	}
	// Writing the same rows again after the reopen changes nothing.
	analyticstest.WriteInBatches(ctx, t, s, rows, 128)
	for _, name := range analytics.ReportNames() {
		analyticstest.RequireReport(ctx, t, s, name, rows, analytics.Params{}, "after rewriting into the reopened file")
	}
}

// docs/analytics.md shows every report's statement as ReportSQL renders
// it with a tenant filter, and every migration statement.
func TestDocsShowReportSQL(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "analytics.md"))
	require.NoError(t, err)
	for _, name := range analytics.ReportNames() {
		q, _ := duckstore.ReportSQL(name, analytics.Resolved{Tenant: "t"})
		require.Contains(t, string(doc), "```sql\n"+q+"\n```", "docs/analytics.md lacks the DuckDB SQL of %s", name)
	}
	ms, err := duckstore.Migrations()
	require.NoError(t, err)
	for _, m := range ms {
		for _, stmt := range m.Statements {
			require.Contains(t, string(doc), stmt, "docs/analytics.md lacks a statement of migration %d", m.Version)
		}
	}
}

// BenchmarkWrite measures rows/s into DuckDB in batches of 1000 and 10000
// decisions (with their check rows), into a fresh file each:
//
//	go test -run '^$' -bench BenchmarkWrite -benchtime 50x ./store/analytics/duckstore
func BenchmarkWrite(b *testing.B) {
	for _, batch := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			analyticstest.BenchmarkWrite(b, open(b, tempPath(b)), batch)
		})
	}
}
