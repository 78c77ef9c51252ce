package publisher

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/trainer"
)

// dryRun loads the candidate back from files through decodeVerified (the
// decoding half of Load: checksums against a manifest, then DecodeBundle),
// scores the freshest examples with both models in batches of BatchSize
// and compares the scores, then times batches of BatchSize through
// featurizing and prediction with the loaded model, as predict does. The
// p99 must be within the spec's latency_budget as it is: nothing scales it,
// in binaries built with the race detector either (a test that runs the gate
// under -race states a budget that fits).
func (g *Gate) dryRun(ctx context.Context, r *Report, cand *Bundle, files map[string][]byte, filesErr error, fresh []schemas.Example, workers int) error {
	scoreT := fmt.Sprintf("<= %g", ScoreTolerance)
	budget := g.Validation.LatencyBudget.D()
	latT := fmt.Sprintf("p99 <= %s", budget)
	fail := func(why string) {
		r.add("dry_run_scores", Fail, math.NaN(), "%.3g", scoreT, why)
		r.add("dry_run_latency", Fail, math.NaN(), "%.2fms", latT, why)
	}
	if filesErr != nil {
		fail("serializing the candidate: " + filesErr.Error())
		return nil
	}
	m := &Manifest{Model: "candidate", Version: "dry-run"}
	m.SetFiles(files)
	loaded, err := decodeVerified(m, files)
	if err != nil {
		fail("loading the candidate back: " + err.Error())
		return nil
	}
	n := g.DryRunExamples
	if n == 0 {
		n = 1000
	}
	sample := fresh[len(fresh)-min(n, len(fresh)):]
	if len(sample) == 0 {
		fail("no fresh examples to score")
		return nil
	}
	lt := trainer.NewTrainer(loaded.Model, workers)
	want, err := trainer.NewTrainer(cand.Model, workers).Score(cand.State, sample, BatchSize)
	if err != nil {
		return fmt.Errorf("gate: dry run: scoring with the candidate: %w", err)
	}
	got, err := lt.Score(loaded.State, sample, BatchSize)
	if err != nil {
		fail("the loaded candidate cannot score: " + err.Error())
		return nil
	}
	d := &DryRun{Examples: len(sample), BatchSize: BatchSize, Workers: workers}
	r.DryRun = d
	diff, nan := 0.0, 0
	for i := range want {
		x := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(x) {
			nan++
			continue
		}
		diff = max(diff, x)
	}
	d.MaxScoreDiff = diff
	switch {
	case nan > 0:
		r.add("dry_run_scores", Fail, diff, "%.3g", scoreT, fmt.Sprintf("%d of %d scores are NaN", nan, len(sample)))
	default:
		r.add("dry_run_scores", passIf(diff <= ScoreTolerance), diff, "%.3g", scoreT,
			fmt.Sprintf("max |loaded - in-memory| over %d examples", len(sample)))
	}

	// Latency: batches of BatchSize cycled from the sample.
	batches := g.LatencyBatches
	if batches == 0 {
		batches = 100
	}
	// Collect the caller's garbage (a training run's) first: the dry run
	// measures the model, as a serving process would run it.
	runtime.GC()
	batch := make([]schemas.Example, BatchSize)
	times := make([]time.Duration, 0, batches)
	next := 0
	for i := range warmupBatches + batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		for j := range batch {
			batch[j] = sample[next]
			next = (next + 1) % len(sample)
		}
		start := time.Now()
		if _, err := lt.Score(loaded.State, batch, BatchSize); err != nil {
			return fmt.Errorf("gate: dry run: timing: %w", err)
		}
		if i >= warmupBatches {
			times = append(times, time.Since(start))
		}
	}
	d.times = slices.Clone(times)
	slices.Sort(times)
	d.Batches = len(times)
	d.P50 = times[(len(times)-1)/2]
	d.P99 = times[int(math.Ceil(0.99*float64(len(times))))-1]
	r.add("dry_run_latency", passIf(d.P99 <= budget), float64(d.P99)/1e6, "%.2fms", latT,
		fmt.Sprintf("p50 %.2fms over %d batches of %d, %d thread(s)", float64(d.P50)/1e6, d.Batches, BatchSize, workers))
	return nil
}
