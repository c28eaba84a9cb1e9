package inference

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the inference pools' Prometheus metrics, labelled by model.
// One Metrics is shared by the pools of a node (one pool per model).
//
// ekyc_inference_queue_depth is the autoscaling signal: the requests admitted
// and waiting for a backend call. A deployment scales its GPU (Triton) pods on
// it (e.g. an HPA on the per-model average over a minute), not on CPU.
type Metrics struct {
	// QueueDepth: requests admitted and not yet handed to a backend call.
	QueueDepth *prometheus.GaugeVec
	// InFlight: backend calls in progress.
	InFlight *prometheus.GaugeVec
	// BatchSize: items per backend call.
	BatchSize *prometheus.HistogramVec
	// RequestDuration: Infer latency of admitted requests, queueing included.
	RequestDuration *prometheus.HistogramVec
	// BackendDuration: latency of one backend call.
	BackendDuration *prometheus.HistogramVec
	// Overloaded: requests refused with inference.ErrOverloaded (queue full).
	Overloaded *prometheus.CounterVec
	// Errors: admitted requests answered with an error, by reason
	// (backend, panic, expired, closed, bad_output).
	Errors *prometheus.CounterVec
}

// Error reasons of Metrics.Errors.
const (
	reasonBackend   = "backend"
	reasonPanic     = "panic"
	reasonExpired   = "expired"
	reasonClosed    = "closed"
	reasonBadOutput = "bad_output"
)

// NewMetrics creates the metrics and registers them on reg (nil: unregistered).
// Collectors already registered on reg (a second call with the same
// registerer) are reused, so pools created independently share them.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	model := []string{"model"}
	m := &Metrics{
		QueueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ekyc_inference_queue_depth", Help: "Inference requests waiting for a backend call, by model (the autoscaling signal of GPU pods).",
		}, model),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ekyc_inference_calls_in_flight", Help: "Backend calls in progress, by model.",
		}, model),
		BatchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ekyc_inference_batch_size", Help: "Items per backend call, by model.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 9), // 1 … 256
		}, model),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ekyc_inference_request_duration_seconds", Help: "Latency of one inference request, queueing included, by model.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}, model),
		BackendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ekyc_inference_backend_duration_seconds", Help: "Latency of one backend call (one batch), by model.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}, model),
		Overloaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ekyc_inference_overloaded_total", Help: "Inference requests refused because the model's queue was full.",
		}, model),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ekyc_inference_errors_total", Help: "Admitted inference requests answered with an error, by model and reason.",
		}, []string{"model", "reason"}),
	}
	if reg != nil {
		m.QueueDepth = register(reg, m.QueueDepth)
		m.InFlight = register(reg, m.InFlight)
		m.BatchSize = register(reg, m.BatchSize)
		m.RequestDuration = register(reg, m.RequestDuration)
		m.BackendDuration = register(reg, m.BackendDuration)
		m.Overloaded = register(reg, m.Overloaded)
		m.Errors = register(reg, m.Errors)
	}
	return m
}

// register registers c, or returns the collector already registered under
// the same descriptor. Any other registration error is a programming error.
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

// modelMetrics are the children of Metrics for one model, resolved once.
type modelMetrics struct {
	queueDepth      prometheus.Gauge
	inFlight        prometheus.Gauge
	batchSize       prometheus.Observer
	requestDuration prometheus.Observer
	backendDuration prometheus.Observer
	overloaded      prometheus.Counter
	errors          map[string]prometheus.Counter
}

func (m *Metrics) forModel(model string) *modelMetrics {
	mm := &modelMetrics{
		queueDepth:      m.QueueDepth.WithLabelValues(model),
		inFlight:        m.InFlight.WithLabelValues(model),
		batchSize:       m.BatchSize.WithLabelValues(model),
		requestDuration: m.RequestDuration.WithLabelValues(model),
		backendDuration: m.BackendDuration.WithLabelValues(model),
		overloaded:      m.Overloaded.WithLabelValues(model),
		errors:          map[string]prometheus.Counter{},
	}
	for _, r := range []string{reasonBackend, reasonPanic, reasonExpired, reasonClosed, reasonBadOutput} {
		mm.errors[r] = m.Errors.WithLabelValues(model, r)
	}
	return mm
}
