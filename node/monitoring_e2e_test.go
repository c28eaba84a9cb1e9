package node_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/node"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/monitoring"
	monitoringpebble "github.com/openekyc/ekyc/store/monitoring/pebblestore"
	"github.com/openekyc/ekyc/store/tenants"
)

// FtM entities of the monitoring test's list.
const (
	ftmUnrelated = `{"id": "MON-BORIS", "caption": "Boris Example", "schema": "Person", "properties": {"name": ["Boris Example"], "birthDate": ["1960-01-01"], "topics": ["sanction"]}, "datasets": ["test"], "target": true}`
	ftmAnna      = `{"id": "MON-ANNA", "caption": "Anna Maria Eriksson", "schema": "Person", "properties": {"name": ["Anna Maria Eriksson"], "birthDate": ["1985-08-12"], "topics": ["sanction"]}, "datasets": ["test"], "target": true}`
	ftmOther     = `{"id": "MON-CARL", "caption": "Carl Unrelated", "schema": "Organization", "properties": {"name": ["Carl Unrelated Trading"]}, "datasets": ["test"], "target": true}`
)

// writeList replaces the list file atomically (the list manager never
// reads half a file) and returns its version ("ftm@…").
func writeList(ctx context.Context, t *testing.T, path string, lines ...string) string {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	require.NoError(t, os.Rename(tmp, path))
	ls, err := node.LoadLists(ctx, []string{"ftm=" + path})
	require.NoError(t, err)
	return ls[0].Version.String()
}

// counter reads a counter of the node's registry (sum over the label
// value, or over everything when label is "").
func counter(t *testing.T, n *node.Node, name, label string) float64 {
	t.Helper()
	mfs, err := n.Registry().Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if label == "" || l.GetValue() == label {
					sum += m.GetCounter().GetValue()
					break
				}
			}
		}
	}
	return sum
}

// readTopic returns every record of topic up to its current end offsets.
func readTopic(ctx context.Context, t *testing.T, brokers []string, topic string) []*kgo.Record {
	t.Helper()
	adm := kadm.NewClient(mustClient(t, brokers))
	ends, err := adm.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		require.NoError(t, o.Err)
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	var out []*kgo.Record
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "topic %s not read to its end", topic)
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			if r.Offset+1 >= want[r.Partition] {
				delete(want, r.Partition)
			}
		})
	}
	return out
}

