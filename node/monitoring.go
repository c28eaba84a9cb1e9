package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/store/monitoring"
	monitoringcql "github.com/openekyc/ekyc/store/monitoring/cqlstore"
	monitoringpebble "github.com/openekyc/ekyc/store/monitoring/pebblestore"
	"github.com/openekyc/ekyc/streams/codec"
)

// Ongoing monitoring: approved applicants of tenants with monitoring: true
// whose request asked for SCREENING are enrolled (session actor's
// AfterDecided hook: after the decision is stored, before it is emitted, so
// an enrolment failure is retried with the record). Whenever the list
// manager installs a new index, every subject is re-screened on it and each
// hit at or above screening.threshold that the subject is not known to match
// is published as a MonitoringAlert; the hit becomes known only once the
// alert is acknowledged by Kafka. A pass that could not finish (produce or
// store failure) runs again after the next refresh, even when no list
// changed.
//
// The store is local to the node (<data_dir>/monitoring): in a cluster each
// node monitors the subjects whose sessions it decided.

// alertProducer publishes a record (streams.Producer).
type alertProducer interface {
	Produce(ctx context.Context, topic string, key, value []byte, headers map[string]string) error
}

// produceTimeout bounds one alert's produce.
const produceTimeout = 30 * time.Second

// monitor enrols and re-screens the subjects of monitoring tenants.
type monitor struct {
	store     monitoring.Store
	enabled   map[string]bool
	tenants   []string // sorted
	threshold float64
	topic     string
	producer  alertProducer
	// onAlert runs after an alert is published (the tenant's webhook);
	// an error counts as a failed publish (retried with the same id).
	onAlert func(ctx context.Context, a *ekycv1.MonitoringAlert) error
	now     func() time.Time
	log     *slog.Logger
	// current is the index the screening check serves (the list manager's).
	current func() *screening.Index

	// pending: the last pass did not finish, or a subject was enrolled
	// from a screening on other list versions than the current ones: run
	// a pass after the next refresh even if no list changed.
	pending atomic.Bool

	enrolments *prometheus.CounterVec
	rescreened *prometheus.CounterVec
	alerts     *prometheus.CounterVec
	failures   *prometheus.CounterVec
}

// monitoringTenants are the configured tenants with monitoring on, sorted.
func (n *Node) monitoringTenants() []string {
	var out []string
	for _, t := range n.cfg.Tenants {
		if t.Monitoring {
			out = append(out, t.ID)
		}
	}
	sort.Strings(out)
	return out
}

// startMonitoring opens the monitoring store when a tenant enabled
// monitoring; current is the screening index in service. It leaves
// n.monitor nil otherwise.
func (n *Node) startMonitoring(current func() *screening.Index) error {
	tenants := n.monitoringTenants()
	if len(tenants) == 0 {
		return nil
	}
	keys := n.protect.env
	var st monitoring.Store
	var err error
	switch n.cfg.Store.Backend {
	case "cql":
		cc, err := CQLConfig(n.cfg.Store.CQL)
		if err != nil {
			return fmt.Errorf("monitoring: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		st, err = monitoringcql.Open(ctx, cc, keys, monitoringcql.WithClock(n.now))
		if err != nil {
			return fmt.Errorf("monitoring: %w", err)
		}
	default:
		st, err = monitoringpebble.Open(filepath.Join(n.cfg.DataDir, "monitoring"), keys, monitoringpebble.WithClock(n.now))
		if err != nil {
			return fmt.Errorf("monitoring: %w", err)
		}
	}
	m := newMonitor(st, tenants, n.cfg.Screening.Threshold, n.cfg.Kafka.Topics.Monitoring, n.producer, n.now, n.log, current)
	if err := m.register(n.reg); err != nil {
		_ = st.Close()
		return err
	}
	if n.hooks != nil {
		hooks := n.hooks
		m.onAlert = func(ctx context.Context, a *ekycv1.MonitoringAlert) error { return hooks.alert(ctx, n, a) }
	}
	n.monitor = m
	n.log.Info("ongoing monitoring enabled", "tenants", strings.Join(tenants, ","), "topic", m.topic)
	return nil
}

func newMonitor(st monitoring.Store, tenants []string, threshold float64, topic string, p alertProducer,
	now func() time.Time, log *slog.Logger, current func() *screening.Index) *monitor {
	m := &monitor{store: st, enabled: map[string]bool{}, tenants: slices.Sorted(slices.Values(tenants)),
		threshold: threshold, topic: topic, producer: p, now: now, log: log, current: current,
		enrolments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ekyc_monitoring_enrolments_total",
			Help: "Approved applicants handed to ongoing monitoring (idempotent: a redelivery counts again)."}, []string{"tenant"}),
		rescreened: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ekyc_monitoring_subjects_rescreened_total",
			Help: "Monitored subjects re-screened after a list change."}, []string{"tenant"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ekyc_monitoring_alerts_total",
			Help: "MonitoringAlerts published (new hits of monitored subjects)."}, []string{"tenant"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ekyc_monitoring_failures_total",
			Help: "Monitoring operations that failed (enrol, list, screen, produce, store), retried where possible."}, []string{"op"}),
	}
	for _, t := range tenants {
		m.enabled[t] = true
	}
	return m
}

