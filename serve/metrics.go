package serve

import (
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func defaultWorkers() int { return runtime.GOMAXPROCS(0) }

// metrics are the server's collectors (wdstream_serve_*).
type metrics struct {
	latency    prometheus.Histogram
	candidates prometheus.Histogram
	scored     prometheus.Counter
	overloaded prometheus.Counter
	nonFinite  prometheus.Counter
	reloads    prometheus.Counter
	refused    prometheus.Counter
	version    *prometheus.GaugeVec
	events     *prometheus.CounterVec // publish events heard (events.go)

	model       string
	mu          sync.Mutex
	refusedName string // the last version refused (not retried until LATEST moves)
}

func newMetrics(reg prometheus.Registerer, model string) *metrics {
	const ns, sub = "wdstream", "serve"
	m := &metrics{
		model: model,
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "request_seconds",
			Help: "Time from a score request's arrival to its answer (answered requests).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		candidates: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "candidates_per_request",
			Help: "Candidates of answered score requests.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
		scored:     prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "scored_candidates_total", Help: "Candidates scored and answered."}),
		overloaded: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "overloaded_total", Help: "Requests answered 503: the queue was full or the request ran past its deadline."}),
		nonFinite: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "nonfinite_answers_total",
			Help: "Requests answered 500 because the served version gave a candidate a score that is not a finite number."}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "reloads_total", Help: "Versions loaded and swapped in."}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "refused_versions_total", Help: "Versions LATEST named that failed to load or verify (the served one stayed)."}),
		version: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "version_info",
			Help: "1 for the version being served."}, []string{"model", "version"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "model_events_total",
			Help: "Publish events heard, by source (kafka, webhook) and result (reload, ignored, malformed, unauthorized)."}, []string{"source", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.latency, m.candidates, m.scored, m.overloaded, m.nonFinite, m.reloads, m.refused, m.version, m.events)
	}
	return m
}

func (m *metrics) request(d time.Duration, candidates int) {
	m.latency.Observe(d.Seconds())
	m.candidates.Observe(float64(candidates))
	m.scored.Add(float64(candidates))
}

func (m *metrics) served(version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.version.Reset()
	m.version.WithLabelValues(m.model, version).Set(1)
	m.reloads.Inc()
}

func (m *metrics) refuse(version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refusedName = version
	m.refused.Inc()
}

func (m *metrics) refusedVersion() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refusedName
}
