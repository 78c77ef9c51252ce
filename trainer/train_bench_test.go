package trainer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gorgonia.org/tensor"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/simulate"
)

// Training and scoring benchmarks (issue 4). The input is a small simulated
// world (seed 1: 4,000 users, 800 apps, 2 days of 15,000 impressions),
// joined offline with the contract's 30-minute label window and featurized
// once outside the timed loop; the timed loop calls Trainer.Step (or
// Predict) on the pre-built batches in turn. Figures:
//
//   - examples/s: training (or scoring) throughput;
//   - tower-GFLOP/s: the dense layers' rate, Model.TowerFLOPs() * 3
//     (forward and backward) per example times examples/s;
//   - peak-GFLOP/s: the build's sgemm on 1024x1024x1024 (BenchmarkSgemmPeak's
//     largest product), one product run between every two timed steps, so
//     that the peak and the steps see the same load on a shared machine;
//   - %peak: tower-GFLOP/s over peak-GFLOP/s.

var benchWorld struct {
	once sync.Once
	exs  []schemas.Example
	err  error
}

// worldExamples returns the simulated world's labeled examples, built once
// per process.
func worldExamples(tb testing.TB) []schemas.Example {
	tb.Helper()
	benchWorld.once.Do(func() {
		w, err := simulate.NewWorld(simulate.Config{Seed: 1, Users: 4000, Apps: 800, Days: 2, ImpressionsPerDay: 15000})
		if err != nil {
			benchWorld.err = err
			return
		}
		var imps []schemas.Impression
		var ins []schemas.Install
		if _, err := w.Run(context.Background(), func(e simulate.Event) error {
			if e.Impression != nil {
				imps = append(imps, *e.Impression)
			} else {
				ins = append(ins, *e.Install)
			}
			return nil
		}); err != nil {
			benchWorld.err = err
			return
		}
		benchWorld.exs, _, benchWorld.err = join.Offline(imps, ins, 30*time.Minute)
	})
	if benchWorld.err != nil {
		tb.Fatal(benchWorld.err)
	}
	return benchWorld.exs
}

// benchSetup loads a spec from configs/, fits a featurizer on the world,
// and returns a fresh model and the world cut into batches of batchSize.
func benchSetup(tb testing.TB, config string, batchSize int) (*Model, []*featurize.Batch) {
	tb.Helper()
	sp, err := spec.Load("../configs/" + config + ".yaml")
	if err != nil {
		tb.Fatal(err)
	}
	exs := worldExamples(tb)
	st, err := featurize.New(sp, featurize.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Fit(exs); err != nil {
		tb.Fatal(err)
	}
	st.RefreshBoundaries()
	var bs []*featurize.Batch
	for lo := 0; lo+batchSize <= len(exs); lo += batchSize {
		b := new(featurize.Batch)
		if err := st.Transform(b, exs[lo:lo+batchSize]); err != nil {
			tb.Fatal(err)
		}
		bs = append(bs, b)
	}
	m, err := NewModel(sp, st.Layout())
	if err != nil {
		tb.Fatal(err)
	}
	runtime.GC()
	return m, bs
}

// peakProbe runs the sgemm of BenchmarkSgemmPeak's largest case and keeps
// its time.
type peakProbe struct {
	a, b, c []float32
	n       int
	flops   float64
	elapsed time.Duration
}

func newPeakProbe() *peakProbe {
	const n = 1024
	rng := rand.New(rand.NewPCG(1, 1))
	return &peakProbe{a: randF32(rng, n*n), b: randF32(rng, n*n), c: make([]float32, n*n), n: n}
}

func (p *peakProbe) run() {
	t0 := time.Now()
	tensor.WhichBLAS().Sgemm(blas.NoTrans, blas.NoTrans, p.n, p.n, p.n, 1, p.a, p.n, p.b, p.n, 0, p.c, p.n)
	p.elapsed += time.Since(t0)
	p.flops += 2 * float64(p.n) * float64(p.n) * float64(p.n)
}

func (p *peakProbe) gflops() float64 { return p.flops / p.elapsed.Seconds() / 1e9 }

// BenchmarkTrainStep measures training throughput, one op per Step of one
// batch, with as many workers as GOMAXPROCS (run with -cpu 2 for the
// 2-core figure). The specs' batch_size is 256; the paper spec is also run
// at 1024 to show what larger batches buy the dense layers, and with the
// tower run per shard (tower=sharded, the way before issue 4) instead of on
// the whole batch (tower=auto picks the whole batch for the paper's tower).
func BenchmarkTrainStep(b *testing.B) {
	UseBestBLAS()
	for _, c := range []struct {
		config, tower string
		batch         int
	}{
		{"playstore", "auto", 256}, {"paper", "auto", 256}, {"paper", "auto", 1024},
		{"paper", "sharded", 256}, // the way before issue 4, for comparison
	} {
		b.Run(fmt.Sprintf("spec=%s/batch=%d/tower=%s", c.config, c.batch, c.tower), func(b *testing.B) {
			m, bs := benchSetup(b, c.config, c.batch)
			tr := NewTrainer(m, runtime.GOMAXPROCS(0))
			if c.tower == "sharded" {
				tr.setWholeTower(false)
			}
			var preds []float32
			for _, bt := range bs[:min(2, len(bs))] { // warm up: buffers, tables grown
				_, preds = tr.Step(bt, preds)
			}
			var probe *peakProbe
			if m.TowerFLOPs() > 1e6 {
				probe = newPeakProbe()
				probe.run()
				probe.elapsed, probe.flops = 0, 0
			}
			var stepTime time.Duration
			b.ResetTimer()
			for i := range b.N {
				if probe != nil {
					b.StopTimer()
					probe.run()
					b.StartTimer()
				}
				t0 := time.Now()
				_, preds = tr.Step(bs[i%len(bs)], preds)
				stepTime += time.Since(t0)
			}
			b.StopTimer()
			exps := float64(b.N*c.batch) / stepTime.Seconds()
			b.ReportMetric(exps, "examples/s")
			if probe != nil {
				g := m.TowerFLOPs() * 3 * exps / 1e9
				b.ReportMetric(g, "tower-GFLOP/s")
				b.ReportMetric(probe.gflops(), "peak-GFLOP/s")
				b.ReportMetric(100*g/probe.gflops(), "%peak")
			}
		})
	}
}

// BenchmarkScore200 measures the latency of scoring one batch of 200
// examples with the paper spec (the paper's table: 31 ms for 200 examples
// on one thread), one op per batch, with threads = GOMAXPROCS = workers
// (= OpenBLAS threads in the openblas build). It reports the 50th and 99th
// percentile of the per-batch latency next to ns/op (the mean).
func BenchmarkScore200(b *testing.B) {
	UseBestBLAS()
	m, bs := benchSetup(b, "paper", 200)
	// Train a few batches so that activations are realistic (ReLU
	// sparsity), then score held-out batches.
	tr := NewTrainer(m, 2)
	for _, bt := range bs[:20] {
		tr.Step(bt, nil)
	}
	bs = bs[20:]
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
			defer SetBLASThreads(SetBLASThreads(threads))
			tr := NewTrainer(m, threads)
			var p []float32
			p = tr.Predict(p, bs[0])
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				p = tr.Predict(p, bs[i%len(bs)])
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			q := func(f float64) float64 {
				return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))].Microseconds()) / 1e3
			}
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(200*float64(b.N)/b.Elapsed().Seconds(), "examples/s")
		})
	}
}