func (m *monitor) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.enrolments, m.rescreened, m.alerts, m.failures} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("monitoring: metrics: %w", err)
		}
	}
	return nil
}

func (m *monitor) close() error { return m.store.Close() }

// afterDecided is the session actor's AfterDecided hook: it enrols an
// approved, screened applicant of a monitoring tenant. It runs for every
// redelivery too; Enrol is idempotent and keeps the known hits of an
// enrolled subject.
func (m *monitor) afterDecided(ctx context.Context, st *ekycv1.SessionState) error {
	d := st.GetDecision()
	if st.GetStatus() != ekycv1.SessionStatus_SESSION_STATUS_DECIDED || d.GetOutcome() != ekycv1.Outcome_OUTCOME_APPROVE ||
		!m.enabled[st.GetTenantId()] {
		return nil
	}
	req := st.GetRequest()
	if !slices.Contains(req.GetRequestedChecks(), ekycv1.CheckKind_CHECK_KIND_SCREENING) {
		return nil
	}
	var check *ekycv1.CheckResult
	for _, c := range d.GetChecks() {
		if c.GetKind() == ekycv1.CheckKind_CHECK_KIND_SCREENING {
			check = c
		}
	}
	q, ok := screening.QueryFromRequest(req)
	if check == nil || check.GetStatus() == ekycv1.CheckStatus_CHECK_STATUS_ERROR || !ok {
		// Approved without a usable screening (a policy that tolerates it):
		// nothing to compare a re-screen with.
		m.log.Warn("monitoring: approved session not enrolled: no screening result or no name", "session", st.GetSessionId())
		return nil
	}
	var known []string
	for _, h := range check.GetScreeningHits() {
		known = append(known, h.GetEntityId())
	}
	sub := monitoring.Subject{Tenant: st.GetTenantId(), Session: st.GetSessionId(), Query: q, KnownHits: known}
	if t := d.GetDecidedAt(); t.IsValid() {
		sub.EnrolledAt = t.AsTime()
	}
	err := m.store.Enrol(ctx, sub)
	if errors.Is(err, monitoring.ErrInvalidArgument) {
		// Permanent (the query cannot be screened): retrying cannot help.
		// The error text may quote the date of birth: not logged.
		m.failures.WithLabelValues("enrol").Inc()
		m.log.Warn("monitoring: approved session not enrolled: invalid screening query", "session", st.GetSessionId())
		return nil
	}
	if err != nil {
		m.failures.WithLabelValues("enrol").Inc()
		return fmt.Errorf("monitoring: enrol: %w", err)
	}
	m.enrolments.WithLabelValues(sub.Tenant).Inc()
	// The check screened list versions that a pass may already have
	// re-screened everyone else on: make sure this subject gets one too.
	if ix := m.current(); ix != nil && !sameVersions(listVersions(check), ix.Versions()) {
		m.pending.Store(true)
	}
	return nil
}

// listVersions reads the versions a screening check ran on from its
// list_versions signal.
func listVersions(c *ekycv1.CheckResult) []string {
	for _, s := range c.GetSignals() {
		if s.GetName() == screening.SignalListVersions {
			if s.GetText() == "" {
				return nil
			}
			return strings.Split(s.GetText(), ",")
		}
	}
	return nil
}

func sameVersions(screened []string, current []screening.Version) bool {
	cur := make([]string, len(current))
	for i, v := range current {
		cur[i] = v.String()
	}
	a, b := slices.Sorted(slices.Values(screened)), slices.Sorted(slices.Values(cur))
	return slices.Equal(a, b)
}

// afterRefresh runs a pass when the list manager installed a new index or
// an earlier pass is pending.
func (m *monitor) afterRefresh(ctx context.Context, installed bool) {
	if !installed && !m.pending.Load() {
		return
	}
	if ix := m.current(); ix != nil {
		m.rescreen(ctx, ix)
	}
}

// passStats summarises one pass (for the log line).
type passStats struct {
	subjects, alerts int
	failed           bool
}

