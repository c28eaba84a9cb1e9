package node_test

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

const dbTokenEnv = "EKYC_TEST_DBVERIFY_TOKEN"

// e2eRegistry is an identity registry over HTTP: one record (the specimen
// passport holder of testdata/requests/approve.json) keyed by document
// number, a bearer token, and an outage for the surname "Outage".
func e2eRegistry(t *testing.T, token string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) != 1 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var q struct {
			Person struct {
				FirstName, LastName, BirthDate string
			} `json:"person"`
			Document struct {
				Number string `json:"number"`
			} `json:"document"`
		}
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if q.Person.LastName == "Outage" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if q.Document.Number != "L898902C3" {
			_, _ = w.Write([]byte(`{"status": "NOT_FOUND", "transactionId": "TX-0"}`))
			return
		}
		name, dob := "N", q.Person.BirthDate == "1985-08-12"
		if q.Person.FirstName == "Anna Maria" && q.Person.LastName == "Eriksson" {
			name = "Y"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "FOUND", "transactionId": "TX-1001",
			"result": map[string]any{"nameMatch": name, "birthDateMatch": dob}})
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func writeMapping(t *testing.T, url string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "registry.yaml")
	require.NoError(t, os.WriteFile(p, []byte(fmt.Sprintf(`
url: %s
auth_header: {name: Authorization, prefix: "Bearer ", value_env: %s}
timeout: 2s
retries: 1
backoff: 1ms
breaker: {failures: 50, cooldown: 1m}
required: [surname, document_number]
request_template: |
  {"person": {"firstName": "{{given_names}}", "lastName": "{{surname}}", "birthDate": "{{date_of_birth}}"},
   "document": {"number": "{{document_number}}", "type": "{{document_type}}"}}
response:
  found: {path: status, found: [FOUND], not_found: [NOT_FOUND]}
  reference: transactionId
  fields:
    name: {path: result.nameMatch, match: ["Y"], no_match: ["N"]}
    date_of_birth: {path: result.birthDateMatch, match: [true], no_match: [false]}
`, url, dbTokenEnv)), 0o600))
	return p
}

// TestDatabaseVerificationEndToEnd runs the database check through Kafka →
// session actor → HTTP registry → decision: a full match approves, a
// different date of birth goes to review, a stranger is rejected, an
// outage is an ERROR check (review), a tenant on another connector is
// routed to it, and a tenant without a connector gets CHECK_UNAVAILABLE.
func TestDatabaseVerificationEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const token = "e2e-registry-token"
	t.Setenv(dbTokenEnv, token)
	srv, requests := e2eRegistry(t, token)
	mapping := writeMapping(t, srv.URL)

	cfg := testConfig(t)
	cfg.Tenants = append(cfg.Tenants, config.Tenant{ID: "acme", DefaultPolicy: "default"}, config.Tenant{ID: "other", DefaultPolicy: "default"})
	cfg.DBVerify = config.DBVerify{Connectors: []string{"gov=" + mapping, "bureau=" + mapping}, Tenants: []string{"demo=gov", "acme=bureau"}}
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	defer n.Close(true)

	base := sampleRequest(t, "approve.json", ekycv1.CheckKind_CHECK_KIND_DOCUMENT, ekycv1.CheckKind_CHECK_KIND_DATABASE)
	mk := func(id string, edit func(r *ekycv1.VerificationRequest)) *ekycv1.VerificationRequest {
		r := proto.Clone(base).(*ekycv1.VerificationRequest)
		r.SessionId, r.EventId = id, "evt-"+id
		if edit != nil {
			edit(r)
		}
		return r
	}
	// Only the database check where the declared data no longer agrees
	// with the MRZ (the document check would reject those on its own).
	dbOnly := []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DATABASE}
	reqs := []*ekycv1.VerificationRequest{
		mk("db-match", nil),
		mk("db-partial", func(r *ekycv1.VerificationRequest) {
			r.Applicant.DateOfBirth, r.RequestedChecks = "1985-08-13", dbOnly
		}),
		mk("db-nomatch", func(r *ekycv1.VerificationRequest) {
			r.Applicant.GivenNames, r.Applicant.Surname, r.Applicant.DateOfBirth, r.RequestedChecks = "Erik", "Andersson", "1970-01-01", dbOnly
		}),
		mk("db-outage", func(r *ekycv1.VerificationRequest) { r.Applicant.Surname, r.RequestedChecks = "Outage", dbOnly }),
		mk("db-acme", func(r *ekycv1.VerificationRequest) { r.TenantId = "acme" }),
		mk("db-other", func(r *ekycv1.VerificationRequest) { r.TenantId = "other" }),
	}
	var recs []*kgo.Record
	for _, r := range reqs {
		v, err := proto.Marshal(r)
		require.NoError(t, err)
		recs = append(recs, &kgo.Record{Topic: cfg.Kafka.Topics.Requests, Key: []byte(r.SessionId), Value: v})
	}
	require.NoError(t, mustClient(t, n.Brokers()).ProduceSync(ctx, recs...).FirstErr())
	out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions) >= len(reqs) })
	require.NoError(t, ctx.Err())
	require.Empty(t, out.dlq)

	dbOf := func(id string) (*ekycv1.Decision, *ekycv1.CheckResult) {
		t.Helper()
		ds := out.decisions[id]
		require.Len(t, ds, 1, id)
		for _, c := range ds[0].GetChecks() {
			if c.GetKind() == ekycv1.CheckKind_CHECK_KIND_DATABASE {
				return ds[0], c
			}
		}
		t.Fatalf("%s: no database check in %v", id, ds[0])
		return nil, nil
	}

	d, c := dbOf("db-match")
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, c.GetStatus(), "%v %s", c.GetReasonCodes(), c.GetError())
	require.True(t, findSignal(c, "name.match").GetFlag())
	require.True(t, findSignal(c, "date_of_birth.match").GetFlag())
	require.Equal(t, "match", findSignal(c, "outcome").GetText())
	require.Equal(t, "gov", findSignal(c, "connector").GetText())
	require.Equal(t, "TX-1001", findSignal(c, "reference").GetText())
	require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, d.GetOutcome(), d.GetReasonCodes())

	d, c = dbOf("db-partial")
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, c.GetStatus())
	require.Equal(t, []string{"DATABASE_PARTIAL_MATCH"}, c.GetReasonCodes())
	require.True(t, findSignal(c, "name.match").GetFlag())
	require.False(t, findSignal(c, "date_of_birth.match").GetFlag())
	require.Equal(t, ekycv1.Outcome_OUTCOME_REVIEW, d.GetOutcome())
	require.Contains(t, d.GetReasonCodes(), "DATABASE_PARTIAL_MATCH")

	d, c = dbOf("db-nomatch")
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_FAIL, c.GetStatus())
	require.Equal(t, []string{"DATABASE_NO_MATCH"}, c.GetReasonCodes())
	require.Equal(t, ekycv1.Outcome_OUTCOME_REJECT, d.GetOutcome())
	require.Contains(t, d.GetReasonCodes(), "DATABASE_NO_MATCH")

	d, c = dbOf("db-outage")
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_ERROR, c.GetStatus())
	require.Equal(t, []string{"DATABASE_UNAVAILABLE"}, c.GetReasonCodes())
	require.Contains(t, c.GetError(), "HTTP 503")
	require.NotContains(t, c.GetError(), "Outage", "no applicant data in the error")
	require.Equal(t, ekycv1.Outcome_OUTCOME_REVIEW, d.GetOutcome())
	require.Contains(t, d.GetReasonCodes(), "DATABASE_UNAVAILABLE")

	_, c = dbOf("db-acme")
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, c.GetStatus())
	require.Equal(t, "bureau", findSignal(c, "connector").GetText())

	d, c = dbOf("db-other")
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_ERROR, c.GetStatus())
	require.Equal(t, []string{"CHECK_UNAVAILABLE"}, c.GetReasonCodes())
	require.Contains(t, c.GetError(), "no database connector")
	require.Equal(t, ekycv1.Outcome_OUTCOME_REVIEW, d.GetOutcome())

	// match, partial, no match, acme: one request each; the outage: one
	// attempt and one retry (the actor does not retry on top).
	require.EqualValues(t, 6, requests.Load())
}

