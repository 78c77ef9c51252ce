package tune

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// fatalError marks an error of the shared work (fitting the featurizer on
// the examples) that every run would meet: it stops the search.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// Search runs successive halving over the model section of base (see the
// package doc). train and validation are sorted by event time, every
// validation example no older than the training examples. It returns an
// error for bad input, a trial space that yields no valid spec, or a
// failure every run would meet (the featurizer cannot read the examples);
// a search cut by the budget or ctx returns what it reached, with
// Result.Stop saying so.
func Search(ctx context.Context, base *spec.Spec, train, validation []schemas.Example, opts Options) (*Result, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	if err := checkSplit(train, validation); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	trials, err := sampleTrials(base, &opts)
	if err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	s := &search{opts: opts, train: train, val: validation, trials: trials, start: time.Now()}
	s.obj = opts.Objective
	if s.obj == nil {
		fc := newFitCache(opts.Mode, opts.Bootstrap)
		s.obj, s.fits = fc.objective, fc
	}
	s.plan(base.Model.BatchSize)
	if err := s.run(ctx); err != nil {
		return nil, err
	}
	return s.result(), nil
}

// checkSplit checks that both sides hold examples in time order and that
// validation comes after train.
func checkSplit(train, val []schemas.Example) error {
	switch {
	case len(train) == 0:
		return errors.New("no training examples")
	case len(val) == 0:
		return errors.New("no validation examples")
	}
	for _, side := range []struct {
		name string
		exs  []schemas.Example
	}{{"training", train}, {"validation", val}} {
		for i := 1; i < len(side.exs); i++ {
			if side.exs[i].TS < side.exs[i-1].TS {
				return fmt.Errorf("%s examples not in time order: example %d (ts %d) after ts %d", side.name, i, side.exs[i].TS, side.exs[i-1].TS)
			}
		}
	}
	if last, first := train[len(train)-1].TS, val[0].TS; first < last {
		return fmt.Errorf("the validation split starts at ts %d, before the last training example (ts %d): it must be the newest examples", first, last)
	}
	return nil
}

// sampleTrials returns trial 0 (the base) and opts.Trials-1 sampled trials,
// each spec valid; a draw whose spec fails validation is drawn again.
func sampleTrials(base *spec.Spec, opts *Options) ([]*Trial, error) {
	const maxDraws = 1000
	bv := baseValues(base)
	sp, err := apply(base, bv, opts.Load)
	if err != nil {
		return nil, fmt.Errorf("the base spec does not validate: %w", err)
	}
	trials := []*Trial{{ID: 0, Values: bv, Spec: sp}}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x74756e65)) // "tune"
	for id := 1; id < opts.Trials; id++ {
		var last error
		for draw := 0; ; draw++ {
			if draw == maxDraws {
				return nil, fmt.Errorf("trial %d: no valid spec in %d draws; the last: %w", id, maxDraws, last)
			}
			v := opts.Space.sample(rng, bv, opts.Mode)
			if sp, last = apply(base, v, opts.Load); last == nil {
				trials = append(trials, &Trial{ID: id, Values: v, Spec: sp})
				break
			}
		}
	}
	return trials, nil
}

type search struct {
	opts       Options
	train, val []schemas.Example
	trials     []*Trial
	rungs      []Rung
	obj        Objective
	fits       *fitCache // nil with an injected objective
	start      time.Time

	mu   sync.Mutex // serializes OnRun and a rung's run counters
	stop Stop       // set once the rungs are done
}

// plan lays out the rungs: sizes n0, ceil(n0/eta), ... down to the last
// above 1 (a single rung for a single trial), each training on the newest
// eta^-(R-1-r) share of the examples, at least a batch of them.
func (s *search) plan(batch int) {
	n, eta := s.opts.Trials, s.opts.Eta
	var sizes []int
	for len(sizes) == 0 || n > 1 {
		sizes = append(sizes, n)
		n = (n + eta - 1) / eta
	}
	R := len(sizes)
	for r := range R {
		div := 1
		for range R - 1 - r {
			div = min(div*eta, len(s.train)+1)
		}
		ex := (len(s.train) + div - 1) / div
		ex = min(max(ex, batch, 1), len(s.train))
		s.rungs = append(s.rungs, Rung{Index: r, Share: math.Pow(float64(eta), float64(r-(R-1))), Examples: ex})
	}
}

// planned returns the size of rung r for n0 trials: n0 shrunk by eta r
// times, rounding up.
func (s *search) planned(r int) int {
	n := s.opts.Trials
	for range r {
		n = (n + s.opts.Eta - 1) / s.opts.Eta
	}
	return n
}

