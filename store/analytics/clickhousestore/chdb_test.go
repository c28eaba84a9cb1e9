package clickhousestore_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/analytics"
	"github.com/openekyc/ekyc/store/analytics/analyticstest"
	"github.com/openekyc/ekyc/store/analytics/clickhousestore"
)

// Current ClickHouse, without a server: EKYC_TEST_CHDB_PYTHON names a
// Python with chDB (PyPI chdb-core, the ClickHouse engine in process):
//
//	python3 -m venv var/chdb && var/chdb/bin/pip install chdb-core==26.9.0
//	EKYC_TEST_CHDB_PYTHON=$PWD/var/chdb/bin/python go test -run ChDB ./store/analytics/clickhousestore
const envChDB = "EKYC_TEST_CHDB_PYTHON"

// The migrations, every report statement (bound as the driver binds them)
// and every dashboard query run on a current ClickHouse engine, and the
// reports equal the Go reference: the statements are not tied to 18.16.
func TestCurrentClickHouseChDB(t *testing.T) {
	python := os.Getenv(envChDB)
	if python == "" {
		t.Skip(envChDB + " not set: no Python with chDB (pip install chdb-core) to run the statements on a current ClickHouse engine")
	}
	work := t.TempDir()
	base := analyticstest.Generate(1, analyticstest.N, analyticstest.Start, "d")
	rows := analyticstest.WithRedeliveries(2, base)
	writeJSONL(t, filepath.Join(work, "decisions.jsonl"), filepath.Join(work, "checks.jsonl"), rows)

	type query struct {
		ID  string `json:"id"`
		SQL string `json:"sql"`
	}
	var queries []query
	want := map[string]*analytics.Table{}
	for pname, p := range analyticstest.ParamSets(base) {
		for _, name := range analytics.ReportNames() {
			_, rp, err := analytics.Resolve(name, p)
			require.NoError(t, err)
			q, _ := clickhousestore.ReportSQL(name, rp)
			id := name + " " + pname
			queries = append(queries, query{id, bindLikeDriver(q, rp)})
			want[id], err = analyticstest.Expected(name, rows, p)
			require.NoError(t, err)
		}
	}
	b, err := json.Marshal(queries)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(work, "queries.json"), b, 0o600))

	cmd := exec.Command(python, "testdata/chdb_run.py", work, "migrations", filepath.Join("..", "..", "..", "deploy", "grafana", "ekyc-decisions.json"))
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("CHDB_FROM=%d", analyticstest.Start.Unix()),
		fmt.Sprintf("CHDB_TO=%d", analyticstest.Start.AddDate(0, 1, 0).Unix()),
		"CHDB_TENANTS='"+strings.Join(analyticstest.Tenants, "', '")+"'")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	var res struct {
		Version        string
		Raw, Final, MV int
		Results        map[string][][]any
		Panels         map[string]int
	}
	b, err = os.ReadFile(filepath.Join(work, "results.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &res))
	t.Logf("ClickHouse %s (chDB)", res.Version)
	require.Greater(t, res.Raw, len(base), "the copies are stored")
	require.Equal(t, len(base), res.Final, "FINAL counts each decision once")
	require.Equal(t, len(base), res.MV, "the materialized view counts each decision once")
	for id, w := range want {
		info, _ := analytics.LookupReport(w.Name)
		got := analytics.NewTable(info)
		for _, r := range res.Results[id] {
			row := make([]any, len(r))
			for i, v := range r {
				row[i] = fromJSON(t, info.Columns[i].Type, v)
			}
			got.Rows = append(got.Rows, row)
		}
		analyticstest.RequireTable(t, w, got, id)
	}
	require.NotEmpty(t, res.Panels)
	for title, n := range res.Panels {
		require.Positive(t, n, "dashboard panel %q returns rows", title)
	}
}

// bindLikeDriver binds a report's parameters as clickhouse-go does on the
// client side (times as toDateTime, strings quoted with \ escapes).
func bindLikeDriver(q string, rp analytics.Resolved) string {
	quote := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace
	return strings.NewReplacer(
		"@from", fmt.Sprintf("toDateTime(%d)", rp.From.Unix()),
		"@to", fmt.Sprintf("toDateTime(%d)", rp.To.Unix()),
		"@tenant", "'"+quote(rp.Tenant)+"'",
		"@limit", strconv.Itoa(rp.Limit),
	).Replace(q)
}

// fromJSON converts a JSONCompact cell (64-bit integers come quoted).
func fromJSON(t *testing.T, typ analytics.ColumnType, v any) any {
	t.Helper()
	switch typ {
	case analytics.Int:
		switch x := v.(type) {
		case string:
			n, err := strconv.ParseInt(x, 10, 64)
			require.NoError(t, err)
			return n
		case float64:
			return int64(x)
		}
	case analytics.Float:
		if f, ok := v.(float64); ok {
			return f
		}
	case analytics.String:
		if s, ok := v.(string); ok {
			return s
		}
	}
	require.Failf(t, "unexpected cell", "%T %v for a %s column", v, v, typ)
	return nil
}

// writeJSONL writes the rows as the tables' JSONEachRow (times as Unix
// seconds).
func writeJSONL(t *testing.T, decisionsPath, checksPath string, rows []analytics.Decision) {
	t.Helper()
	df, err := os.Create(decisionsPath)
	require.NoError(t, err)
	defer df.Close()
	cf, err := os.Create(checksPath)
	require.NoError(t, err)
	defer cf.Close()
	de, ce := json.NewEncoder(df), json.NewEncoder(cf)
	for _, r := range rows {
		n := analytics.Normalize(r)
		require.NoError(t, de.Encode(map[string]any{"decision_id": n.DecisionID, "tenant_id": n.TenantID,
			"session_id": n.SessionID, "event_id": n.EventID, "node_id": n.NodeID, "outcome": n.Outcome, "score": n.Score,
			"reason_codes": n.ReasonCodes, "policy_id": n.PolicyID, "policy_version": n.PolicyVersion,
			"document_type": n.DocumentType, "issuing_country": n.IssuingCountry, "applicant_country": n.ApplicantCountry,
			"screening_list_versions": n.ListVersions, "screening_hit_list_versions": n.HitListVersions,
			"screening_hits": n.ScreeningHits, "submitted_at": n.SubmittedAt.Unix(), "decided_at": n.DecidedAt.Unix(),
			"latency_ms": n.LatencyMS}))
		for _, c := range n.Checks {
			require.NoError(t, ce.Encode(map[string]any{"decision_id": n.DecisionID, "tenant_id": n.TenantID,
				"decided_at": n.DecidedAt.Unix(), "check_kind": c.Kind, "status": c.Status, "score": c.Score,
				"latency_ms": c.LatencyMS, "attempts": c.Attempts, "reason_codes": c.ReasonCodes}))
		}
	}
}