// TestDatabaseVerificationStartErrors: a node does not start with a
// connector it cannot use, and says why without printing the secret.
func TestDatabaseVerificationStartErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, _ := e2eRegistry(t, "x")
	cfg := testConfig(t)
	cfg.DBVerify = config.DBVerify{Connectors: []string{"gov=" + writeMapping(t, srv.URL)}, Default: "gov"}
	t.Setenv(dbTokenEnv, "")
	_, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()))
	require.ErrorContains(t, err, dbTokenEnv+" is not set")

	cfg = testConfig(t)
	cfg.DBVerify = config.DBVerify{Connectors: []string{"gov=" + filepath.Join(t.TempDir(), "missing.yaml")}, Default: "gov"}
	_, err = node.Start(ctx, cfg, node.WithLogger(quietLogger()))
	require.ErrorContains(t, err, "connector gov")
}

func TestDatabaseVerificationConfig(t *testing.T) {
	base := []string{"EKYC_DATA_DIR=" + t.TempDir(), "EKYC_NODE_ID=test"}
	cfg, err := config.Load("", append(base, "EKYC_DBVERIFY_CONNECTORS=gov=a.yaml"))
	require.NoError(t, err)
	require.Equal(t, "gov", cfg.DBVerify.Default, "the only connector is the default")

	for _, tc := range []struct {
		env []string
		msg string
	}{
		{[]string{"EKYC_DBVERIFY_CONNECTORS=gov"}, `"gov" is not name=mapping-file`},
		{[]string{"EKYC_DBVERIFY_CONNECTORS=Gov Reg=a.yaml"}, `name "Gov Reg"`},
		{[]string{"EKYC_DBVERIFY_CONNECTORS=gov=a.yaml,gov=b.yaml"}, `"gov" listed twice`},
		{[]string{"EKYC_DBVERIFY_CONNECTORS=gov=a.yaml,bureau=b.yaml", "EKYC_DBVERIFY_DEFAULT=state"}, `dbverify.default: "state" is not a configured connector`},
		{[]string{"EKYC_DBVERIFY_CONNECTORS=gov=a.yaml", "EKYC_DBVERIFY_TENANTS=nobody=gov"}, `unknown tenant "nobody"`},
		{[]string{"EKYC_DBVERIFY_CONNECTORS=gov=a.yaml", "EKYC_DBVERIFY_TENANTS=demo=state"}, `tenant "demo": "state" is not a configured connector`},
		{[]string{"EKYC_DBVERIFY_TENANTS=demo"}, `"demo" is not tenant=connector`},
	} {
		_, err := config.Load("", append(base, tc.env...))
		require.ErrorContains(t, err, tc.msg, tc.env)
	}
}