// rescreen re-screens every subject of every monitoring tenant on ix. It
// stops early when ctx ends (the pass is then pending).
func (m *monitor) rescreen(ctx context.Context, ix *screening.Index) {
	m.pending.Store(false) // an enrolment racing with this pass sets it again
	start := time.Now()
	var st passStats
	for _, tenant := range m.tenants {
		err := m.store.Subjects(ctx, tenant, func(sub monitoring.Subject) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			m.rescreenOne(ctx, ix, sub, &st)
			return nil
		})
		switch {
		case err == nil:
		case ctx.Err() != nil:
			m.pending.Store(true)
			return
		case errors.Is(err, monitoring.ErrCorrupt):
			// Unreadable records stay unreadable: counted and logged (the
			// error names tenant and session only), not retried.
			m.failures.WithLabelValues("store").Inc()
			m.log.Error("monitoring: unreadable subjects skipped", "tenant", tenant, "err", err)
		default:
			st.failed = true
			m.failures.WithLabelValues("list").Inc()
			m.log.Error("monitoring: listing subjects failed; the pass runs again after the next refresh", "tenant", tenant, "err", err)
		}
	}
	if st.failed {
		m.pending.Store(true)
	}
	m.log.Info("monitoring re-screen done", "subjects", st.subjects, "alerts", st.alerts, "failed", st.failed,
		"versions", versionsString(ix.Versions()), "took", time.Since(start).Round(time.Millisecond))
}

func versionsString(vs []screening.Version) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return strings.Join(out, ",")
}

// rescreenOne screens one subject and publishes its new hits; the hits
// whose alert was acknowledged are added to its known hits.
func (m *monitor) rescreenOne(ctx context.Context, ix *screening.Index, sub monitoring.Subject, st *passStats) {
	limit := min(len(sub.KnownHits)+screening.DefaultLimit, 1000)
	res, err := ix.Screen(sub.Query, screening.WithMinScore(m.threshold), screening.WithLimit(limit))
	if err != nil {
		// Screening errors may quote the query: not logged.
		m.failures.WithLabelValues("screen").Inc()
		m.log.Error("monitoring: re-screen failed", "tenant", sub.Tenant, "session", sub.Session)
		return
	}
	st.subjects++
	m.rescreened.WithLabelValues(sub.Tenant).Inc()
	known := map[string]bool{}
	for _, id := range sub.KnownHits {
		known[id] = true
	}
	var alerted []string
	for _, hit := range screening.CheckResult(res, m.threshold).GetScreeningHits() {
		if known[hit.GetEntityId()] {
			continue
		}
		if err := m.publish(ctx, sub, hit); err != nil {
			st.failed = true
			m.failures.WithLabelValues("produce").Inc()
			m.log.Error("monitoring: alert not published; retried after the next refresh", "tenant", sub.Tenant,
				"session", sub.Session, "entity", hit.GetEntityId(), "err", err)
			continue
		}
		st.alerts++
		m.alerts.WithLabelValues(sub.Tenant).Inc()
		m.log.Info("monitoring alert published", "tenant", sub.Tenant, "session", sub.Session,
			"entity", hit.GetEntityId(), "list_version", hit.GetListVersion())
		alerted = append(alerted, hit.GetEntityId())
		known[hit.GetEntityId()] = true
	}
	if len(alerted) == 0 {
		return
	}
	// Known hits only grow: an entity alerted once for a subject does not
	// alert again (a delisted and relisted entity included).
	if err := m.store.SetKnownHits(ctx, sub.Tenant, sub.Session, append(slices.Clone(sub.KnownHits), alerted...)); err != nil {
		// The alerts were published; the next pass publishes them again
		// with the same alert ids (consumers dedupe by alert_id).
		st.failed = true
		m.failures.WithLabelValues("store").Inc()
		m.log.Error("monitoring: known hits not stored; the alerts will repeat with the same ids", "tenant", sub.Tenant,
			"session", sub.Session, "err", err)
	}
}

// publish produces one alert (protobuf, key = session id).
func (m *monitor) publish(ctx context.Context, sub monitoring.Subject, hit *ekycv1.ScreeningHit) error {
	a := &ekycv1.MonitoringAlert{
		AlertId:     AlertID(sub.Tenant, sub.Session, hit.GetEntityId(), hit.GetListVersion()),
		TenantId:    sub.Tenant,
		SessionId:   sub.Session,
		ListVersion: hit.GetListVersion(),
		Hit:         hit,
		CreatedAt:   timestamppb.New(m.now()),
	}
	b, ct, err := codec.Encode(a, ekycv1.Encoding_ENCODING_PROTOBUF)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, produceTimeout)
	defer cancel()
	if err := m.producer.Produce(ctx, m.topic, []byte(sub.Session), b, map[string]string{
		codec.HeaderContentType: ct,
		"ekyc-alert-id":         a.GetAlertId(),
		"ekyc-tenant-id":        sub.Tenant,
	}); err != nil {
		return err
	}
	if m.onAlert != nil {
		return m.onAlert(ctx, a)
	}
	return nil
}

// AlertID is deterministic per (tenant, session, entity, list version): a
// UUID-shaped SHA-256, like decision ids.
func AlertID(tenant, session, entityID, listVersion string) string {
	h := sha256.Sum256([]byte("monitoring-alert\x00" + tenant + "\x00" + session + "\x00" + entityID + "\x00" + listVersion))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	s := hex.EncodeToString(h[:16])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
