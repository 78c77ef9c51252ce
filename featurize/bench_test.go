package featurize

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/wdstream/wdstream/schemas"
)

// benchSetup returns a fitted State on the playstore-like spec and a pool of
// examples (seeded), all of which the State has seen.
func benchSetup(b *testing.B) (*State, []schemas.Example) {
	b.Helper()
	s, err := New(playstoreSpec(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	exs := newGen(42, 20000, 5000).examples(16384)
	for range 3 {
		if err := s.Fit(exs); err != nil {
			b.Fatal(err)
		}
	}
	s.RefreshBoundaries()
	runtime.GC() // finish the setup's garbage collection before timing
	return s, exs
}

// BenchmarkTransform measures Transform alone on the playstore-like spec
// (13 features, installed_apps of 10-40 apps crossed with app_id), one op
// per batch; ns/example and allocs/op (per batch, so per example too) are
// the figures to watch.
func BenchmarkTransform(b *testing.B) {
	s, exs := benchSetup(b)
	for _, bs := range []int{64, 256, 1024} {
		b.Run(fmt.Sprintf("batch=%d", bs), func(b *testing.B) {
			var batch Batch
			_ = s.Transform(&batch, exs[:bs]) // warm the batch's capacity
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPUNanos()
			off := 0
			for range b.N {
				if off+bs > len(exs) {
					off = 0
				}
				if err := s.Transform(&batch, exs[off:off+bs]); err != nil {
					b.Fatal(err)
				}
				off += bs
			}
			reportPerExample(b, bs, processCPUNanos()-cpu0)
		})
	}
}

// BenchmarkFitTransform measures the streaming trainer's step, Fit then
// Transform, in steady state (the pool's strings already counted once).
func BenchmarkFitTransform(b *testing.B) {
	s, exs := benchSetup(b)
	for _, bs := range []int{64, 256, 1024} {
		b.Run(fmt.Sprintf("batch=%d", bs), func(b *testing.B) {
			var batch Batch
			_ = s.FitTransform(&batch, exs[:bs])
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPUNanos()
			off := 0
			for range b.N {
				if off+bs > len(exs) {
					off = 0
				}
				if err := s.FitTransform(&batch, exs[off:off+bs]); err != nil {
					b.Fatal(err)
				}
				off += bs
			}
			reportPerExample(b, bs, processCPUNanos()-cpu0)
		})
	}
}

// reportPerExample reports wall ns/example, examples/s, and the process's
// CPU ns/example (wall time on a loaded machine overstates the cost).
func reportPerExample(b *testing.B, bs int, cpuNanos int64) {
	n := float64(b.N) * float64(bs)
	ns := float64(b.Elapsed().Nanoseconds()) / n
	b.ReportMetric(ns, "ns/example")
	b.ReportMetric(1e9/ns, "examples/s")
	if cpuNanos > 0 {
		b.ReportMetric(float64(cpuNanos)/n, "cpu-ns/example")
	}
}
