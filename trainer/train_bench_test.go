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

	"github.com/wdstream/wdstream/featurize"
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
//   - peak-GFLOP/s: the build's sgemm rate, BenchmarkSgemmPeak's two
//     products (the faster one's rate), run between every two timed steps
//     so that the peak and the steps see the same load on a shared machine;
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
		benchWorld.exs, benchWorld.err = simulate.Examples(context.Background(), w, 30*time.Minute)
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

// peakProbe runs BenchmarkSgemmPeak's products (256x1024x1024 and
// 1024x1024x1024) with as many BLAS threads as GOMAXPROCS and keeps each
// one's time; the peak is the faster one's rate.
type peakProbe struct {
	shapes  [2][3]int // m, n, k
	a, b, c []float32
	flops   [2]float64
	elapsed [2]time.Duration
}

func newPeakProbe() *peakProbe {
	const n = 1024
	rng := rand.New(rand.NewPCG(1, 1))
	return &peakProbe{shapes: [2][3]int{{256, n, n}, {n, n, n}},
		a: randF32(rng, n*n), b: randF32(rng, n*n), c: make([]float32, n*n)}
}

func (p *peakProbe) run() {
	defer SetBLASThreads(SetBLASThreads(runtime.GOMAXPROCS(0)))
	bl := buildBLAS
	for i, s := range p.shapes {
		t0 := time.Now()
		bl.Sgemm(blas.NoTrans, blas.NoTrans, s[0], s[1], s[2], 1, p.a, s[2], p.b, s[1], 0, p.c, s[1])
		p.elapsed[i] += time.Since(t0)
		p.flops[i] += 2 * float64(s[0]) * float64(s[1]) * float64(s[2])
	}
}

func (p *peakProbe) reset() { p.flops, p.elapsed = [2]float64{}, [2]time.Duration{} }

func (p *peakProbe) gflops() float64 {
	return max(p.flops[0]/p.elapsed[0].Seconds(), p.flops[1]/p.elapsed[1].Seconds()) / 1e9
}

// BenchmarkTrainStep measures training throughput, one op per Step of one
// batch, with as many workers as GOMAXPROCS (run with -cpu 2 for the
// 2-core figure), the BLAS as the trainer sets it unless blas=T names the
// BLAS threads. The specs' batch_size is 256; the paper spec is also run
// at 1024 to show what larger batches buy the dense layers, and with the
// tower run per shard (tower=sharded, the way before issue 4) instead of on
// the whole batch (tower=auto picks the whole batch for the paper's tower).
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []struct {
		config, tower string
		batch, blas   int
	}{
		{"playstore", "auto", 256, 0}, {"paper", "auto", 256, 0}, {"paper", "auto", 1024, 0},
		// OpenBLAS only: one BLAS thread, the whole batch's products split
		// into row blocks by the workers.
		{"paper", "auto", 256, 1},
		// The way before issue 4: a tower per shard, each with the BLAS's
		// threads (OpenBLAS: 2 threads per call, 2 calls at once).
		{"paper", "sharded", 256, 0},
	} {
		if c.blas > 0 && BLAS() == "gonum (pure Go)" {
			continue // no BLAS thread setting: gonum's threads are GOMAXPROCS
		}
		name := fmt.Sprintf("spec=%s/batch=%d/tower=%s", c.config, c.batch, c.tower)
		if c.blas > 0 {
			name += fmt.Sprintf("/blas=%d", c.blas)
		}
		b.Run(name, func(b *testing.B) {
			if c.blas > 0 {
				defer SetBLASThreads(SetBLASThreads(c.blas))
			}
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
				probe.reset()
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
// on one thread, 17 ms for 2 threads of 100), one op per batch. Cases:
//
//   - workers=W/blas=T: a Trainer with W workers (the sparse parts
//     sharded), the tower on the whole batch with T BLAS threads
//     (GOMAXPROCS = max(W, T); in the pure Go build gonum's threads are
//     GOMAXPROCS, so W > T is skipped there); workers=1/blas=1 is the
//     paper's single thread;
//   - split=2x100: 2 workers each running the tower on its own 100
//     examples with one BLAS thread, the paper's split of a request batch.
//
// It reports the 50th and 99th percentile of the per-batch latency next to
// ns/op (the mean).
func BenchmarkScore200(b *testing.B) {
	m, bs := benchSetup(b, "paper", 200)
	// Train a few batches so that activations are realistic (ReLU
	// sparsity), then score held-out batches.
	tr := NewTrainer(m, 2)
	for _, bt := range bs[:20] {
		tr.Step(bt, nil)
	}
	bs = bs[20:]
	pureGo := BLAS() == "gonum (pure Go)"
	for _, c := range []struct {
		name             string
		workers, threads int
		sharded          bool
	}{
		{"workers=1/blas=1", 1, 1, false},
		{"workers=1/blas=2", 1, 2, false},
		{"workers=2/blas=1", 2, 1, false},
		{"workers=2/blas=2", 2, 2, false},
		{"split=2x100", 2, 1, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			procs := max(c.workers, c.threads)
			if pureGo {
				switch {
				case c.sharded:
					procs = c.workers // gonum's products share them
				case c.workers > c.threads:
					b.Skip("pure Go: BLAS threads are GOMAXPROCS")
				}
			}
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			defer SetBLASThreads(SetBLASThreads(c.threads))
			tr := NewTrainer(m, c.workers)
			tr.setWholeTower(!c.sharded)
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
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1e3, "mean-ms")
		})
	}
}
