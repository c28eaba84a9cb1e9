package webhook

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the dispatcher's Prometheus metrics. They have no tenant
// label (unbounded cardinality); per-tenant detail is in the delivery log.
type Metrics struct {
	// Attempts: HTTP attempts by result: delivered, retry (a retry is
	// scheduled), dead (dead-lettered by this attempt).
	Attempts *prometheus.CounterVec
	// DeadLettered: events dead-lettered.
	DeadLettered prometheus.Counter
	// QueueDepth: pending events in the store (delivered and dead ones
	// excluded), due or not.
	QueueDepth prometheus.Gauge
	// InFlight: events taken by the dispatcher (waiting for an endpoint
	// slot or being attempted).
	InFlight prometheus.Gauge
	// AttemptDuration: latency of one HTTP attempt.
	AttemptDuration prometheus.Histogram
	// RecordErrors: attempts whose outcome could not be written to the
	// store (the event stays pending and is attempted again).
	RecordErrors prometheus.Counter
}

// Attempt results of Metrics.Attempts.
const (
	resultDelivered = "delivered"
	resultRetry     = "retry"
	resultDead      = "dead"
)

// NewMetrics creates the metrics and registers them on reg (nil:
// unregistered). Collectors already registered on reg are reused.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ekyc_webhook_attempts_total", Help: "Webhook HTTP attempts, by result (delivered, retry, dead).",
		}, []string{"result"}),
		DeadLettered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ekyc_webhook_dead_lettered_total", Help: "Webhook events dead-lettered (schedule exhausted or 410 Gone).",
		}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ekyc_webhook_queue_depth", Help: "Webhook events pending delivery.",
		}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ekyc_webhook_in_flight", Help: "Webhook events taken by the dispatcher (waiting for an endpoint slot or being attempted).",
		}),
		AttemptDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ekyc_webhook_attempt_duration_seconds", Help: "Latency of one webhook HTTP attempt.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}),
		RecordErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ekyc_webhook_record_errors_total", Help: "Webhook attempts whose outcome could not be stored.",
		}),
	}
	if reg != nil {
		m.Attempts = register(reg, m.Attempts)
		m.DeadLettered = register(reg, m.DeadLettered)
		m.QueueDepth = register(reg, m.QueueDepth)
		m.InFlight = register(reg, m.InFlight)
		m.AttemptDuration = register(reg, m.AttemptDuration)
		m.RecordErrors = register(reg, m.RecordErrors)
	}
	for _, r := range []string{resultDelivered, resultRetry, resultDead} {
		m.Attempts.WithLabelValues(r)
	}
	return m
}

// register registers c, or returns the collector already registered under
// the same descriptor. Any other registration error is a programming error
// (two metrics with one name and different labels).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err)
}
