package node_test

// Integration test of the analytics pipeline against a real ClickHouse
// (Debian's clickhouse-server, started by deploy/local/clickhouse.sh):
//
//	deploy/local/clickhouse.sh start
//	EKYC_TEST_CLICKHOUSE=127.0.0.1:29000 EKYC_TEST_CLICKHOUSE_RESTART=1 go test -count=1 -run TestAnalyticsClickHouse ./node/
//
// The test stops and restarts that server, so it also needs
// EKYC_TEST_CLICKHOUSE_RESTART=1 (make itest sets both).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/testgen"
	"github.com/openekyc/ekyc/node"
	"github.com/openekyc/ekyc/store/analytics"
	"github.com/openekyc/ekyc/store/analytics/clickhousestore"
)

// TestAnalyticsClickHouseOutage: decisions flow to ClickHouse; while the
// server is stopped every decision is still published (the decision path
// never waits for analytics), and once it is back every row arrives,
// exactly once.
func TestAnalyticsClickHouseOutage(t *testing.T) {
	addr := os.Getenv("EKYC_TEST_CLICKHOUSE")
	if addr == "" {
		t.Skip("EKYC_TEST_CLICKHOUSE not set: no real ClickHouse; run deploy/local/clickhouse.sh start (make itest does)")
	}
	if os.Getenv("EKYC_TEST_CLICKHOUSE_RESTART") == "" {
		t.Skip("EKYC_TEST_CLICKHOUSE_RESTART=1 not set: this test stops and restarts the server of deploy/local/clickhouse.sh")
	}
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	script, err := filepath.Abs(filepath.Join("..", "deploy", "local", "clickhouse.sh"))
	require.NoError(t, err)
	ch := func(cmd string) {
		t.Helper()
		out, err := exec.Command(script, cmd).CombinedOutput()
		require.NoError(t, err, "clickhouse.sh %s: %s", cmd, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	cfg.Analytics.Backend = "clickhouse"
	cfg.Analytics.ClickHouse.Addr = []string{addr}
	cfg.Analytics.ClickHouse.Database = "ekyc_it_" + hex.EncodeToString(b)
	cfg.Analytics.MaxAge = config.Duration(200 * time.Millisecond)
	chCfg := clickhousestore.Config{Addr: []string{addr}, Database: cfg.Analytics.ClickHouse.Database}
	require.NoError(t, node.MigrateAnalytics(ctx, cfg))
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = clickhousestore.DropDatabase(c, chCfg)
	})

	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	defer n.Close(true)
	gen := testgen.New(7, fixedNow, "demo", cfg.Kafka.Topics.Requests, "chit")
	batch := func(k int) (cases []testgen.Case, valid int) {
		for len(cases) < k {
			c := gen.Next()
			if c.Malformed() {
				continue
			}
			cases = append(cases, c)
			valid++
		}
		return cases, valid
	}
	stored := func() int64 {
		tb, err := n.Analytics().Report(ctx, analytics.ReportOutcomesDaily, analytics.Params{Tenant: "demo"})
		if err != nil {
			return -1
		}
		var total int64
		for _, r := range tb.Rows {
			total += r[2].(int64)
		}
		return total
	}

	// 1. Server up: rows arrive.
	first, n1 := batch(60)
	produceAll(ctx, t, n.Brokers(), first)
	require.Eventually(t, func() bool { return stored() == int64(n1) }, 2*time.Minute, 200*time.Millisecond, "first rows in ClickHouse")

	// 2. Server down: every decision is still published.
	ch("stop")
	restarted := false
	defer func() {
		if !restarted {
			ch("start")
		}
	}()
	second, n2 := batch(60)
	produceAll(ctx, t, n.Brokers(), second)
	out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions) >= n1+n2 })
	require.Len(t, out.decisions, n1+n2, "every decision is published while ClickHouse is down")
	require.Eventually(t, func() bool { return kitMetric(t, n, "ekyc_analytics_write_failures_total") > 0 },
		time.Minute, 100*time.Millisecond, "writes fail (and are retried) while the server is down")
	require.Equal(t, int64(-1), stored(), "the server is down")

	// 3. Server back: the held rows arrive, and nothing counts twice.
	ch("start")
	restarted = true
	require.Eventually(t, func() bool { return stored() == int64(n1+n2) }, 3*time.Minute, 250*time.Millisecond,
		"every row arrives after ClickHouse returns")
	for _, ds := range out.decisions {
		require.Len(t, ds, 1, "one decision per session")
	}
}
