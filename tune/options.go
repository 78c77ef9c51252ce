package tune

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer/metrics"
)

// Mode is how a trial is trained and scored (see the package doc).
type Mode string

// The modes: train like the backfill and evaluate the model on the
// validation split, or stream like the always-on service and score the
// validation split progressively.
const (
	ModeBackfill Mode = "backfill"
	ModeStream   Mode = "stream"
)

// Options tune Search. The zero value gives the defaults.
type Options struct {
	// Space is the search space. Default DefaultSpace().
	Space *Space
	// Mode: ModeBackfill or ModeStream. Default ModeBackfill.
	Mode Mode
	// Trials is n0, the trials sampled for rung 0, trial 0 being the base
	// spec. Default 27; >= 1.
	Trials int
	// Eta: each rung keeps the best ceil(n/Eta) of its n trials and
	// trains on Eta times the examples of the rung before. Default 3;
	// >= 2.
	Eta int
	// Seed of the sampler. Default 0 (every value is a seed).
	Seed uint64
	// Budget bounds the wall clock of the search. Default 0: no bound.
	Budget time.Duration
	// Parallel is the number of runs of a rung trained at once. Default
	// 1.
	Parallel int
	// Workers is the number of training threads, shared by the parallel
	// runs: each gets max(1, Workers/Parallel). Default GOMAXPROCS.
	Workers int
	// Bootstrap is the number of examples fitted before the quantile
	// boundaries are fixed in ModeStream (the first ones of the rung).
	// Default 10000, the service's (continuous.Config.Bootstrap).
	Bootstrap int
	// Load is what a trial's spec is validated with, notably the model
	// memory budget (MaxModelBytes). Default: spec's defaults.
	Load spec.LoadOptions
	// Objective trains and scores one run. Default: the trainer, as Mode
	// says. Tests inject a known function of the values.
	Objective Objective
	// OnRun, when set, is called after every finished run, one call at a
	// time (from the goroutine that ran it).
	OnRun func(Progress)
}

// Objective trains and scores one run of a trial. An error that is not
// the context's marks the run failed (it then ranks last); the search goes
// on.
type Objective func(ctx context.Context, job Job) (Score, error)

// Job is one run: a trial's spec trained at a rung.
type Job struct {
	Trial  int
	Rung   int
	Spec   *spec.Spec // the base spec with Values applied, validated
	Values Values
	// Train is the rung's share of the training examples, the newest,
	// oldest first; Validation the validation split.
	Train, Validation []schemas.Example
	// Workers is the run's number of training threads.
	Workers int
}

// Score is the outcome of a run.
type Score struct {
	// Metrics on the validation split: of the kept epoch's model
	// (ModeBackfill), or of the predictions made before training on each
	// batch (ModeStream).
	Metrics metrics.Summary
	// Trained counts the examples trained on, every epoch (and, in
	// ModeStream, the validation split after it was scored).
	Trained int64
	// Epochs run and BestEpoch kept (ModeBackfill; 0 otherwise).
	Epochs, BestEpoch int
}

// Progress reports a finished run to Options.OnRun.
type Progress struct {
	Trial  int
	Values Values
	Run    Run
	// Rungs is the number of rungs of the search.
	Rungs int
	// Left is the most runs still to go (those of the current rung and
	// of the rungs after it, each with trial 0 besides the promoted).
	Left int
	// Elapsed since the search started; Budget is Options.Budget.
	Elapsed, Budget time.Duration
}

func (o *Options) validate() error {
	if o.Space == nil {
		s := DefaultSpace()
		o.Space = &s
	}
	if o.Mode == "" {
		o.Mode = ModeBackfill
	}
	if o.Trials == 0 {
		o.Trials = 27
	}
	if o.Eta == 0 {
		o.Eta = 3
	}
	if o.Parallel == 0 {
		o.Parallel = 1
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Bootstrap == 0 {
		o.Bootstrap = 10000
	}
	var errs []error
	if o.Mode != ModeBackfill && o.Mode != ModeStream {
		errs = append(errs, fmt.Errorf("options: Mode %q: want %s or %s", o.Mode, ModeBackfill, ModeStream))
	}
	if o.Trials < 1 {
		errs = append(errs, fmt.Errorf("options: Trials %d: want >= 1", o.Trials))
	}
	if o.Eta < 2 {
		errs = append(errs, fmt.Errorf("options: Eta %d: want >= 2", o.Eta))
	}
	if o.Budget < 0 {
		errs = append(errs, fmt.Errorf("options: Budget %s: want >= 0", o.Budget))
	}
	if o.Parallel < 1 {
		errs = append(errs, fmt.Errorf("options: Parallel %d: want >= 1", o.Parallel))
	}
	if o.Workers < 1 {
		errs = append(errs, fmt.Errorf("options: Workers %d: want >= 1", o.Workers))
	}
	if o.Bootstrap < 1 {
		errs = append(errs, fmt.Errorf("options: Bootstrap %d: want >= 1", o.Bootstrap))
	}
	errs = append(errs, o.Space.validate())
	return errors.Join(errs...)
}
