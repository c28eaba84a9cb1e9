package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/analytics/analyticstest"
	"github.com/openekyc/ekyc/store/analytics/duckstore"
)

// TestAnalyticsCLI: `ekyc analytics` runs a report against the configured
// (embedded) store and prints the counts the store holds.
func TestAnalyticsCLI(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("EKYC_DATA_DIR", dir)
	t.Setenv("EKYC_POLICIES_DIR", filepath.Join("..", "..", "deploy", "policies"))
	ctx := context.Background()
	st, err := duckstore.Open(ctx, filepath.Join(dir, "analytics", duckstore.FileName))
	require.NoError(t, err)
	rows := analyticstest.Generate(3, 40, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), "cli")
	require.NoError(t, st.Write(ctx, rows))
	require.NoError(t, st.Close())

	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"analytics", "-csv", "stp_rate"}, nil, &out, &errb), errb.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Greater(t, len(lines), 1, out.String())
	require.True(t, strings.HasPrefix(lines[0], "tenant,"), lines[0])
	// The decisions column sums to the rows written.
	total := 0
	for _, l := range lines[1:] {
		n, err := strconv.Atoi(strings.Split(l, ",")[1])
		require.NoError(t, err, l)
		total += n
	}
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r.DecisionID] = true
	}
	require.Equal(t, len(ids), total)

	out.Reset()
	require.Equal(t, 0, run([]string{"analytics", "-list"}, nil, &out, &errb))
	require.Contains(t, out.String(), "check_latency")
	require.Equal(t, 2, run([]string{"analytics", "no_such_report"}, nil, &out, &errb))
	require.Contains(t, errb.String(), "unknown report")
	require.Equal(t, 2, run([]string{"analytics", "-from", "yesterday", "stp_rate"}, nil, &out, &errb))
}
