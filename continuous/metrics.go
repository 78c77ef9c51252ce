package continuous

import (
	"github.com/prometheus/client_golang/prometheus"
)

// stageMetrics are the train stage's collectors.
type stageMetrics struct {
	examples       prometheus.Counter
	batches        prometheus.Counter
	badRecords     prometheus.Counter
	progAUC        prometheus.Gauge
	progLogLoss    prometheus.Gauge
	checkpoints    prometheus.Counter
	checkpointTS   prometheus.Gauge
	checkpointErr  prometheus.Counter
	lastTS         prometheus.Gauge
	publishes      *prometheus.CounterVec
	sourceRestarts prometheus.Counter
}

func newStageMetrics(reg prometheus.Registerer) *stageMetrics {
	m := &stageMetrics{
		examples:       prometheus.NewCounter(prometheus.CounterOpts{Name: "wdstream_train_examples_total", Help: "Examples trained on."}),
		batches:        prometheus.NewCounter(prometheus.CounterOpts{Name: "wdstream_train_batches_total", Help: "Mini-batches trained."}),
		badRecords:     prometheus.NewCounter(prometheus.CounterOpts{Name: "wdstream_train_bad_records_total", Help: "Records of the examples topic that failed to decode (skipped)."}),
		progAUC:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "wdstream_train_progressive_auc", Help: "AUC of the predictions made before training, over the last window of examples."}),
		progLogLoss:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "wdstream_train_progressive_logloss", Help: "Log loss of the predictions made before training, over the last window of examples."}),
		checkpoints:    prometheus.NewCounter(prometheus.CounterOpts{Name: "wdstream_train_checkpoints_total", Help: "Checkpoints written."}),
		checkpointTS:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "wdstream_train_last_checkpoint_timestamp_seconds", Help: "Unix time of the last durable checkpoint (checkpoint age = time() - this)."}),
		checkpointErr:  prometheus.NewCounter(prometheus.CounterOpts{Name: "wdstream_train_checkpoint_failures_total", Help: "Checkpoints that failed to write (retried at the next interval)."}),
		lastTS:         prometheus.NewGauge(prometheus.GaugeOpts{Name: "wdstream_train_last_example_timestamp_seconds", Help: "Event time of the newest example trained on."}),
		publishes:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wdstream_train_candidates_total", Help: "Candidates sent to the gate, by outcome (published, rejected, error; skipped: the fresh set stayed too small)."}, []string{"outcome"}),
		sourceRestarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "wdstream_train_source_restarts_total", Help: "Times reading the examples topic failed (a broker outage...) and was reopened from the offsets read."}),
	}
	for _, o := range []string{"published", "rejected", "error", "skipped"} {
		m.publishes.WithLabelValues(o) // exported at 0 from the start
	}
	if reg != nil {
		reg.MustRegister(m.examples, m.batches, m.badRecords, m.progAUC, m.progLogLoss, m.checkpoints, m.checkpointTS, m.checkpointErr, m.lastTS, m.publishes, m.sourceRestarts)
	}
	return m
}
