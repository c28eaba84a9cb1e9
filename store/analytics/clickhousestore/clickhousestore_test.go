package clickhousestore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/analytics"
	"github.com/openekyc/ekyc/store/analytics/analyticstest"
	"github.com/openekyc/ekyc/store/analytics/clickhousestore"
)

// Tests against a ClickHouse server: EKYC_TEST_CLICKHOUSE=host:port (the
// native port). deploy/local/clickhouse.sh start runs Debian's 18.16 on
// 127.0.0.1:29000. Each test uses its own database, dropped at the end.
const envClickHouse = "EKYC_TEST_CLICKHOUSE"

func serverAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(envClickHouse)
	if addr == "" {
		t.Skip(envClickHouse + " not set: no ClickHouse server to test against; run `deploy/local/clickhouse.sh start` and set " +
			envClickHouse + "=127.0.0.1:29000")
	}
	return addr
}

// testConfig returns the configuration of a fresh database on the test
// server, dropped when the test ends, or skips the test.
func testConfig(t testing.TB) clickhousestore.Config {
	t.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	cfg := clickhousestore.Config{Addr: []string{serverAddr(t)}, Database: "ekyc_test_" + hex.EncodeToString(b)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := clickhousestore.DropDatabase(ctx, cfg); err != nil {
			t.Logf("drop database %s: %v", cfg.Database, err)
		}
	})
	return cfg
}

func openMigrated(t testing.TB, cfg clickhousestore.Config) *clickhousestore.Store {
	t.Helper()
	s, err := clickhousestore.Open(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, s.Migrate(ctx))
	return s
}

func TestClickHouseConformance(t *testing.T) {
	serverAddr(t)
	analyticstest.Run(t, func(t *testing.T) analytics.Store { return openMigrated(t, testConfig(t)) })
}

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]clickhousestore.Config{
		"no address":     {},
		"no port":        {Addr: []string{"localhost"}},
		"bad port":       {Addr: []string{"localhost:0"}},
		"empty host":     {Addr: []string{":9000"}},
		"bad database":   {Addr: []string{"localhost:9000"}, Database: "a-b"},
		"quote database": {Addr: []string{"localhost:9000"}, Database: "a`b"},
		"long database":  {Addr: []string{"localhost:9000"}, Database: strings.Repeat("a", 65)},
		"negative":       {Addr: []string{"localhost:9000"}, DialTimeout: -1},
		"bad setting":    {Addr: []string{"localhost:9000"}, InsertSettings: map[string]any{"a=1; DROP": 1}},
	} {
		_, err := clickhousestore.Open(cfg)
		require.ErrorIs(t, err, analytics.ErrInvalidArgument, name)
	}
	s, err := clickhousestore.Open(clickhousestore.Config{Addr: []string{"localhost:9000"}})
	require.NoError(t, err, "Open does not connect")
	require.Equal(t, clickhousestore.DefaultDatabase, s.Database())
	require.NoError(t, s.Close())
}

func TestMigrationsAreEmbedded(t *testing.T) {
	ms, err := clickhousestore.Migrations()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ms), 2)
	for i, m := range ms {
		require.Equal(t, i+1, m.Version)
		for _, stmt := range m.Statements {
			require.Contains(t, stmt, "IF NOT EXISTS", "every statement can run twice: %s", stmt)
			for _, banned := range []string{"DateTime64", "Map(", "LowCardinality", "INSERT"} {
				require.NotContains(t, stmt, banned, "not on ClickHouse 18.16 / not in a migration: %s", stmt)
			}
		}
	}
}

// A server that is down is ErrUnavailable, whatever the call.
func TestUnavailable(t *testing.T) {
	s, err := clickhousestore.Open(clickhousestore.Config{Addr: []string{"127.0.0.1:1"}, DialTimeout: time.Second})
	require.NoError(t, err)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows := analyticstest.Generate(1, 3, analyticstest.Start, "u")
	require.ErrorIs(t, s.Write(ctx, rows), analytics.ErrUnavailable)
	_, err = s.Report(ctx, analytics.ReportSTPRate, analytics.Params{})
	require.ErrorIs(t, err, analytics.ErrUnavailable)
	require.ErrorIs(t, s.Migrate(ctx), analytics.ErrUnavailable)
	require.ErrorIs(t, s.Ping(ctx), analytics.ErrUnavailable)
	// Invalid rows are rejected before any connection.
	rows[0].Outcome = "MAYBE"
	require.ErrorIs(t, s.Write(ctx, rows), analytics.ErrInvalidArgument)
}

