package publisher

import "github.com/prometheus/client_golang/prometheus"

// Collectors are the publisher's Prometheus collectors, registered on the
// Registerer given to New (nil: built but not registered).
type Collectors struct {
	// Published counts versions written, by forced="true"|"false".
	Published *prometheus.CounterVec
	// Rejected counts candidates the gate rejected (and not forced).
	Rejected prometheus.Counter
	// Checks counts gate checks by name and status (pass, fail, skip).
	Checks *prometheus.CounterVec
	// DryRunBatch observes the latency of every timed batch of 200 of the
	// dry runs (the gate checks their p99 against the spec's budget).
	DryRunBatch prometheus.Histogram
	// HookAttempts counts hook attempts by kind (webhook, command, kafka)
	// and result (ok, error).
	HookAttempts *prometheus.CounterVec
	// HookFailures counts hook deliveries that failed after every retry,
	// by kind.
	HookFailures *prometheus.CounterVec
	// HookDropped counts deliveries never completed because the queue was
	// full or the publisher closed before they ran, by kind.
	HookDropped *prometheus.CounterVec
	// Cleaned counts incomplete version folders removed; Expired counts
	// versions deleted by retention.
	Cleaned prometheus.Counter
	Expired prometheus.Counter
}

// NewCollectors builds the collectors and registers them on reg when it is
// not nil.
func NewCollectors(reg prometheus.Registerer) *Collectors {
	const ns, sub = "wdstream", "publisher"
	m := &Collectors{
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "published_total", Help: "Model versions published, by whether the gate was forced."}, []string{"forced"}),
		Rejected: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "rejected_total", Help: "Candidates rejected by the gate."}),
		Checks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "gate_checks_total", Help: "Gate checks by name and status."}, []string{"check", "status"}),
		DryRunBatch: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "dry_run_batch_seconds", Help: "Latency of scoring one batch of 200 (featurize and predict, one thread) in the gate's dry runs.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}), // 0.5ms to 4s
		HookAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "hook_attempts_total", Help: "Hook attempts by kind and result."}, []string{"kind", "result"}),
		HookFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "hook_failures_total", Help: "Hook deliveries that failed after every retry, by kind."}, []string{"kind"}),
		HookDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "hook_dropped_total", Help: "Hook deliveries dropped (queue full, or not run before Close's deadline), by kind."}, []string{"kind"}),
		Cleaned: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "incomplete_versions_removed_total", Help: "Version folders without a manifest removed by Clean."}),
		Expired: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "versions_expired_total", Help: "Versions deleted by retention."}),
	}
	// Export the counters at 0 before the first event, so that dashboards
	// and alerts see them from the start.
	m.Published.WithLabelValues("false")
	for _, k := range []string{"webhook", "command", "kafka"} {
		m.HookFailures.WithLabelValues(k)
		m.HookDropped.WithLabelValues(k)
	}
	if reg != nil {
		reg.MustRegister(m.Published, m.Rejected, m.Checks, m.DryRunBatch, m.HookAttempts, m.HookFailures, m.HookDropped, m.Cleaned, m.Expired)
	}
	return m
}
