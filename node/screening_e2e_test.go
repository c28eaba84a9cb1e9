package node_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
)

// TestScreeningEndToEnd screens applicants through Kafka → session actor →
// screening check against the OFAC and UN subsets in testdata/screening: a
// listed person goes to review with the hit explained; the specimen holder
// passes; a node whose lists have not loaded is not ready.
func TestScreeningEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := testConfig(t)
	cfg.Screening.Lists = []string{"ofac=" + filepath.Join("..", "testdata", "screening", "ofac"),
		"un=" + filepath.Join("..", "testdata", "screening", "un", "consolidated.xml")}
	// An adverse-media provider speaking the services/screening/media
	// protocol: one article about the listed name, none about others.
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q struct {
			Name string `json:"name"`
		}
		_ = json.NewDecoder(r.Body).Decode(&q)
		if strings.Contains(strings.ToUpper(q.Name), "ZAWAHIRI") {
			_, _ = w.Write([]byte(`{"articles":[{"id":"n1","title":"…","url":"https://news.example/n1","score":0.93}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"articles":[]}`))
	}))
	defer provider.Close()
	cfg.Screening.Media.URL = provider.URL
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	defer n.Close(true)
	waitReady(t, n, "ready once the lists are loaded")

	base := sampleRequest(t, "approve.json", ekycv1.CheckKind_CHECK_KIND_DOCUMENT, ekycv1.CheckKind_CHECK_KIND_SCREENING)
	clean := proto.Clone(base).(*ekycv1.VerificationRequest)
	clean.SessionId, clean.EventId = "screen-clean", "evt-screen-clean"
	listed := proto.Clone(base).(*ekycv1.VerificationRequest)
	listed.SessionId, listed.EventId = "screen-listed", "evt-screen-listed"
	// OFAC SDN 2676 "AL ZAWAHIRI, Dr. Ayman", DOB 19 Jun 1951: reordered,
	// without the honorific, with a typo.
	listed.Applicant.GivenNames, listed.Applicant.Surname, listed.Applicant.DateOfBirth = "Aymen", "Al-Zawahiri", "1951-06-19"
	listed.Document, listed.RequestedChecks = nil, []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_SCREENING}
	var recs []*kgo.Record
	for _, r := range []*ekycv1.VerificationRequest{clean, listed} {
		v, err := proto.Marshal(r)
		require.NoError(t, err)
		recs = append(recs, &kgo.Record{Topic: cfg.Kafka.Topics.Requests, Key: []byte(r.SessionId), Value: v})
	}
	require.NoError(t, mustClient(t, n.Brokers()).ProduceSync(ctx, recs...).FirstErr())
	out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions) >= 2 })
	require.NoError(t, ctx.Err())

	screeningOf := func(d *ekycv1.Decision) *ekycv1.CheckResult {
		for _, c := range d.GetChecks() {
			if c.GetKind() == ekycv1.CheckKind_CHECK_KIND_SCREENING {
				return c
			}
		}
		t.Fatalf("no screening check in %v", d)
		return nil
	}
	cd := out.decisions["screen-clean"]
	require.Len(t, cd, 1)
	cs := screeningOf(cd[0])
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_PASS, cs.GetStatus(), cs.GetReasonCodes())
	require.Empty(t, cs.GetScreeningHits())
	require.Contains(t, findSignal(cs, "list_versions").GetText(), "ofac@")
	require.Contains(t, findSignal(cs, "list_versions").GetText(), "un@")
	require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, cd[0].GetOutcome(), cd[0].GetReasonCodes())
	require.True(t, findSignal(cs, "adverse_media_available").GetFlag())
	require.Zero(t, findSignal(cs, "adverse_media_hits").GetNumber())

	ld := out.decisions["screen-listed"]
	require.Len(t, ld, 1)
	ls := screeningOf(ld[0])
	require.Equal(t, ekycv1.CheckStatus_CHECK_STATUS_CONSIDER, ls.GetStatus(), "%v %s", ls.GetReasonCodes(), ls.GetError())
	require.Contains(t, ls.GetReasonCodes(), "SCREENING_SANCTIONS_HIT")
	require.Contains(t, ls.GetReasonCodes(), "SCREENING_ADVERSE_MEDIA")
	require.EqualValues(t, 1, findSignal(ls, "adverse_media_hits").GetNumber())
	require.NotEmpty(t, ls.GetScreeningHits())
	hit := ls.GetScreeningHits()[0]
	require.Equal(t, "ofac-2676", hit.GetEntityId())
	require.Contains(t, hit.GetListVersion(), "ofac@")
	require.Greater(t, hit.GetComponents()["dob"], 0.0, "the date of birth supports the hit")
	require.Equal(t, ekycv1.Outcome_OUTCOME_REVIEW, ld[0].GetOutcome(), ld[0].GetReasonCodes())
	require.Contains(t, ld[0].GetReasonCodes(), "SCREENING_SANCTIONS_HIT")
}

// TestScreeningNotReadyWithoutLists: a list that never loaded keeps the node
// not ready (it never screens against nothing) and counts the failure.
func TestScreeningNotReadyWithoutLists(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := testConfig(t)
	cfg.Screening.Lists = []string{"un=" + filepath.Join(t.TempDir(), "missing.xml")}
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()))
	require.NoError(t, err)
	defer n.Close(true)
	require.Eventually(t, func() bool {
		mfs, err := n.Registry().Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() == "ekyc_screening_list_refresh_failures_total" {
				return mf.GetMetric()[0].GetCounter().GetValue() >= 1
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	resp, err := http.Get("http://" + n.AdminAddr() + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// waitReady polls /readyz until the node answers 200.
func waitReady(t *testing.T, n *node.Node, why string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + n.AdminAddr() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, why)
}

// sampleRequest reads testdata/requests/NAME and sets its requested checks.
func sampleRequest(t *testing.T, name string, checks ...ekycv1.CheckKind) *ekycv1.VerificationRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "requests", name))
	require.NoError(t, err)
	req := &ekycv1.VerificationRequest{}
	require.NoError(t, protojson.Unmarshal(raw, req))
	if len(checks) > 0 {
		req.RequestedChecks = checks
	}
	return req
}
