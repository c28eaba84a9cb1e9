package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/openekyc/ekyc/internal/envelope"
	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/store/monitoring"
	monitoringpebble "github.com/openekyc/ekyc/store/monitoring/pebblestore"
)

// fakeProducer records alerts and fails while fail is set.
type fakeProducer struct {
	mu     sync.Mutex
	fail   bool
	alerts []*ekycv1.MonitoringAlert
	keys   []string
	hdrs   []map[string]string
}

func (p *fakeProducer) Produce(_ context.Context, _ string, key, value []byte, headers map[string]string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("broker unavailable")
	}
	a := &ekycv1.MonitoringAlert{}
	if err := proto.Unmarshal(value, a); err != nil {
		return err
	}
	p.alerts, p.keys, p.hdrs = append(p.alerts, a), append(p.keys, string(key)), append(p.hdrs, headers)
	return nil
}

func (p *fakeProducer) setFail(f bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = f
}

func (p *fakeProducer) got() []*ekycv1.MonitoringAlert {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*ekycv1.MonitoringAlert(nil), p.alerts...)
}

func person(id, name string, dob screening.DateSpec) screening.Entity {
	return screening.Entity{ID: id, Source: screening.SourceFtM, Type: screening.EntityPerson,
		Names: []screening.Name{{Full: name, Kind: screening.NamePrimary}}, DOBs: []screening.DateSpec{dob}, Topics: []string{"sanction"}}
}

func index(t *testing.T, version string, es ...screening.Entity) *screening.Index {
	t.Helper()
	ix, err := screening.NewIndex([]*screening.List{{Version: screening.Version{Source: screening.SourceFtM, ID: version, Entities: len(es)}, Entities: es}})
	require.NoError(t, err)
	return ix
}

type monitorEnv struct {
	m     *monitor
	store monitoring.Store
	prod  *fakeProducer
	ix    *screening.Index
	logs  *bytes.Buffer
}

func newMonitorEnv(t *testing.T) *monitorEnv {
	t.Helper()
	dir := t.TempDir()
	keys, err := envelope.LoadOrCreateKeyFile(filepath.Join(dir, "keys", "master.key"))
	require.NoError(t, err)
	st, err := monitoringpebble.Open(filepath.Join(dir, "monitoring"), keys)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	e := &monitorEnv{store: st, prod: &fakeProducer{}, logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	now := func() time.Time { return time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) }
	e.m = newMonitor(st, []string{"demo"}, 0.85, "alerts", e.prod, now, log, func() *screening.Index { return e.ix })
	require.NoError(t, e.m.register(prometheus.NewRegistry()))
	return e
}

var anna = screening.DateSpec{Year: 1985, Month: 8, Day: 12}

// approved is the stored state of an approved session of tenant that asked
// for screening and matched known (entity ids).
func approved(tenant, session string, versions string, known ...string) *ekycv1.SessionState {
	sc := &ekycv1.CheckResult{Kind: ekycv1.CheckKind_CHECK_KIND_SCREENING, Status: ekycv1.CheckStatus_CHECK_STATUS_PASS,
		Signals: []*ekycv1.Signal{{Name: screening.SignalListVersions, Value: &ekycv1.Signal_Text{Text: versions}}}}
	for _, k := range known {
		sc.ScreeningHits = append(sc.ScreeningHits, &ekycv1.ScreeningHit{EntityId: k})
	}
	return &ekycv1.SessionState{TenantId: tenant, SessionId: session, Status: ekycv1.SessionStatus_SESSION_STATUS_DECIDED,
		Request: &ekycv1.VerificationRequest{TenantId: tenant, SessionId: session,
			Applicant:       &ekycv1.Applicant{GivenNames: "Anna Maria", Surname: "Eriksson", DateOfBirth: "1985-08-12"},
			RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT, ekycv1.CheckKind_CHECK_KIND_SCREENING}},
		Decision: &ekycv1.Decision{TenantId: tenant, SessionId: session, Outcome: ekycv1.Outcome_OUTCOME_APPROVE,
			Checks: []*ekycv1.CheckResult{sc}, DecidedAt: timestamppb.New(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))}}
}

func subjects(t *testing.T, s monitoring.Store, tenant string) []monitoring.Subject {
	t.Helper()
	var out []monitoring.Subject
	require.NoError(t, s.Subjects(context.Background(), tenant, func(sub monitoring.Subject) error {
		out = append(out, sub)
		return nil
	}))
	return out
}

