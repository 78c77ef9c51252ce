package tune

import (
	"context"
	"fmt"
	"math"

	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer/metrics"
)

// ExampleSearch searches 9 trials with a stand-in objective that prefers
// ftrl.alpha near 0.3; without Objective, Search trains each trial.
func ExampleSearch() {
	base, err := spec.Parse("example.yaml", []byte(synthYAML))
	if err != nil {
		panic(err)
	}
	exs := synth(1, 1000) // sorted by time
	train, validation := exs[:800], exs[800:]
	objective := func(_ context.Context, job Job) (Score, error) {
		d := math.Log10(job.Values.Alpha / 0.3)
		return Score{Metrics: metrics.Summary{LogLoss: 0.3 + d*d}, Trained: int64(len(job.Train))}, nil
	}
	res, err := Search(context.Background(), base, train, validation, Options{Trials: 9, Seed: 1, Objective: objective})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Describe())
	for _, r := range res.Rungs {
		fmt.Printf("rung %d: %d examples, trials %v, promoted %v\n", r.Index, r.Examples, r.Candidates, r.Promoted)
	}
	fmt.Printf("best: trial %d (alpha %g), log loss %.4f; base: alpha %g, log loss %.4f\n",
		res.Best.ID, res.Best.Values.Alpha, res.BestRun.Metrics.LogLoss, res.Trials[0].Values.Alpha, res.Base.Metrics.LogLoss)
	// Output:
	// 9 trials, 2 rungs (shares 1/3, 1): every rung ran
	// rung 0: 267 examples, trials [0 1 2 3 4 5 6 7 8], promoted [6 1 4]
	// rung 1: 800 examples, trials [6 1 4], promoted []
	// best: trial 6 (alpha 0.441), log loss 0.3280; base: alpha 0.1, log loss 0.5276
}
