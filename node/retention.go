package node

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/apistate"
	"github.com/openekyc/ekyc/store/sessions"
)

// retentionActor is the audit actor of the retention job's erasures.
const retentionActor = "retention"

// retentionFirstRun bounds the wait before the first run after start:
// min(retention.interval, retentionFirstRun).
const retentionFirstRun = time.Minute

// retentionEraseTimeout bounds one erasure. An erasure runs to its end
// even while the node stops (a half-done one would shred the key without
// writing its audit entry), so Close waits for at most one.
const retentionEraseTimeout = time.Minute

// retention is the retention job: every retention.interval it erases (see
// erase) the sessions created longer ago than their tenant's retention
// period and not erased yet.
//
// Its sources are the gateway's drafts (store/apistate: every session
// created through the HTTP API, submitted or not) and, when the session
// store can list a tenant's sessions (sessions.Lister: Pebble), the
// session states, which include the sessions submitted straight to Kafka.
// On the CQL store the job sees the gateway's sessions only: listing a
// tenant's sessions there is a scan of the whole table. A session is dated
// by its draft's creation, or by its state's created_at.
//
// With retention.keep_decisions false an erased session's state is
// deleted; a state erased earlier, while decisions were kept, is then
// deleted by the next run once it is past the retention period.
type retention struct {
	erased   *prometheus.CounterVec
	failures *prometheus.CounterVec
	done     chan struct{} // closed when the loop has returned
	warned   atomic.Bool   // the store-cannot-list notice was logged
}

// retentionRun is what one run did.
type retentionRun struct {
	Tenants int // tenants with a retention period
	Erased  int // sessions erased
	Failed  int // erasures that failed (retried by the next run)
}

// startRetention registers the job's metrics and starts its loop, unless
// retention.interval is 0.
func (n *Node) startRetention() error {
	r := &retention{
		erased: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ekyc_retention_erased_total",
			Help: "Sessions erased by the retention job (images, PII and data key) once past their tenant's retention period."}, []string{"tenant"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ekyc_retention_failures_total",
			Help: "Retention-job erasures or listings that failed (retried by the next run)."}, []string{"tenant"}),
		done: make(chan struct{}),
	}
	for _, c := range []prometheus.Collector{r.erased, r.failures} {
		if err := n.reg.Register(c); err != nil {
			return fmt.Errorf("node: retention metrics: %w", err)
		}
	}
	n.retention = r
	interval := n.cfg.Retention.Interval.D()
	if interval <= 0 {
		close(r.done)
		n.log.Info("retention job disabled (retention.interval 0)")
		return nil
	}
	if _, ok := n.store.(sessions.Lister); !ok {
		n.log.Info("retention: the session store cannot list sessions; the job erases the sessions created through the HTTP API only")
	}
	go n.retentionLoop(interval)
	return nil
}

// retentionLoop runs the job shortly after start, then every interval,
// until the node stops.
func (n *Node) retentionLoop(interval time.Duration) {
	defer close(n.retention.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-n.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTimer(min(interval, retentionFirstRun))
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		n.runRetention(ctx)
		t.Reset(interval)
	}
}

// waitRetention waits for the retention loop to return (Close, after
// n.stop is closed).
func (n *Node) waitRetention() {
	if n.retention != nil {
		<-n.retention.done
	}
}

// retentionDays returns the tenants with a retention period and their
// periods in days: a configuration tenant's retention_days, else a
// tenants-store tenant's RetentionDays, else retention.default_days; 0
// keeps the tenant's sessions.
func (n *Node) retentionDays(ctx context.Context) map[string]int {
	days := map[string]int{}
	if n.protect != nil && n.protect.tenants != nil {
		stored, err := n.protect.tenants.Tenants(ctx)
		if err != nil {
			n.log.Warn("retention: cannot list the tenants store; its tenants are skipped this run", "err", err)
		}
		for _, t := range stored {
			days[t.ID] = t.RetentionDays
		}
	}
	for id, t := range n.tenants {
		if t.RetentionDays > 0 || days[id] == 0 {
			days[id] = t.RetentionDays
		}
	}
	for id, d := range days {
		if d == 0 {
			d = n.cfg.Retention.DefaultDays
		}
		if d <= 0 {
			delete(days, id)
			continue
		}
		days[id] = d
	}
	return days
}