func TestNotMigrated(t *testing.T) {
	cfg := testConfig(t)
	s, err := clickhousestore.Open(cfg)
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	require.ErrorIs(t, s.Write(ctx, analyticstest.Generate(1, 3, analyticstest.Start, "n")), analytics.ErrNotMigrated)
	_, err = s.SchemaVersion(ctx)
	require.ErrorIs(t, err, analytics.ErrNotMigrated)
	require.NoError(t, s.Migrate(ctx))
	ms, err := clickhousestore.Migrations()
	require.NoError(t, err)
	v, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, ms[len(ms)-1].Version, v)
	require.NoError(t, s.Write(ctx, analyticstest.Generate(1, 3, analyticstest.Start, "n")))
}

// Two stores migrating the same database at once end with one schema.
func TestConcurrentMigrate(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := clickhousestore.Open(cfg)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Migrate(ctx)
		}()
	}
	for range 3 {
		require.NoError(t, <-errs)
	}
	s := openMigrated(t, cfg)
	rows := analyticstest.Generate(2, 40, analyticstest.Start, "cm")
	require.NoError(t, s.Write(ctx, rows))
	analyticstest.RequireReport(ctx, t, s, analytics.ReportOutcomesDaily, rows, analytics.Params{}, "after concurrent migrations")
}

// The dashboard aggregates count every decision once, redeliveries
// included, before and after merges, and agree with the reports.
func TestMaterializedViews(t *testing.T) {
	cfg := testConfig(t)
	s := openMigrated(t, cfg)
	ctx := context.Background()
	base := analyticstest.Generate(11, 500, analyticstest.Start, "mv")
	rows := analyticstest.WithRedeliveries(12, base)
	analyticstest.WriteInBatches(ctx, t, s, rows, 64)
	analyticstest.WriteInBatches(ctx, t, s, base[:100], 33)

	conn, err := clickhouse.Open(&clickhouse.Options{Addr: cfg.Addr, Auth: clickhouse.Auth{Database: cfg.Database}})
	require.NoError(t, err)
	defer conn.Close()
	check := func(stage string) {
		want, err := analyticstest.Expected(analytics.ReportOutcomesDaily, rows, analytics.Params{})
		require.NoError(t, err)
		counts := map[string]int64{}
		for _, r := range want.Rows {
			key := r[0].(string) + "/" + r[1].(string)
			counts[key+"/APPROVE"] = r[3].(int64)
			counts[key+"/REVIEW"] = r[4].(int64)
			counts[key+"/REJECT"] = r[5].(int64)
			counts[key+"/UNSPECIFIED"] = r[2].(int64) - r[3].(int64) - r[4].(int64) - r[5].(int64)
		}
		got := map[string]int64{}
		q, err := conn.Query(ctx, `SELECT toString(day), tenant_id, outcome, toInt64(uniqExactMerge(decisions))
			FROM outcomes_daily GROUP BY day, tenant_id, outcome`)
		require.NoError(t, err)
		for q.Next() {
			var day, tenant, outcome string
			var n int64
			require.NoError(t, q.Scan(&day, &tenant, &outcome, &n))
			got[day+"/"+tenant+"/"+outcome] = n
		}
		require.NoError(t, q.Err())
		q.Close()
		for k, v := range counts {
			if v == 0 {
				delete(counts, k)
			}
		}
		require.Equal(t, counts, got, "outcomes_daily %s", stage)

		top, err := analyticstest.Expected(analytics.ReportTopReasonCodes, rows, analytics.Params{Limit: 1000})
		require.NoError(t, err)
		wantCodes := map[string]int64{}
		for _, r := range top.Rows {
			wantCodes[r[0].(string)] = r[1].(int64)
		}
		gotCodes := map[string]int64{}
		q, err = conn.Query(ctx, `SELECT reason_code, toInt64(uniqExactMerge(decisions)) FROM reason_codes_daily GROUP BY reason_code`)
		require.NoError(t, err)
		for q.Next() {
			var code string
			var n int64
			require.NoError(t, q.Scan(&code, &n))
			gotCodes[code] = n
		}
		require.NoError(t, q.Err())
		q.Close()
		require.Equal(t, wantCodes, gotCodes, "reason_codes_daily %s", stage)
	}
	check("before merges")
	var raw, final uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM decisions").Scan(&raw))
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM decisions FINAL").Scan(&final))
	require.Greater(t, raw, final, "redeliveries are stored until merged")
	require.Equal(t, uint64(len(base)), final)
	for _, table := range []string{"decisions", "decision_checks", "outcomes_daily", "reason_codes_daily"} {
		require.NoError(t, conn.Exec(ctx, "OPTIMIZE TABLE "+table+" FINAL"))
	}
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM decisions").Scan(&raw))
	require.Equal(t, uint64(len(base)), raw, "merges collapse the redeliveries")
	check("after merges")
	for _, name := range analytics.ReportNames() {
		analyticstest.RequireReport(ctx, t, s, name, rows, analytics.Params{}, "after merges")
	}
}

