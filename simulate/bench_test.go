package simulate

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchConfig is the default world cut to days days.
func benchConfig(days int) Config { return Config{Seed: 1, Days: days} }

// BenchmarkRun measures generation alone (no encoding): one op is a whole
// run of the default world cut to two days.
func BenchmarkRun(b *testing.B) {
	w, err := NewWorld(benchConfig(2))
	if err != nil {
		b.Fatal(err)
	}
	var events int64
	cpu0 := processCPU()
	for b.Loop() {
		rep, err := w.Run(context.Background(), func(Event) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		events += int64(rep.Impressions + rep.Installs)
	}
	reportRates(b, events, processCPU()-cpu0)
}

// BenchmarkWriteFiles measures the whole simulate command's work: the
// default world (20k users, 2k apps, 200k impressions a day) cut to two
// days, generated and written to files. One op is one run; events/s counts
// impressions plus installs written.
func BenchmarkWriteFiles(b *testing.B) {
	for _, format := range []Format{FormatParquet, FormatJSONL} {
		b.Run(string(format), func(b *testing.B) {
			w, err := NewWorld(benchConfig(2))
			if err != nil {
				b.Fatal(err)
			}
			var events int64
			cpu0 := processCPU()
			for i := 0; b.Loop(); i++ {
				dir := fmt.Sprintf("%s/%d", b.TempDir(), i)
				rep, err := WriteFiles(context.Background(), w, WriteOptions{Dir: dir, Format: format})
				if err != nil {
					b.Fatal(err)
				}
				events += int64(rep.Impressions + rep.Installs)
			}
			reportRates(b, events, processCPU()-cpu0)
		})
	}
}

// reportRates reports events per second of wall time, CPU time per event
// and the average number of busy cores (CPU time over wall time).
func reportRates(b *testing.B, events int64, cpu time.Duration) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	if cpu > 0 && events > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(events), "cpu-ns/event")
		b.ReportMetric(cpu.Seconds()/b.Elapsed().Seconds(), "cores")
	}
}
