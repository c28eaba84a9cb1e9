package session

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the session actors' Prometheus metrics.
type Metrics struct {
	Decisions     *prometheus.CounterVec
	Checks        *prometheus.CounterVec
	CheckLatency  *prometheus.HistogramVec
	Conflicts     prometheus.Counter
	Redeliveries  prometheus.Counter
	Activations   prometheus.Gauge
	EmitErrors    prometheus.Counter
	EventDuration prometheus.Histogram
}

// NewMetrics creates the metrics and registers them on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ekyc_decisions_total", Help: "Decisions made by session actors, by outcome (not counting re-emits).",
		}, []string{"outcome"}),
		Checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ekyc_check_results_total", Help: "Check results, by check kind and status.",
		}, []string{"kind", "status"}),
		CheckLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ekyc_check_duration_seconds", Help: "Check latency including retries.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"kind"}),
		Conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ekyc_session_store_conflicts_total", Help: "Compare-and-set conflicts on session state (another activation wrote first).",
		}),
		Redeliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ekyc_session_redelivered_events_total", Help: "Events for sessions that were already decided (decision re-emitted).",
		}),
		Activations: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ekyc_session_activations", Help: "Session actors currently active on this node.",
		}),
		EmitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ekyc_decision_emit_errors_total", Help: "Failed attempts to publish a decision (the event is retried).",
		}),
		EventDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ekyc_session_event_duration_seconds", Help: "Time a session actor spends on one event.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 3, 10),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Decisions, m.Checks, m.CheckLatency, m.Conflicts, m.Redeliveries, m.Activations, m.EmitErrors, m.EventDuration)
	}
	return m
}