// runRetention is one run of the job. It survives errors: a failed
// erasure is logged and counted, and the run goes on with the next
// session; the next run retries it. It returns early only when ctx is
// done.
func (n *Node) runRetention(ctx context.Context) retentionRun {
	started := time.Now()
	var run retentionRun
	lister, canList := n.store.(sessions.Lister)
	for tenant, days := range n.retentionDays(ctx) {
		if ctx.Err() != nil {
			break
		}
		run.Tenants++
		cutoff := n.now().Add(-time.Duration(days) * 24 * time.Hour)
		erased, failed := n.retainTenant(ctx, tenant, cutoff, lister, canList)
		run.Erased += erased
		run.Failed += failed
		if erased > 0 || failed > 0 {
			n.log.Info("retention: tenant done", "tenant", tenant, "retention_days", days, "erased", erased, "failed", failed)
		}
	}
	n.log.Info("retention run finished", "tenants", run.Tenants, "erased", run.Erased, "failed", run.Failed,
		"took", time.Since(started).Round(time.Millisecond))
	return run
}

// retainTenant erases the tenant's sessions created before cutoff.
func (n *Node) retainTenant(ctx context.Context, tenant string, cutoff time.Time, lister sessions.Lister, canList bool) (erased, failed int) {
	one := func(session string) error {
		if err := ctx.Err(); err != nil {
			return err // the node stops: the next run goes on
		}
		if err := n.eraseExpired(tenant, session); err != nil {
			failed++
			n.retention.failures.WithLabelValues(tenant).Inc()
			n.log.Warn("retention: erasure failed; the next run retries it", "tenant", tenant, "session", session, "err", err)
			return nil
		}
		erased++
		n.retention.erased.WithLabelValues(tenant).Inc()
		return nil
	}
	listFailed := func(source string, err error) {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return
		}
		failed++
		n.retention.failures.WithLabelValues(tenant).Inc()
		n.log.Warn("retention: listing failed", "tenant", tenant, "source", source, "err", err)
	}

	// Sessions created through the HTTP API: their drafts, submitted or not.
	if n.apiState != nil {
		err := n.apiState.Range(ctx, tenant, func(d *apistate.Draft) error {
			if d.Status == apistate.StatusErased || !d.CreatedAt.Before(cutoff) {
				return nil
			}
			return one(d.ID)
		})
		if err != nil {
			listFailed("drafts", err)
		}
	}
	// Every stored session state, including those submitted to Kafka.
	if !canList {
		return erased, failed
	}
	err := lister.Sessions(ctx, tenant, func(st *ekycv1.SessionState) error {
		created := sessionCreated(st)
		if created.IsZero() || !created.Before(cutoff) {
			return nil
		}
		if st.GetErasedAt() != nil && n.cfg.Retention.KeepDecisions {
			return nil // erased, its decision record kept
		}
		return one(st.GetSessionId())
	})
	if errors.Is(err, errors.ErrUnsupported) {
		if !n.retention.warned.Swap(true) {
			n.log.Info("retention: the session store cannot list sessions; the job erases the sessions created through the HTTP API only", "err", err)
		}
		return erased, failed
	}
	if err != nil {
		listFailed("sessions", err)
	}
	return erased, failed
}

// eraseExpired erases one session for the retention job and turns its
// draft, if any, into a tombstone (as DELETE /v1/sessions/{id} does), so
// that the API shows it erased.
func (n *Node) eraseExpired(tenant, session string) error {
	ctx, cancel := context.WithTimeout(context.Background(), retentionEraseTimeout)
	defer cancel()
	if err := n.erase(ctx, tenant, session, retentionActor); err != nil {
		return err
	}
	if n.apiState != nil {
		// ErrInvalidArgument: an id longer than a draft's can have no draft.
		_, err := n.apiState.Erase(ctx, tenant, session, n.now())
		if err != nil && !errors.Is(err, apistate.ErrNotFound) && !errors.Is(err, apistate.ErrInvalidArgument) {
			return fmt.Errorf("erase: draft: %w", err)
		}
	}
	return nil
}

// sessionCreated dates a session state: created_at, else received_at,
// else updated_at (zero when none is set).
func sessionCreated(st *ekycv1.SessionState) time.Time {
	switch {
	case st.GetCreatedAt().IsValid():
		return st.GetCreatedAt().AsTime()
	case st.GetReceivedAt().IsValid():
		return st.GetReceivedAt().AsTime()
	case st.GetUpdatedAt().IsValid():
		return st.GetUpdatedAt().AsTime()
	}
	return time.Time{}
}
