package review

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	waiting     *prometheus.GaugeVec
	overdue     *prometheus.GaugeVec
	mostOverdue *prometheus.GaugeVec
	republished *prometheus.CounterVec
	errors      *prometheus.CounterVec
	sweeps      prometheus.Counter
	lastSweep   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ekyc_review_cases_waiting",
			Help: "Review cases waiting for a reviewer (every state but decided), by tenant, state and priority."}, []string{"tenant", "state", "priority"}),
		overdue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ekyc_review_cases_overdue",
			Help: "Waiting review cases past their SLA, by tenant and priority."}, []string{"tenant", "priority"}),
		mostOverdue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ekyc_review_most_overdue_seconds",
			Help: "How long ago the most overdue waiting case's SLA ran out (0: none overdue), by tenant and priority."}, []string{"tenant", "priority"}),
		republished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ekyc_review_decisions_republished_total",
			Help: "Reviewers' decisions published again by the monitor after their first publish failed."}, []string{"tenant"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ekyc_review_sweep_errors_total",
			Help: "Failed review-queue sweeps, by tenant (empty: the tenants could not be listed)."}, []string{"tenant"}),
		sweeps: prometheus.NewCounter(prometheus.CounterOpts{Name: "ekyc_review_sweeps_total",
			Help: "Review-queue sweeps run."}),
		lastSweep: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ekyc_review_last_sweep_timestamp_seconds",
			Help: "Unix time of the last complete review-queue sweep."}),
	}
	m.errors.WithLabelValues("") // the tenant-list failures' series, at 0
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.waiting, m.overdue, m.mostOverdue, m.republished, m.errors, m.sweeps, m.lastSweep} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("review monitor: metrics already registered (one monitor per registry)")
			}
			return nil, err
		}
	}
	return m, nil
}

// forget drops a tenant's series.
func (m *metrics) forget(tenant string) {
	l := prometheus.Labels{"tenant": tenant}
	m.waiting.DeletePartialMatch(l)
	m.overdue.DeletePartialMatch(l)
	m.mostOverdue.DeletePartialMatch(l)
	m.republished.DeletePartialMatch(l)
	m.errors.DeletePartialMatch(l)
}
