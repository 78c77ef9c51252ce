package serve

import (
	"runtime"
	"slices"
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
	stats       Stats
	recent      []time.Duration // the last len(recent) latencies, a ring
	next        int
}

// recentLatencies is how many of the last answered requests Stats'
// quantiles cover.
const recentLatencies = 1024

// Stats is a snapshot of what the server did since it started, for the
// status page and `wdstream demo`.
type Stats struct {
	Version    string // being served ("" before the first load)
	Requests   int64  // answered with scores
	Candidates int64  // scored and answered
	Overloaded int64  // answered 503
	NonFinite  int64  // answered 500 for a non-finite score
	Reloads    int64  // versions swapped in
	Refused    int64  // versions refused
	// P50 and P99 are quantiles of the latency of the last Recent (at most
	// 1024) answered requests; 0 before the first.
	P50, P99 time.Duration
	Recent   int
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
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats.Requests++
	m.stats.Candidates += int64(candidates)
	if len(m.recent) < recentLatencies {
		m.recent = append(m.recent, d)
	} else {
		m.recent[m.next] = d
		m.next = (m.next + 1) % recentLatencies
	}
}

func (m *metrics) overload() {
	m.overloaded.Inc()
	m.mu.Lock()
	m.stats.Overloaded++
	m.mu.Unlock()
}

func (m *metrics) nonFiniteAnswer() {
	m.nonFinite.Inc()
	m.mu.Lock()
	m.stats.NonFinite++
	m.mu.Unlock()
}

// snapshot returns the Stats.
func (m *metrics) snapshot() Stats {
	m.mu.Lock()
	st := m.stats
	lat := slices.Clone(m.recent)
	m.mu.Unlock()
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		st.P50, st.P99, st.Recent = q(0.5), q(0.99), len(lat)
	}
	return st
}

func (m *metrics) served(version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats.Version = version
	m.stats.Reloads++
	m.version.Reset()
	m.version.WithLabelValues(m.model, version).Set(1)
	m.reloads.Inc()
}

func (m *metrics) refuse(version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refusedName = version
	m.stats.Refused++
	m.refused.Inc()
}

func (m *metrics) refusedVersion() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refusedName
}