// TestMonitoringEndToEnd: an approved, screened applicant of a monitoring
// tenant is enrolled; a new list version that lists her raises exactly one
// MonitoringAlert (entity, new version) on the monitoring topic; a later
// version that still lists her raises nothing more; the tenant without
// monitoring enrols nobody; the stored subjects hold no name in the clear.
func TestMonitoringEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cfg := testConfig(t)
	listPath := filepath.Join(t.TempDir(), "entities.ftm.json")
	v1 := writeList(ctx, t, listPath, ftmUnrelated)
	cfg.Screening.Lists = []string{"ftm=" + listPath}
	cfg.Screening.Refresh = config.Duration(200 * time.Millisecond)
	cfg.Tenants = []config.Tenant{{ID: "demo", DefaultPolicy: "default", Monitoring: true}, {ID: "quiet", DefaultPolicy: "default"}}
	// The tenant's webhook receives the alert too (the decision webhooks
	// go there as well: no callback_url in the requests).
	rcv := &flakyReceiver{up: true, delivered: map[string]int{}, outcomes: map[string]string{}}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	envKeys, err := envelope.LoadOrCreateKeyFile(cfg.MasterKeyFile)
	require.NoError(t, err)
	ts, err := tenants.Open(ctx, filepath.Join(cfg.DataDir, "tenants"), tenants.WithSealer(envKeys))
	require.NoError(t, err)
	require.NoError(t, ts.CreateTenant(ctx, tenants.Tenant{ID: "demo", Name: "Demo", WebhookURL: hook.URL + "/alerts"}))
	secret, err := ts.RotateWebhookSecret(ctx, "demo")
	require.NoError(t, err)
	rcv.secrets = []string{secret}
	require.NoError(t, ts.Close())
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()), node.WithClock(func() time.Time { return fixedNow }))
	require.NoError(t, err)
	defer n.Close(true)
	waitReady(t, n, "ready once the list is loaded")

	base := sampleRequest(t, "approve.json", ekycv1.CheckKind_CHECK_KIND_DOCUMENT, ekycv1.CheckKind_CHECK_KIND_SCREENING)
	monitored := proto.Clone(base).(*ekycv1.VerificationRequest)
	monitored.SessionId, monitored.EventId = "mon-1", "evt-mon-1"
	quiet := proto.Clone(base).(*ekycv1.VerificationRequest)
	quiet.TenantId, quiet.SessionId, quiet.EventId = "quiet", "mon-quiet-1", "evt-mon-quiet-1"
	var recs []*kgo.Record
	for _, r := range []*ekycv1.VerificationRequest{monitored, quiet} {
		v, err := proto.Marshal(r)
		require.NoError(t, err)
		recs = append(recs, &kgo.Record{Topic: cfg.Kafka.Topics.Requests, Key: []byte(r.SessionId), Value: v})
	}
	require.NoError(t, mustClient(t, n.Brokers()).ProduceSync(ctx, recs...).FirstErr())
	out := collect(ctx, t, n.Brokers(), cfg, func(o *outputs) bool { return len(o.decisions) >= 2 })
	require.NoError(t, ctx.Err())
	for _, sid := range []string{"mon-1", "mon-quiet-1"} {
		require.Len(t, out.decisions[sid], 1, sid)
		d := out.decisions[sid][0]
		require.Equal(t, ekycv1.Outcome_OUTCOME_APPROVE, d.GetOutcome(), "%s: %v", sid, d.GetReasonCodes())
		require.Contains(t, findSignal(screeningCheck(t, d), "list_versions").GetText(), v1)
	}
	// The decision is emitted after the enrolment: the subject is in.
	require.Equal(t, 1.0, counter(t, n, "ekyc_monitoring_enrolments_total", "demo"))
	require.Zero(t, counter(t, n, "ekyc_monitoring_enrolments_total", "quiet"))

	// A new version lists the applicant.
	v2 := writeList(ctx, t, listPath, ftmUnrelated, ftmAnna)
	require.NotEqual(t, v1, v2)
	require.Eventually(t, func() bool { return counter(t, n, "ekyc_monitoring_alerts_total", "") >= 1 },
		30*time.Second, 20*time.Millisecond, "an alert after the refresh")
	require.Eventually(t, func() bool { return counter(t, n, "ekyc_monitoring_subjects_rescreened_total", "demo") >= 1 },
		5*time.Second, 20*time.Millisecond)

	// Several refreshes of the same file, then a version that still lists
	// her (plus someone else): re-screened, nothing new.
	time.Sleep(3 * cfg.Screening.Refresh.D())
	v3 := writeList(ctx, t, listPath, ftmUnrelated, ftmAnna, ftmOther)
	require.NotEqual(t, v2, v3)
	require.Eventually(t, func() bool { return counter(t, n, "ekyc_monitoring_subjects_rescreened_total", "demo") >= 2 },
		30*time.Second, 20*time.Millisecond, "re-screened on the third version")

	alerts := readTopic(ctx, t, n.Brokers(), cfg.Kafka.Topics.Monitoring)
	require.Len(t, alerts, 1, "exactly one alert, for the one new hit")
	rec := alerts[0]
	require.Equal(t, "mon-1", string(rec.Key))
	a := &ekycv1.MonitoringAlert{}
	require.NoError(t, proto.Unmarshal(rec.Value, a))
	require.Equal(t, "demo", a.GetTenantId())
	require.Equal(t, "mon-1", a.GetSessionId())
	require.Equal(t, v2, a.GetListVersion())
	require.Equal(t, "ftm-MON-ANNA", a.GetHit().GetEntityId())
	require.Equal(t, v2, a.GetHit().GetListVersion())
	require.GreaterOrEqual(t, a.GetHit().GetScore(), cfg.Screening.Threshold)
	require.Equal(t, node.AlertID("demo", "mon-1", "ftm-MON-ANNA", v2), a.GetAlertId())
	require.Equal(t, fixedNow, a.GetCreatedAt().AsTime())
	require.Equal(t, a.GetAlertId(), header(rec, "ekyc-alert-id"))
	require.Equal(t, "demo", header(rec, "ekyc-tenant-id"))
	require.Equal(t, "application/x-protobuf", header(rec, "content-type"))
	require.Equal(t, 1.0, counter(t, n, "ekyc_monitoring_alerts_total", ""))
	require.Eventually(t, func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return rcv.delivered["alr_"+a.GetAlertId()] == 1 },
		30*time.Second, 20*time.Millisecond, "the alert's webhook")
	rcv.mu.Lock()
	require.Zero(t, rcv.badSig)
	rcv.mu.Unlock()

	// The store, read back after the node is gone: one subject, the new hit
	// known, the quiet tenant's applicant not enrolled.
	n.Close(true)
	dataDir := cfg.DataDir
	keys, err := envelope.LoadOrCreateKeyFile(filepath.Join(dataDir, "keys", "master.key"))
	require.NoError(t, err)
	st, err := monitoringpebble.Open(filepath.Join(dataDir, "monitoring"), keys)
	require.NoError(t, err)
	defer st.Close()
	var subs []monitoring.Subject
	for _, tenant := range []string{"demo", "quiet"} {
		require.NoError(t, st.Subjects(ctx, tenant, func(s monitoring.Subject) error {
			subs = append(subs, s)
			return nil
		}))
	}
	require.Len(t, subs, 1)
	require.Equal(t, "demo", subs[0].Tenant)
	require.Equal(t, "mon-1", subs[0].Session)
	require.Equal(t, []string{"ftm-MON-ANNA"}, subs[0].KnownHits)
	require.Equal(t, "Anna Maria Eriksson", subs[0].Query.Name)
	require.NoError(t, filepath.WalkDir(filepath.Join(dataDir, "monitoring"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NotContains(t, string(b), "Eriksson", path)
		return nil
	}))
}

// TestMonitoringOffWithoutTenant: no tenant monitors, so the node opens no
// monitoring store (the key ring exists: images and session state are
// encrypted whatever the tenants monitor).
func TestMonitoringOffWithoutTenant(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := testConfig(t)
	listPath := filepath.Join(t.TempDir(), "entities.ftm.json")
	writeList(ctx, t, listPath, ftmUnrelated)
	cfg.Screening.Lists = []string{"ftm=" + listPath}
	n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()))
	require.NoError(t, err)
	n.Close(true)
	_, err = os.Stat(filepath.Join(cfg.DataDir, "monitoring"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func screeningCheck(t *testing.T, d *ekycv1.Decision) *ekycv1.CheckResult {
	t.Helper()
	for _, c := range d.GetChecks() {
		if c.GetKind() == ekycv1.CheckKind_CHECK_KIND_SCREENING {
			return c
		}
	}
	t.Fatalf("no screening check in %v", d)
	return nil
}
