package featurize

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// benchSetup returns a State on sp fitted on a pool of n seeded examples
// (three passes, so every string that will be admitted is), and the pool.
func benchSetup(b *testing.B, sp *spec.Spec, n int) (*State, []schemas.Example) {
	b.Helper()
	s, err := New(sp, Options{})
	if err != nil {
		b.Fatal(err)
	}
	exs := newGen(42, 20000, 5000).examples(n)
	for range 3 {
		if err := s.Fit(exs); err != nil {
			b.Fatal(err)
		}
	}
	s.RefreshBoundaries()
	runtime.GC() // finish the setup's garbage collection before timing
	return s, exs
}

// benchCases is the ladder: batch sizes over a pool of 16384 examples (too
// big for the caches: every example is cold, the pessimistic case), and
// one pool of 1024 (examples warm, as right after the decoder wrote them).
var benchCases = []struct{ pool, batch int }{
	{16384, 64}, {16384, 256}, {16384, 1024}, {1024, 256},
}

// BenchmarkTransform measures Transform alone on the playstore-like spec
// (13 features, installed_apps of 10-40 apps crossed with app_id), one op
// per batch. Figures to watch: ns/example (wall), cpu-ns/example (process
// CPU, less inflated on a loaded machine) and allocs/op (per batch, so 0
// means 0 per example).
func BenchmarkTransform(b *testing.B) {
	benchTransform(b, playstoreSpec(), benchCases, (*State).Transform)
}

// BenchmarkTransformConfigs is BenchmarkTransform/pool=16384/batch=256 on
// the repository's configs/playstore.yaml (12 features, no user_id,
// installed_apps x app_id into 2^22 buckets and four user x category
// crosses).
func BenchmarkTransformConfigs(b *testing.B) {
	sp, err := spec.Load("../configs/playstore.yaml")
	if err != nil {
		b.Skipf("configs/playstore.yaml: %v", err)
	}
	benchTransform(b, sp, benchCases[1:2], (*State).Transform)
}

// BenchmarkFitTransform measures the streaming trainer's step, Fit then
// Transform, in steady state (the pool's strings already counted).
func BenchmarkFitTransform(b *testing.B) {
	benchTransform(b, playstoreSpec(), benchCases, (*State).FitTransform)
}

func benchTransform(b *testing.B, sp *spec.Spec, cases []struct{ pool, batch int }, step func(*State, *Batch, []schemas.Example) error) {
	pools := map[int][]schemas.Example{}
	states := map[int]*State{}
	for _, bc := range cases {
		b.Run(fmt.Sprintf("pool=%d/batch=%d", bc.pool, bc.batch), func(b *testing.B) {
			if states[bc.pool] == nil {
				states[bc.pool], pools[bc.pool] = benchSetup(b, sp, bc.pool)
			}
			s, exs := states[bc.pool], pools[bc.pool]
			var batch Batch
			for off := 0; off+bc.batch <= len(exs); off += bc.batch { // grow the batch to its steady capacity
				_ = step(s, &batch, exs[off:off+bc.batch])
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPUNanos()
			off := 0
			for range b.N {
				if off+bc.batch > len(exs) {
					off = 0
				}
				if err := step(s, &batch, exs[off:off+bc.batch]); err != nil {
					b.Fatal(err)
				}
				off += bc.batch
			}
			reportPerExample(b, bc.batch, processCPUNanos()-cpu0)
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

// BenchmarkFitTransformTTL is BenchmarkFitTransform/pool=16384/batch=256
// with a ttl (30 days: nothing expires) on every categorical feature of
// apps and users: the cost of keeping each string's last-seen time.
func BenchmarkFitTransformTTL(b *testing.B) {
	sp := playstoreSpec()
	for i := range sp.Features {
		switch sp.Features[i].Name {
		case "app_id", "installed_apps", "app_developer", "user_id":
			sp.Features[i].TTL = spec.Duration(30 * 24 * time.Hour)
		}
	}
	benchTransform(b, sp, benchCases[1:2], (*State).FitTransform)
}