func (s *search) run(ctx context.Context) error {
	bctx, cancel := ctx, context.CancelFunc(func() {})
	if s.opts.Budget > 0 {
		bctx, cancel = context.WithDeadline(ctx, s.start.Add(s.opts.Budget))
	}
	defer cancel()
	cands := make([]int, len(s.trials))
	for i := range cands {
		cands[i] = i
	}
	for r := range s.rungs {
		rung := &s.rungs[r]
		rung.Candidates = cands
		rung.Runs = cands
		if !slices.Contains(cands, 0) {
			rung.Runs = append([]int{0}, cands...)
		}
		if err := s.runRung(ctx, bctx, rung); err != nil {
			return err
		}
		if s.fits != nil {
			s.fits.drop(r)
		}
		if !rung.Complete {
			return nil
		}
		if r == 0 && s.allFailed(rung) {
			run, _ := s.trials[0].At(0)
			return fmt.Errorf("tune: every run of rung 0 failed; trial 0 (the base spec): %w", run.Err)
		}
		if r == len(s.rungs)-1 {
			break
		}
		// A failed run would fail again on more examples: it is not
		// promoted, even to fill the quota.
		ranked := s.rank(r, cands)[:(len(cands)+s.opts.Eta-1)/s.opts.Eta]
		cands = slices.DeleteFunc(ranked, func(id int) bool {
			run, _ := s.trials[id].At(r)
			return math.IsInf(run.loss(), 1)
		})
		rung.Promoted = cands
	}
	s.stop = StopDone
	return nil
}

func (s *search) allFailed(rung *Rung) bool {
	for _, id := range rung.Runs {
		if run, ok := s.trials[id].At(rung.Index); ok && run.Err == nil {
			return false
		}
	}
	return true
}

// rank returns ids sorted by their run at rung r: lowest validation log
// loss first, failed runs last, ties to the lower id.
func (s *search) rank(r int, ids []int) []int {
	out := slices.Clone(ids)
	loss := func(id int) float64 {
		run, ok := s.trials[id].At(r)
		if !ok {
			return math.Inf(1) // cut by the budget
		}
		return run.loss()
	}
	slices.SortStableFunc(out, func(a, b int) int {
		return cmp.Or(cmp.Compare(loss(a), loss(b)), cmp.Compare(a, b))
	})
	return out
}

// runRung runs the rung's trials, Parallel at a time, in order. It stops
// starting runs once bctx is done (budget or ctx); runs cut by it are
// dropped and the rung left incomplete. A fatal error stops the rest and
// is returned.
func (s *search) runRung(ctx, bctx context.Context, rung *Rung) error {
	rctx, cancel := context.WithCancelCause(bctx)
	defer cancel(nil)
	train := s.train[len(s.train)-rung.Examples:]
	workers := max(1, s.opts.Workers/s.opts.Parallel)
	runs := make([]*Run, len(rung.Runs))
	next := 0
	var fatal error
	var wg sync.WaitGroup
	for range min(s.opts.Parallel, len(rung.Runs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				s.mu.Lock()
				i := next
				next++
				s.mu.Unlock()
				if i >= len(rung.Runs) || rctx.Err() != nil {
					return
				}
				id := rung.Runs[i]
				t := s.trials[id]
				job := Job{Trial: id, Rung: rung.Index, Spec: t.Spec, Values: t.Values, Train: train, Validation: s.val, Workers: workers}
				start := time.Now()
				score, err := s.obj(rctx, job)
				run := &Run{Rung: rung.Index, Score: score, Duration: time.Since(start), Err: err,
					Baseline: id == 0 && !slices.Contains(rung.Candidates, 0)}
				if err != nil && rctx.Err() != nil {
					return // cut by the budget, ctx or a fatal error: dropped
				}
				var fe *fatalError
				if errors.As(err, &fe) {
					s.mu.Lock()
					if fatal == nil {
						fatal = fe.err
					}
					s.mu.Unlock()
					cancel(err)
					return
				}
				if err != nil {
					run.Score = Score{}
				}
				s.mu.Lock()
				runs[i] = run
				rung.Finished++
				if s.opts.OnRun != nil {
					s.opts.OnRun(Progress{Trial: id, Values: t.Values, Run: *run, Rungs: len(s.rungs),
						Left: s.left(rung), Elapsed: time.Since(s.start), Budget: s.opts.Budget})
				}
				s.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fatal != nil {
		return fmt.Errorf("tune: %w", fatal)
	}
	// Runs are recorded once all are done, in start order, so that the
	// trials do not depend on the order runs finished in.
	for i, run := range runs {
		if run != nil {
			t := s.trials[rung.Runs[i]]
			t.Runs = append(t.Runs, *run)
		}
	}
	rung.Complete = rung.Finished == len(rung.Runs)
	if !rung.Complete {
		s.stop = StopBudget
		if ctx.Err() != nil {
			s.stop = StopCancelled
		}
	}
	return nil
}

// left is the most runs still to go after the ones finished: the rest of
// rung and, for each rung after it, its planned size and trial 0.
func (s *search) left(rung *Rung) int {
	n := len(rung.Runs) - rung.Finished
	for r := rung.Index + 1; r < len(s.rungs); r++ {
		n += s.planned(r) + 1
	}
	return n
}

func (s *search) result() *Result {
	res := &Result{Mode: s.opts.Mode, Trials: s.trials, Rungs: s.rungs, Reached: -1, Stop: s.stop, Elapsed: time.Since(s.start)}
	for r := len(s.rungs) - 1; r >= 0 && res.Best == nil; r-- {
		ranked := s.rank(r, s.rungs[r].Runs)
		if len(ranked) == 0 {
			continue
		}
		if run, ok := s.trials[ranked[0]].At(r); ok && run.Err == nil {
			res.Reached, res.Best, res.BestRun = r, s.trials[ranked[0]], run
		}
	}
	res.Base, res.BaseOK = s.trials[0].Last()
	return res
}
