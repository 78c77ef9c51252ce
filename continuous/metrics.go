package continuous

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wdstream/wdstream/featurize"
)

// stageMetrics are the train stage's collectors.
type stageMetrics struct {
	examples       prometheus.Counter
	dropped        prometheus.Counter
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
	features       *featureCollector
}

func newStageMetrics(reg prometheus.Registerer) *stageMetrics {
	m := &stageMetrics{
		examples:       prometheus.NewCounter(prometheus.CounterOpts{Name: "wdstream_train_examples_total", Help: "Examples trained on."}),
		dropped:        prometheus.NewCounter(prometheus.CounterOpts{Name: "wdstream_train_negatives_dropped_total", Help: "Negative examples scored but not trained on, dropped by model.negative_sampling."}),
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
		features:       &featureCollector{},
	}
	for _, o := range []string{"published", "rejected", "error", "skipped"} {
		m.publishes.WithLabelValues(o) // exported at 0 from the start
	}
	if reg != nil {
		reg.MustRegister(m.examples, m.dropped, m.batches, m.badRecords, m.progAUC, m.progLogLoss, m.checkpoints, m.checkpointTS, m.checkpointErr, m.lastTS, m.publishes, m.sourceRestarts, m.features)
	}
	return m
}

// featureCollector exports the featurizer's per-feature counters
// (featurize.Stats) from the snapshot the train stage stores after its
// batches: State.Stats must not run concurrently with Fit, which the
// stage's goroutine runs. The counters restart from 0 when the stage
// replaces its state (a warm start, a bootstrap), which Prometheus reads
// as a counter reset.
type featureCollector struct {
	stats atomic.Pointer[featurize.Stats]
}

var (
	featLabels   = []string{"feature"}
	featValues   = prometheus.NewDesc("wdstream_featurize_values_total", "Values of a categorical feature fitted into its vocabulary.", featLabels, nil)
	featMissing  = prometheus.NewDesc("wdstream_featurize_missing_total", "Values of a feature that were absent or null (NaN for numeric ones).", featLabels, nil)
	featOOV      = prometheus.NewDesc("wdstream_featurize_oov_total", "Values of a categorical feature mapped to an out-of-vocabulary bucket.", featLabels, nil)
	featRejects  = prometheus.NewDesc("wdstream_featurize_vocab_full_rejects_total", "New strings refused because the feature's vocabulary had reached max_size.", featLabels, nil)
	featCut      = prometheus.NewDesc("wdstream_featurize_truncated_elements_total", "List elements beyond the feature's max_length, cut (the model reads the first max_length).", featLabels, nil)
	featCutLists = prometheus.NewDesc("wdstream_featurize_truncated_lists_total", "Lists longer than the feature's max_length.", featLabels, nil)
	featSize     = prometheus.NewDesc("wdstream_featurize_vocab_size", "Ids of a categorical feature's vocabulary: OOV buckets, admitted strings and the holes evicted ones left.", featLabels, nil)
	featAdmitted = prometheus.NewDesc("wdstream_featurize_vocab_admitted", "Strings of a categorical feature's vocabulary in use.", featLabels, nil)
	featEvicted  = prometheus.NewDesc("wdstream_featurize_vocab_evicted_total", "Strings evicted by the feature's ttl (not seen for a ttl of event time); their ids are reused.", featLabels, nil)
	featFree     = prometheus.NewDesc("wdstream_featurize_vocab_free_ids", "Ids of evicted strings not reused yet.", featLabels, nil)
)

func (c *featureCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{featValues, featMissing, featOOV, featRejects, featCut, featCutLists, featSize, featAdmitted, featEvicted, featFree} {
		ch <- d
	}
}

func (c *featureCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats.Load()
	if st == nil {
		return
	}
	counter := func(d *prometheus.Desc, v uint64, feature string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), feature)
	}
	for _, v := range st.Vocabs {
		counter(featValues, v.Observed, v.Feature)
		counter(featMissing, v.Missing, v.Feature)
		counter(featOOV, v.OOV, v.Feature)
		counter(featRejects, v.FullRejects, v.Feature)
		counter(featCut, v.Truncated, v.Feature)
		counter(featCutLists, v.TruncatedLists, v.Feature)
		ch <- prometheus.MustNewConstMetric(featSize, prometheus.GaugeValue, float64(v.Size), v.Feature)
		ch <- prometheus.MustNewConstMetric(featAdmitted, prometheus.GaugeValue, float64(v.Admitted), v.Feature)
		counter(featEvicted, v.Evicted, v.Feature)
		ch <- prometheus.MustNewConstMetric(featFree, prometheus.GaugeValue, float64(v.Free), v.Feature)
	}
	for _, n := range st.Numeric {
		counter(featMissing, n.Missing, n.Feature)
	}
}
