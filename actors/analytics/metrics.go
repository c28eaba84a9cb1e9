package analytics

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	rows, batches, failures, overloaded prometheus.Counter
	buffered                            prometheus.Gauge
	writeSeconds                        prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, store string) (*metrics, error) {
	l := prometheus.Labels{"store": store}
	m := &metrics{
		rows: prometheus.NewCounter(prometheus.CounterOpts{Name: "ekyc_analytics_rows_written_total",
			Help: "Decision rows written to the analytics store.", ConstLabels: l}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Name: "ekyc_analytics_batches_written_total",
			Help: "Batches written to the analytics store.", ConstLabels: l}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "ekyc_analytics_write_failures_total",
			Help: "Failed batch writes (the rows stay buffered and uncommitted in Kafka, and are retried).", ConstLabels: l}),
		overloaded: prometheus.NewCounter(prometheus.CounterOpts{Name: "ekyc_analytics_rows_refused_total",
			Help: "Rows refused because the batcher was full (redelivered by the consumer later).", ConstLabels: l}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ekyc_analytics_buffered_rows",
			Help: "Rows held by the analytics batcher, not yet written.", ConstLabels: l}),
	}
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ekyc_analytics_write_seconds",
		Help: "Duration of one batch write attempt.", ConstLabels: l, Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)})
	m.writeSeconds = h
	if reg != nil {
		for _, c := range []prometheus.Collector{m.rows, m.batches, m.failures, m.overloaded, m.buffered, h} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					return nil, err
				}
			}
		}
	}
	return m, nil
}
