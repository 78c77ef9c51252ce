package ingest

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// statMetrics builds collectors named prefix+name that read one field of
// a stage's stats snapshot when scraped.
type statMetrics[S any] struct {
	prefix string
	stats  func() S
}

func (m statMetrics[S]) counter(name, help string, get func(S) int64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.prefix + name, Help: help}, func() float64 { return float64(get(m.stats())) })
}

func (m statMetrics[S]) gauge(name, help string, get func(S) int64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: m.prefix + name, Help: help}, func() float64 { return float64(get(m.stats())) })
}

// registerJoinMetrics exports the join stage's counters (JoinConfig.Registerer).
func registerJoinMetrics(reg prometheus.Registerer, stats func() JoinStats) {
	m := statMetrics[JoinStats]{"wdstream_join_", stats}
	c, g := m.counter, m.gauge
	reg.MustRegister(
		c("impressions_total", "Impression records consumed and valid.", func(s JoinStats) int64 { return s.Impressions }),
		c("installs_total", "Install records consumed and valid.", func(s JoinStats) int64 { return s.Installs }),
		c("examples_total", "Labeled examples produced (joined).", func(s JoinStats) int64 { return s.Examples }),
		c("positives_total", "Examples with label 1.", func(s JoinStats) int64 { return s.Positives }),
		c("late_installs_total", "Installs whose impression was already emitted.", func(s JoinStats) int64 { return s.LateInstalls }),
		c("orphan_installs_total", "Installs that matched no impression.", func(s JoinStats) int64 { return s.Orphans }),
		c("duplicate_installs_total", "Second installs of an impression already matched.", func(s JoinStats) int64 { return s.DupInstalls }),
		c("dead_letters_total", "Records sent to the dead-letter topic.", func(s JoinStats) int64 { return s.DeadLetters }),
		c("forced_total", "Impressions closed early because the join state was full.", func(s JoinStats) int64 { return s.Forced }),
		c("suppressed_total", "Re-emissions suppressed after a restart.", func(s JoinStats) int64 { return s.Suppressed }),
		c("partition_restarts_total", "Partition restarts from committed offsets after an error.", func(s JoinStats) int64 { return s.Restarts }),
		g("pending_impressions", "Impressions waiting for their label window to close.", func(s JoinStats) int64 { return s.Pending }),
		g("held_installs", "Installs read before an impression they could label, held until the watermark passes their ts + window.", func(s JoinStats) int64 { return s.Held }),
		g("assigned_partitions", "Partitions this member joins now.", func(s JoinStats) int64 { return s.Assigned }),
		g("state_bytes", "Estimated heap bytes of the join state: the messages of pending impressions in memory plus the index.", func(s JoinStats) int64 { return s.StateBytes }),
		g("spilling", "1 while the join state is over join.max_state_bytes and new messages go to disk.", func(s JoinStats) int64 { return s.Spilling }),
		c("spilled_total", "Messages of pending impressions written to the spill.", func(s JoinStats) int64 { return s.Spilled }),
		c("spill_reads_total", "Spilled messages read back to emit their examples.", func(s JoinStats) int64 { return s.SpillReads }),
		g("spilled_messages", "Spilled messages on disk now.", func(s JoinStats) int64 { return s.SpillLive }),
		g("spill_disk_bytes", "Bytes of the spill files.", func(s JoinStats) int64 { return s.SpillDiskBytes }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wdstream_join_watermark_delay_seconds",
			Help: "Wall clock minus the smallest event-time watermark of this member's partitions (NaN before the first); the label of an impression is final once the watermark passes its ts plus the label window."},
			func() float64 {
				wm := stats().MinWatermark
				if wm == 0 {
					return math.NaN()
				}
				return float64(time.Now().UnixMilli()-wm) / 1000
			}),
	)
}

// registerArchiveMetrics exports the archive stage's counters (ArchiveConfig.Registerer).
func registerArchiveMetrics(reg prometheus.Registerer, stats func() ArchiveStats) {
	c := statMetrics[ArchiveStats]{"wdstream_archive_", stats}.counter
	reg.MustRegister(
		c("examples_total", "Examples written to uploaded Parquet files.", func(s ArchiveStats) int64 { return s.Examples }),
		c("bad_records_total", "Records of the examples topic that did not decode (skipped).", func(s ArchiveStats) int64 { return s.Bad }),
		c("dropped_values_total", "Feature values whose kind differed from their file's column (not written).", func(s ArchiveStats) int64 { return s.Dropped }),
		c("undeclared_examples_total", "Examples with a feature column the spec does not declare (the column not written).", func(s ArchiveStats) int64 { return s.Undeclared }),
		c("files_total", "Parquet files uploaded.", func(s ArchiveStats) int64 { return s.Files }),
		c("bytes_total", "Bytes of Parquet uploaded.", func(s ArchiveStats) int64 { return s.Bytes }),
		c("commits_total", "Offset commits after uploads.", func(s ArchiveStats) int64 { return s.Commits }),
		c("restarts_total", "Restarts from the committed offsets after an error.", func(s ArchiveStats) int64 { return s.Restarts }),
	)
	cut := prometheus.NewDesc("wdstream_archive_files_cut_total",
		"Files cut, by reason: hour (the event hour changed), bytes (the file size reached), time (the flush interval passed), stop (shutdown).",
		[]string{"reason"}, nil)
	reg.MustRegister(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		s := stats()
		for reason, n := range map[string]int64{"hour": s.CutHour, "bytes": s.CutBytes, "time": s.CutTime, "stop": s.CutStop} {
			ch <- prometheus.MustNewConstMetric(cut, prometheus.CounterValue, float64(n), reason)
		}
	}))
}
