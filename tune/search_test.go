package tune

import (
	"cmp"
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// TestSuccessiveHalving: with an objective that is a known function of the
// values (the same ordering at every rung), every rung promotes exactly
// ceil(n/eta) trials, the best by that function; each rung trains on the
// newest share of the examples; trial 0 runs at every rung; and the search
// returns the function's optimum among the sampled trials.
func TestSuccessiveHalving(t *testing.T) {
	base := synthSpec(t)
	exs := synth(1, 1000)
	train, val := exs[:900], exs[900:]
	for _, tc := range []struct {
		trials, eta int
		sizes       []int // trials promoted to each rung
		shares      []float64
	}{
		{27, 3, []int{27, 9, 3}, []float64{1. / 9, 1. / 3, 1}},
		{10, 3, []int{10, 4, 2}, []float64{1. / 9, 1. / 3, 1}},
		{8, 2, []int{8, 4, 2}, []float64{1. / 4, 1. / 2, 1}},
		{5, 5, []int{5}, []float64{1}},
		{1, 3, []int{1}, []float64{1}},
	} {
		t.Run("", func(t *testing.T) {
			fk := &fake{}
			res, err := Search(context.Background(), base, train, val, Options{Trials: tc.trials, Eta: tc.eta, Seed: 7, Objective: fk.objective})
			if err != nil {
				t.Fatal(err)
			}
			if res.Stop != StopDone || len(res.Rungs) != len(tc.sizes) || res.Reached != len(tc.sizes)-1 {
				t.Fatalf("stop %s, %d rungs, reached %d: want done, %d rungs, all reached", res.Stop, len(res.Rungs), res.Reached, len(tc.sizes))
			}
			if len(res.Trials) != tc.trials || !reflect.DeepEqual(res.Trials[0].Values, baseValues(base)) {
				t.Fatalf("%d trials, trial 0 %v: want %d, the base's values %v", len(res.Trials), res.Trials[0].Values, tc.trials, baseValues(base))
			}
			byF := func(ids []int) []int {
				out := slices.Clone(ids)
				slices.SortStableFunc(out, func(a, b int) int {
					return cmp.Or(cmp.Compare(fk.f(res.Trials[a].Values), fk.f(res.Trials[b].Values)), cmp.Compare(a, b))
				})
				return out
			}
			runs := 0
			for r, rung := range res.Rungs {
				if len(rung.Candidates) != tc.sizes[r] || !rung.Complete {
					t.Fatalf("rung %d: %d candidates, complete %v: want %d, complete", r, len(rung.Candidates), rung.Complete, tc.sizes[r])
				}
				if rung.Share != tc.shares[r] {
					t.Fatalf("rung %d: share %g, want %g", r, rung.Share, tc.shares[r])
				}
				if want := max(int(float64(len(train))*tc.shares[r]+0.999), base.Model.BatchSize); rung.Examples != want {
					t.Fatalf("rung %d: %d examples, want %d", r, rung.Examples, want)
				}
				if r < len(res.Rungs)-1 {
					want := byF(rung.Candidates)[:(len(rung.Candidates)+tc.eta-1)/tc.eta]
					if !slices.Equal(rung.Promoted, want) || !slices.Equal(res.Rungs[r+1].Candidates, want) {
						t.Fatalf("rung %d promoted %v, want the best %d by the objective %v", r, rung.Promoted, len(want), want)
					}
				} else if len(rung.Promoted) != 0 {
					t.Fatalf("the last rung promoted %v", rung.Promoted)
				}
				if _, ok := res.Trials[0].At(r); !ok {
					t.Fatalf("trial 0 has no run at rung %d", r)
				}
				runs += len(rung.Runs)
			}
			if len(fk.jobs) != runs {
				t.Fatalf("the objective ran %d times, the rungs list %d runs", len(fk.jobs), runs)
			}
			for _, j := range fk.jobs {
				n := res.Rungs[j.Rung].Examples
				if len(j.Train) != n || &j.Train[0] != &train[len(train)-n] || len(j.Validation) != len(val) {
					t.Fatalf("trial %d at rung %d trained on %d examples: want the newest %d", j.Trial, j.Rung, len(j.Train), n)
				}
				if j.Spec != res.Trials[j.Trial].Spec {
					t.Fatalf("trial %d: the job's spec is not the trial's", j.Trial)
				}
			}
			all := make([]int, tc.trials)
			for i := range all {
				all[i] = i
			}
			if opt := byF(all)[0]; res.Best == nil || res.Best.ID != opt {
				t.Fatalf("best %v, want trial %d, the objective's optimum", res.Best, opt)
			}
			if res.BestRun.Rung != res.Reached || res.BestRun.Metrics.LogLoss > res.Base.Metrics.LogLoss || res.Base.Rung != res.Reached {
				t.Fatalf("best run %+v against base run %+v at rung %d", res.BestRun, res.Base, res.Reached)
			}
		})
	}
}

// TestSampledSpecs: each trial's spec is the base with its values applied,
// and nothing else changed.
func TestSampledSpecs(t *testing.T) {
	base := synthSpec(t)
	fk := &fake{}
	exs := synth(1, 300)
	res, err := Search(context.Background(), base, exs[:250], exs[250:], Options{Trials: 20, Seed: 3, Objective: fk.objective})
	if err != nil {
		t.Fatal(err)
	}
	interactions := map[spec.Interaction]int{}
	for _, tr := range res.Trials {
		v, sp := tr.Values, tr.Spec
		m := sp.Model
		if m.FTRL.Alpha != v.Alpha || m.FTRL.Beta != v.Beta || m.FTRL.L1 != v.L1 || m.FTRL.L2 != v.L2 ||
			m.AdaGrad.LearningRate != v.LearningRate || m.AdaGrad.InitialAccumulator != v.InitialAccumulator ||
			m.Epochs != v.Epochs || !slices.Equal(m.Hidden, v.Hidden) || m.Interaction.OrNone() != v.Interaction ||
			(m.CrossLayers != 0) != (v.Interaction == spec.InteractionCross) {
			t.Fatalf("trial %d: model %+v does not hold %v", tr.ID, m, v)
		}
		interactions[v.Interaction]++
		if want := scale(4, v.Embedding); sp.Features[0].EmbeddingDim != want || sp.Features[1].EmbeddingDim != want {
			t.Fatalf("trial %d: embedding_dim %d, want 4 x %g", tr.ID, sp.Features[0].EmbeddingDim, v.Embedding)
		}
		if want := scale(1024, v.Buckets); sp.Crosses[0].HashBuckets != want {
			t.Fatalf("trial %d: hash_buckets %d, want 1024 x %g", tr.ID, sp.Crosses[0].HashBuckets, v.Buckets)
		}
		// Put the searched keys back: the rest must be the base.
		back := *sp
		back.Model.FTRL, back.Model.AdaGrad, back.Model.Epochs, back.Model.Hidden = base.Model.FTRL, base.Model.AdaGrad, base.Model.Epochs, base.Model.Hidden
		back.Model.Interaction, back.Model.CrossLayers = base.Model.Interaction, base.Model.CrossLayers
		back.Features = slices.Clone(sp.Features)
		back.Features[0].EmbeddingDim, back.Features[1].EmbeddingDim = 4, 4
		back.Crosses = slices.Clone(sp.Crosses)
		back.Crosses[0].HashBuckets = 1024
		if !reflect.DeepEqual(&back, base) {
			t.Fatalf("trial %d changes more than the searched keys:\n%+v\nbase:\n%+v", tr.ID, back, *base)
		}
	}
	if len(interactions) != 3 {
		t.Fatalf("20 trials drew interactions %v, want none, dot and cross", interactions)
	}
}

// TestDeterminism trains for real: the same seed gives the same trials,
// promotions and results, and the same table but for the times, whether
// the runs go one at a time or two at once (each with one thread).
func TestDeterminism(t *testing.T) {
	base := synthSpec(t)
	exs := synth(2, 3000)
	train, val := exs[:2400], exs[2400:]
	for _, mode := range []Mode{ModeBackfill, ModeStream} {
		t.Run(string(mode), func(t *testing.T) {
			search := func(parallel int) (*Result, string) {
				res, err := Search(context.Background(), base, train, val, Options{Mode: mode, Trials: 4, Eta: 2, Seed: 11, Parallel: parallel, Workers: parallel, Bootstrap: 500})
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				if err := res.WriteTable(&b); err != nil {
					t.Fatal(err)
				}
				return res, maskTimes(b.String())
			}
			a, tableA := search(2)
			b, tableB := search(2)
			c, tableC := search(1)
			if tableA != tableB || tableA != tableC {
				t.Fatalf("tables differ:\n%s\n%s\n%s", tableA, tableB, tableC)
			}
			for _, other := range []*Result{b, c} {
				if !sameTrials(a, other) {
					t.Fatalf("trials differ")
				}
			}
			if a.Stop != StopDone || a.Best == nil || a.BestRun.Metrics.AUC < 0.6 || a.BestRun.Metrics.LogLoss > a.Base.Metrics.LogLoss || a.Base.Rung != a.Reached {
				t.Fatalf("stop %s, best %v (%+v), base %+v", a.Stop, a.Best, a.BestRun, a.Base)
			}
			for _, tr := range a.Trials {
				for _, run := range tr.Runs {
					if run.Err != nil || run.Metrics.Count != len(val) || run.Metrics.AUC < 0.5 {
						t.Fatalf("trial %d at rung %d: %+v: want AUC above 0.5 on %d validation examples", tr.ID, run.Rung, run, len(val))
					}
					wantTrained := int64(a.Rungs[run.Rung].Examples + len(val))
					if mode == ModeBackfill {
						wantTrained = int64(a.Rungs[run.Rung].Examples * run.Epochs)
					}
					if run.Trained != wantTrained {
						t.Fatalf("trial %d at rung %d trained %d examples, want %d", tr.ID, run.Rung, run.Trained, wantTrained)
					}
				}
			}
			t.Logf("\n%s", tableA)
		})
	}
}

// sameTrials compares two results' trials but for the durations.
func sameTrials(a, b *Result) bool {
	if len(a.Trials) != len(b.Trials) {
		return false
	}
	for i := range a.Trials {
		ta, tb := a.Trials[i], b.Trials[i]
		if !reflect.DeepEqual(ta.Values, tb.Values) || len(ta.Runs) != len(tb.Runs) {
			return false
		}
		for j := range ta.Runs {
			ra, rb := ta.Runs[j], tb.Runs[j]
			ra.Duration, rb.Duration = 0, 0
			if !reflect.DeepEqual(ra, rb) {
				return false
			}
		}
	}
	return true
}

// maskTimes blanks the time column of a table.
func maskTimes(table string) string {
	lines := strings.Split(table, "\n")
	col := slices.IndexFunc(strings.Split(lines[0], "|"), func(c string) bool { return strings.TrimSpace(c) == "time" })
	for i, l := range lines {
		cells := strings.Split(l, "|")
		if col > 0 && len(cells) > col+1 {
			cells[col] = "t"
			lines[i] = strings.Join(cells, "|")
		}
	}
	return strings.Join(lines, "\n")
}

// TestBudget: a budget shorter than the first rung stops the search in
// it, cutting the run in flight; the result says so and the best is the
// best run that finished.
func TestBudget(t *testing.T) {
	base := synthSpec(t)
	exs := synth(1, 300)
	fk := &fake{wait: func(ctx context.Context) error {
		select {
		case <-time.After(20 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	start := time.Now()
	res, err := Search(context.Background(), base, exs[:250], exs[250:], Options{Trials: 27, Seed: 1, Budget: 150 * time.Millisecond, Objective: fk.objective})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a 150ms budget took %s", took)
	}
	rung := res.Rungs[0]
	if res.Stop != StopBudget || rung.Complete || rung.Finished == 0 || rung.Finished >= 27 || res.Reached != 0 || len(res.Rungs[1].Runs) != 0 {
		t.Fatalf("stop %s, rung 0 %d of 27 finished, reached %d: want budget, some of rung 0", res.Stop, rung.Finished, res.Reached)
	}
	if !strings.Contains(res.Describe(), "the budget ran out during rung 0") {
		t.Fatalf("describe: %s", res.Describe())
	}
	var finished []*Trial
	for _, tr := range res.Trials {
		if _, ok := tr.At(0); ok {
			finished = append(finished, tr)
		}
	}
	if len(finished) != rung.Finished {
		t.Fatalf("%d trials have a run, rung 0 counts %d", len(finished), rung.Finished)
	}
	for _, tr := range finished {
		if run, _ := tr.At(0); run.Metrics.LogLoss < res.BestRun.Metrics.LogLoss {
			t.Fatalf("trial %d (%g) beats the best %d (%g)", tr.ID, run.Metrics.LogLoss, res.Best.ID, res.BestRun.Metrics.LogLoss)
		}
	}
}

// TestCancel: a cancelled context stops the search like the budget does.
func TestCancel(t *testing.T) {
	base := synthSpec(t)
	exs := synth(1, 300)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fk := &fake{}
	n := 0
	res, err := Search(ctx, base, exs[:250], exs[250:], Options{Trials: 9, Seed: 1, Objective: fk.objective, OnRun: func(p Progress) {
		if n++; n == 4 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stop != StopCancelled || res.Rungs[0].Finished != 4 || res.Best == nil || !strings.Contains(res.Describe(), "cancelled during rung 0 (4 of its 9 runs finished)") {
		t.Fatalf("stop %s, %d finished: %s", res.Stop, res.Rungs[0].Finished, res.Describe())
	}
}

// TestFailedRuns: a run that fails ranks last and is not promoted, the
// table lists its error, and a search whose every first run fails is an
// error naming trial 0's.
func TestFailedRuns(t *testing.T) {
	base := synthSpec(t)
	exs := synth(1, 300)
	fk := &fake{}
	failing := func(ctx context.Context, job Job) (Score, error) {
		if job.Values.Alpha > 0.2 {
			return Score{}, errors.New("diverged")
		}
		return fk.objective(ctx, job)
	}
	res, err := Search(context.Background(), base, exs[:250], exs[250:], Options{Trials: 27, Seed: 1, Objective: failing})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, tr := range res.Trials {
		if run, _ := tr.At(0); run.Err != nil {
			failed++
			if len(tr.Runs) != 1 {
				t.Fatalf("trial %d failed at rung 0 and ran on: %+v", tr.ID, tr.Runs)
			}
		}
	}
	if failed == 0 || failed > 18 {
		t.Fatalf("%d of 27 trials failed: the test wants some, fewer than 2/3", failed)
	}
	var b strings.Builder
	if err := res.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "failed at rung 0: diverged") != failed || res.Best == nil || res.Best.Values.Alpha > 0.2 {
		t.Fatalf("best %v; table:\n%s", res.Best, b.String())
	}

	_, err = Search(context.Background(), base, exs[:250], exs[250:], Options{Trials: 3, Objective: func(context.Context, Job) (Score, error) {
		return Score{}, errors.New("cannot train")
	}})
	if err == nil || !strings.Contains(err.Error(), "every run of rung 0 failed; trial 0 (the base spec): cannot train") {
		t.Fatalf("all runs failing: %v", err)
	}
}

// TestUnreadableExamples: examples the spec cannot read stop the search
// with the featurizer's error, not one failed run per trial.
func TestUnreadableExamples(t *testing.T) {
	base := synthSpec(t)
	exs := synth(1, 300)
	exs[240].Features = map[string]schemas.Value{"country": schemas.Strings([]string{"a", "b"})}
	for _, mode := range []Mode{ModeBackfill, ModeStream} {
		n := 0
		_, err := Search(context.Background(), base, exs[:250], exs[250:], Options{Mode: mode, Trials: 9, Seed: 1, OnRun: func(Progress) { n++ }})
		if err == nil || !strings.Contains(err.Error(), "fitting the featurizer") || !strings.Contains(err.Error(), `"country"`) || n != 0 {
			t.Fatalf("%s: %d runs reported, error %v", mode, n, err)
		}
	}
}