func TestMonitoringEnrolment(t *testing.T) {
	ctx := context.Background()
	e := newMonitorEnv(t)
	e.ix = index(t, "v1", person("ftm-OTHER", "Boris Example", screening.DateSpec{Year: 1960}))

	require.NoError(t, e.m.afterDecided(ctx, approved("demo", "s-1", "ftm@v1", "ftm-PEP")))
	require.NoError(t, e.m.afterDecided(ctx, approved("demo", "s-1", "ftm@v1")), "idempotent")
	require.False(t, e.m.pending.Load(), "screened on the current versions")

	review := approved("demo", "s-review", "ftm@v1")
	review.Status, review.Decision.Outcome = ekycv1.SessionStatus_SESSION_STATUS_REVIEW, ekycv1.Outcome_OUTCOME_REVIEW
	noScreening := approved("demo", "s-doc-only", "ftm@v1")
	noScreening.Request.RequestedChecks = []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT}
	for _, st := range []*ekycv1.SessionState{review, noScreening, approved("quiet", "s-q", "ftm@v1")} {
		require.NoError(t, e.m.afterDecided(ctx, st))
	}

	got := subjects(t, e.store, "demo")
	require.Len(t, got, 1, "only the approved, screened session of the monitoring tenant")
	require.Equal(t, "s-1", got[0].Session)
	require.Equal(t, []string{"ftm-PEP"}, got[0].KnownHits, "the second enrolment kept the first's known hits")
	require.Equal(t, "Anna Maria Eriksson", got[0].Query.Name)
	require.Equal(t, anna, got[0].Query.DOB)
	require.True(t, got[0].EnrolledAt.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)))
	require.Empty(t, subjects(t, e.store, "quiet"))
	require.Equal(t, 2.0, testutil.ToFloat64(e.m.enrolments.WithLabelValues("demo")))

	// Screened on an older version than the index in service: a pass is due.
	require.NoError(t, e.m.afterDecided(ctx, approved("demo", "s-2", "ftm@v0")))
	require.True(t, e.m.pending.Load())
	require.NotContains(t, e.logs.String(), "Eriksson", "no names in logs")
}

// TestMonitoringProduceFailureIsRetried: a hit whose alert could not be
// published is not marked known, so the next pass (even without a list
// change) publishes it; once published it never alerts again.
func TestMonitoringProduceFailureIsRetried(t *testing.T) {
	ctx := context.Background()
	e := newMonitorEnv(t)
	e.ix = index(t, "v1", person("ftm-OTHER", "Boris Example", screening.DateSpec{Year: 1960}))
	require.NoError(t, e.m.afterDecided(ctx, approved("demo", "s-1", "ftm@v1")))

	e.ix = index(t, "v2", person("ftm-OTHER", "Boris Example", screening.DateSpec{Year: 1960}),
		person("ftm-ANNA", "Anna Maria Eriksson", anna))
	e.prod.setFail(true)
	e.m.afterRefresh(ctx, true)
	require.Empty(t, e.prod.got())
	require.True(t, e.m.pending.Load(), "the failed pass is pending")
	require.Empty(t, subjects(t, e.store, "demo")[0].KnownHits, "not known before it was published")
	require.Equal(t, 1.0, testutil.ToFloat64(e.m.failures.WithLabelValues("produce")))

	e.prod.setFail(false)
	e.m.afterRefresh(ctx, false) // no list change: runs because it is pending
	alerts := e.prod.got()
	require.Len(t, alerts, 1)
	a := alerts[0]
	require.Equal(t, "ftm-ANNA", a.GetHit().GetEntityId())
	require.Equal(t, "ftm@v2", a.GetListVersion())
	require.Equal(t, "demo", a.GetTenantId())
	require.Equal(t, "s-1", a.GetSessionId())
	require.Equal(t, AlertID("demo", "s-1", "ftm-ANNA", "ftm@v2"), a.GetAlertId())
	require.GreaterOrEqual(t, a.GetHit().GetScore(), 0.85)
	require.Equal(t, "s-1", e.prod.keys[0])
	require.Equal(t, a.GetAlertId(), e.prod.hdrs[0]["ekyc-alert-id"])
	require.Equal(t, "application/x-protobuf", e.prod.hdrs[0]["content-type"])
	require.False(t, e.m.pending.Load())
	require.Equal(t, []string{"ftm-ANNA"}, subjects(t, e.store, "demo")[0].KnownHits)

	e.m.afterRefresh(ctx, false) // nothing pending: no pass
	e.m.afterRefresh(ctx, true)  // a pass: the hit is known
	require.Len(t, e.prod.got(), 1)
	require.Equal(t, 1.0, testutil.ToFloat64(e.m.alerts.WithLabelValues("demo")))
	require.Equal(t, 3.0, testutil.ToFloat64(e.m.rescreened.WithLabelValues("demo")))
	require.NotContains(t, e.logs.String(), "Eriksson", "no names in logs")
	require.NotContains(t, e.logs.String(), "1985", "no dates of birth in logs")
}

func TestMonitoringAlertIDIsDeterministic(t *testing.T) {
	a := AlertID("demo", "s-1", "ftm-ANNA", "ftm@v2")
	require.Equal(t, a, AlertID("demo", "s-1", "ftm-ANNA", "ftm@v2"))
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, a)
	for _, other := range []string{AlertID("demo", "s-1", "ftm-ANNA", "ftm@v3"), AlertID("demo", "s-2", "ftm-ANNA", "ftm@v2"),
		AlertID("demo", "s-1", "ftm-BOB", "ftm@v2"), AlertID("other", "s-1", "ftm-ANNA", "ftm@v2")} {
		require.NotEqual(t, a, other)
	}
}