func TestInsertSettings(t *testing.T) {
	cfg := testConfig(t)
	openMigrated(t, cfg)
	ctx := context.Background()
	cfg.InsertSettings = map[string]any{"max_insert_block_size": 100000}
	s, err := clickhousestore.Open(cfg)
	require.NoError(t, err)
	defer s.Close()
	rows := analyticstest.Generate(3, 10, analyticstest.Start, "is")
	require.NoError(t, s.Write(ctx, rows))
	analyticstest.RequireReport(ctx, t, s, analytics.ReportSTPRate, rows, analytics.Params{}, "with insert settings")

	cfg.InsertSettings = map[string]any{"no_such_setting_in_any_version": 1}
	bad, err := clickhousestore.Open(cfg)
	require.NoError(t, err)
	defer bad.Close()
	err = bad.Write(ctx, rows)
	require.Error(t, err, "an unknown setting is not ignored")
	require.NotErrorIs(t, err, analytics.ErrUnavailable)
}

// Every query of the Grafana dashboard runs on the server (with the
// plugin's macros and the dashboard's variables expanded) and returns rows.
func TestGrafanaDashboardQueries(t *testing.T) {
	cfg := testConfig(t)
	s := openMigrated(t, cfg)
	ctx := context.Background()
	rows := analyticstest.WithRedeliveries(21, analyticstest.Generate(20, 300, analyticstest.Start, "g"))
	require.NoError(t, s.Write(ctx, rows))

	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "grafana", "ekyc-decisions.json"))
	require.NoError(t, err)
	var dash struct {
		UID        string
		Templating struct {
			List []struct{ Name, Query string }
		}
		Panels []struct {
			Title      string
			Datasource struct{ Type string }
			Targets    []struct {
				RawSQL string `json:"rawSql"`
			}
		}
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.Equal(t, "ekyc-decisions", dash.UID)
	require.NotEmpty(t, dash.Panels)

	from := analyticstest.Start.Unix()
	to := analyticstest.Start.AddDate(0, 1, 0).Unix()
	tenants := "'" + strings.Join(analyticstest.Tenants, "', '") + "'"
	expand := regexp.MustCompile(`\$__timeFilter\(([a-z_]+)\)`)
	sql := func(q string) string {
		q = expand.ReplaceAllString(q, fmt.Sprintf("$1 >= toDateTime(%d) AND $1 <= toDateTime(%d)", from, to))
		q = strings.NewReplacer("$__fromTime", fmt.Sprintf("toDateTime(%d)", from), "$__toTime", fmt.Sprintf("toDateTime(%d)", to),
			"${db}", "`"+cfg.Database+"`", "${tenant:singlequote}", tenants).Replace(q)
		require.NotContains(t, q, "$", "an unexpanded macro or variable")
		return q
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: cfg.Addr, Auth: clickhouse.Auth{Database: cfg.Database}})
	require.NoError(t, err)
	defer conn.Close()
	count := func(what, q string) {
		r, err := conn.Query(ctx, sql(q))
		require.NoError(t, err, "%s:\n%s", what, sql(q))
		n := 0
		for r.Next() {
			n++
		}
		require.NoError(t, r.Err(), what)
		r.Close()
		require.Positive(t, n, "%s returns rows", what)
	}
	for _, v := range dash.Templating.List {
		if v.Name == "tenant" {
			count("variable tenant", v.Query)
		}
	}
	for _, p := range dash.Panels {
		require.Equal(t, "grafana-clickhouse-datasource", p.Datasource.Type, p.Title)
		require.Len(t, p.Targets, 1, p.Title)
		count(p.Title, p.Targets[0].RawSQL)
	}
}

// docs/analytics.md shows every report's statement as ReportSQL renders
// it with a tenant filter.
func TestDocsShowReportSQL(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "analytics.md"))
	require.NoError(t, err)
	for _, name := range analytics.ReportNames() {
		q, _ := clickhousestore.ReportSQL(name, analytics.Resolved{Tenant: "t"})
		require.Contains(t, string(doc), "```sql\n"+q+"\n```", "docs/analytics.md lacks the ClickHouse SQL of %s", name)
	}
	for _, m := range mustMigrations(t) {
		for _, stmt := range m.Statements {
			require.Contains(t, string(doc), stmt, "docs/analytics.md lacks a statement of migration %d", m.Version)
		}
	}
}

func mustMigrations(t *testing.T) []clickhousestore.Migration {
	ms, err := clickhousestore.Migrations()
	require.NoError(t, err)
	return ms
}

// BenchmarkWrite measures rows/s into ClickHouse in batches of 1000 and
// 10000 decisions (with their check rows), into a fresh database each:
//
//	EKYC_TEST_CLICKHOUSE=127.0.0.1:29000 go test -run '^$' -bench BenchmarkWrite -benchtime 50x ./store/analytics/clickhousestore
func BenchmarkWrite(b *testing.B) {
	for _, batch := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			analyticstest.BenchmarkWrite(b, openMigrated(b, testConfig(b)), batch)
		})
	}
}
