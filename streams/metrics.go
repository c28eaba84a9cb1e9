package streams

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// consumerMetrics are the consumer's Prometheus collectors. They always
// exist; they are registered only when a Registerer is given. Every series
// carries the const labels group and topic, so several consumers can share a
// Registerer; consumers of the same group and topic share the series.
type consumerMetrics struct {
	consumed  prometheus.Counter
	completed prometheus.Counter
	rejected  *prometheus.CounterVec // reason
	retried   prometheus.Counter
	panics    prometheus.Counter
	inFlight  prometheus.Gauge
	commits   *prometheus.CounterVec // result: ok, error
	lag       *prometheus.GaugeVec   // partition
}

func newConsumerMetrics(reg prometheus.Registerer, group, topic string) (*consumerMetrics, error) {
	cl := prometheus.Labels{"group": group, "topic": topic}
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "ekyc", Subsystem: "streams", Name: name, Help: help, ConstLabels: cl}
	}
	m := &consumerMetrics{
		consumed:  prometheus.NewCounter(prometheus.CounterOpts(opts("records_consumed_total", "Records fetched and dispatched to the handler queues."))),
		completed: prometheus.NewCounter(prometheus.CounterOpts(opts("records_completed_total", "Records completed (handled, or rejected and dead-lettered)."))),
		rejected:  prometheus.NewCounterVec(prometheus.CounterOpts(opts("records_rejected_total", "Records rejected by the handler and produced to the dead-letter topic.")), []string{"reason"}),
		retried:   prometheus.NewCounter(prometheus.CounterOpts(opts("records_retried_total", "Handler attempts that failed with a retryable error and were retried."))),
		panics:    prometheus.NewCounter(prometheus.CounterOpts(opts("handler_panics_total", "Handler panics recovered (retried)."))),
		inFlight:  prometheus.NewGauge(prometheus.GaugeOpts(opts("records_in_flight", "Records being handled now."))),
		commits:   prometheus.NewCounterVec(prometheus.CounterOpts(opts("commits_total", "Offset commits by result.")), []string{"result"}),
		lag:       prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("committed_lag", "High watermark minus committed offset at the last commit, per partition.")), []string{"partition"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.consumed = register(reg, m.consumed, &err)
	m.completed = register(reg, m.completed, &err)
	m.rejected = register(reg, m.rejected, &err)
	m.retried = register(reg, m.retried, &err)
	m.panics = register(reg, m.panics, &err)
	m.inFlight = register(reg, m.inFlight, &err)
	m.commits = register(reg, m.commits, &err)
	m.lag = register(reg, m.lag, &err)
	return m, err
}

// register registers c, or returns the identical collector registered
// before (another consumer of the same group and topic).
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if *errp != nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		*errp = err
	}
	return c
}
