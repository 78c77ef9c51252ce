package tune

import (
	"math"
	"time"

	"github.com/wdstream/wdstream/schemas/spec"
)

// Trial is one sampled setting and its runs.
type Trial struct {
	ID     int
	Values Values
	// Spec is the base spec with Values applied, as parsed back.
	Spec *spec.Spec
	// Runs at each rung the trial reached, in rung order.
	Runs []Run
}

// Run is one trial trained and scored at one rung.
type Run struct {
	Rung int
	Score
	Duration time.Duration
	// Baseline marks a run of trial 0 at a rung it was not promoted to,
	// made to compare the base spec on the same data.
	Baseline bool
	// Err is why the run failed (its Score is then zero).
	Err error
}

// loss is the run's objective: the validation log loss, +Inf for a
// failed run or a non-finite loss.
func (r *Run) loss() float64 {
	if r.Err != nil || math.IsNaN(r.Metrics.LogLoss) {
		return math.Inf(1)
	}
	return r.Metrics.LogLoss
}

// Last returns the run at the highest rung the trial reached, or false
// when it has none.
func (t *Trial) Last() (Run, bool) {
	if len(t.Runs) == 0 {
		return Run{}, false
	}
	return t.Runs[len(t.Runs)-1], true
}

// At returns the trial's run at rung r, or false.
func (t *Trial) At(r int) (Run, bool) {
	for _, run := range t.Runs {
		if run.Rung == r {
			return run, true
		}
	}
	return Run{}, false
}

// Rung is one rung of the search.
type Rung struct {
	Index int
	// Share of the training examples this rung trains on (the newest),
	// Examples their number.
	Share    float64
	Examples int
	// Candidates are the trials promoted to this rung (every trial at
	// rung 0), best first by the rung before. Runs lists the trials run,
	// in start order: the candidates, after trial 0 when it is run as the
	// baseline.
	Candidates, Runs []int
	// Finished counts the runs that finished; Complete says they all did.
	Finished int
	Complete bool
	// Promoted are the ceil(len(Candidates)/eta) best trials, sent to the
	// next rung, best first, less those whose run failed (none at the
	// last rung or when cut short).
	Promoted []int
}

// Stop says why a search stopped.
type Stop string

// The reasons: every rung ran, the budget ran out, the context was
// cancelled.
const (
	StopDone      Stop = "done"
	StopBudget    Stop = "budget"
	StopCancelled Stop = "cancelled"
)

// Result is the outcome of a search.
type Result struct {
	Mode   Mode
	Trials []*Trial // by ID
	Rungs  []Rung   // every planned rung; those not reached have no Runs
	// Reached is the highest rung with a run that succeeded (-1: none).
	Reached int
	// Best is the trial with the lowest validation log loss at rung
	// Reached, BestRun its run there; nil when no run succeeded.
	Best    *Trial
	BestRun Run
	// Base is trial 0's run at the highest rung it reached (ok false:
	// none finished).
	Base   Run
	BaseOK bool
	Stop   Stop
	// Elapsed is the search's wall clock.
	Elapsed time.Duration
}
