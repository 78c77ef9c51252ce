package main

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wdstream/wdstream/ingest"
)

// newRegistry returns the service's metrics registry with the Go and
// process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

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

// registerJoinMetrics exports the join stage's counters.
func registerJoinMetrics(reg prometheus.Registerer, stats func() ingest.JoinStats) {
	m := statMetrics[ingest.JoinStats]{"wdstream_join_", stats}
	c, g := m.counter, m.gauge
	reg.MustRegister(
		c("impressions_total", "Impression records consumed and valid.", func(s ingest.JoinStats) int64 { return s.Impressions }),
		c("installs_total", "Install records consumed and valid.", func(s ingest.JoinStats) int64 { return s.Installs }),
		c("examples_total", "Labeled examples produced (joined).", func(s ingest.JoinStats) int64 { return s.Examples }),
		c("positives_total", "Examples with label 1.", func(s ingest.JoinStats) int64 { return s.Positives }),
		c("late_installs_total", "Installs whose impression was already emitted.", func(s ingest.JoinStats) int64 { return s.LateInstalls }),
		c("orphan_installs_total", "Installs that matched no impression.", func(s ingest.JoinStats) int64 { return s.Orphans }),
		c("duplicate_installs_total", "Second installs of an impression already matched.", func(s ingest.JoinStats) int64 { return s.DupInstalls }),
		c("dead_letters_total", "Records sent to the dead-letter topic.", func(s ingest.JoinStats) int64 { return s.DeadLetters }),
		c("forced_total", "Impressions closed early because the join state was full.", func(s ingest.JoinStats) int64 { return s.Forced }),
		c("suppressed_total", "Re-emissions suppressed after a restart.", func(s ingest.JoinStats) int64 { return s.Suppressed }),
		c("partition_restarts_total", "Partition restarts from committed offsets after an error.", func(s ingest.JoinStats) int64 { return s.Restarts }),
		g("pending_impressions", "Impressions waiting for their label window to close.", func(s ingest.JoinStats) int64 { return s.Pending }),
		g("held_installs", "Installs read before an impression they could label, held until the watermark passes their ts + window.", func(s ingest.JoinStats) int64 { return s.Held }),
		g("assigned_partitions", "Partitions this member joins now.", func(s ingest.JoinStats) int64 { return s.Assigned }),
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

// registerArchiveMetrics exports the archive stage's counters.
func registerArchiveMetrics(reg prometheus.Registerer, stats func() ingest.ArchiveStats) {
	c := statMetrics[ingest.ArchiveStats]{"wdstream_archive_", stats}.counter
	reg.MustRegister(
		c("examples_total", "Examples written to uploaded Parquet files.", func(s ingest.ArchiveStats) int64 { return s.Examples }),
		c("bad_records_total", "Records of the examples topic that did not decode (skipped).", func(s ingest.ArchiveStats) int64 { return s.Bad }),
		c("dropped_values_total", "Feature values whose kind differed from their file's column (not written).", func(s ingest.ArchiveStats) int64 { return s.Dropped }),
		c("undeclared_examples_total", "Examples with a feature column the spec does not declare (the column not written).", func(s ingest.ArchiveStats) int64 { return s.Undeclared }),
		c("files_total", "Parquet files uploaded.", func(s ingest.ArchiveStats) int64 { return s.Files }),
		c("bytes_total", "Bytes of Parquet uploaded.", func(s ingest.ArchiveStats) int64 { return s.Bytes }),
		c("commits_total", "Offset commits after uploads.", func(s ingest.ArchiveStats) int64 { return s.Commits }),
		c("restarts_total", "Restarts from the committed offsets after an error.", func(s ingest.ArchiveStats) int64 { return s.Restarts }),
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

// serveHTTP runs the service's HTTP port until ctx is done: /metrics,
// /healthz (the process is up), /readyz (every stage is running) and the
// handler mux's other pages.
func serveHTTP(addr string, reg *prometheus.Registry, ready func() bool, mux *http.ServeMux) (func(context.Context) error, net.Addr, error) {
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready\n", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
		return err
	}, ln.Addr(), nil
}

// mountPprof serves Go's runtime profiles (net/http/pprof) under
// /debug/pprof/ of mux.
func mountPprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
