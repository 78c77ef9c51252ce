package publisher

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/wdstream/wdstream/drift"
	"github.com/wdstream/wdstream/trainer"
)

// Status is the outcome of one check of the gate.
type Status string

// The outcomes: a skipped check (a change threshold without a baseline)
// and a warning (drift, with validation.drift.action warn) neither pass
// nor fail the candidate.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
	Warn Status = "warn"
)

// Check is one line of the gate's verdict.
type Check struct {
	// Name of the check: finite_weights, min_auc, max_logloss,
	// calibration, non_degenerate, max_auc_drop, max_logloss_rise, drift,
	// dry_run_scores, dry_run_latency.
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Value measured; absent when it could not be measured (or is not a
	// finite number, which Detail then says).
	Value *float64 `json:"value,omitempty"`
	// Threshold as the rule the value must meet, e.g. ">= 0.55".
	Threshold string `json:"threshold"`
	// Detail explains a failure or a skip, or adds context.
	Detail string `json:"detail,omitempty"`
	// Line is the readable one-line form of the check.
	Line string `json:"line"`
}

// DryRun holds the figures of the gate's dry run.
type DryRun struct {
	// Examples scored by both the in-memory and the reloaded model.
	Examples int `json:"examples"`
	// MaxScoreDiff is the largest |reloaded - in-memory| score.
	MaxScoreDiff float64 `json:"max_score_diff"`
	// Batches of BatchSize timed; P50 and P99 of their latency.
	Batches   int           `json:"batches"`
	BatchSize int           `json:"batch_size"`
	Workers   int           `json:"workers"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	// times are the batches' latencies, for the metrics' histogram.
	times []time.Duration
}

// ReportFormat is the version of the report's JSON layout.
const ReportFormat = 1

// Report is the gate's verdict on a candidate: one Check per rule, and the
// figures they were computed from.
type Report struct {
	Format  int       `json:"format"`
	Model   string    `json:"model"`
	Version string    `json:"version"`
	Time    time.Time `json:"time"`
	// Passed is true when no check failed.
	Passed bool `json:"passed"`
	// Forced is true when a failed candidate was published anyway.
	Forced      bool   `json:"forced,omitempty"`
	ForceReason string `json:"force_reason,omitempty"`
	// Baseline is the version the change thresholds compared against (""
	// without a baseline).
	Baseline string `json:"baseline,omitempty"`
	// Examples is the number of fresh examples evaluated.
	Examples        int              `json:"examples"`
	Candidate       *trainer.Metrics `json:"candidate,omitempty"`
	BaselineMetrics *trainer.Metrics `json:"baseline_metrics,omitempty"`
	DryRun          *DryRun          `json:"dry_run,omitempty"`
	Checks          []Check          `json:"checks"`
	// Drift holds every distance the drift check measured between the
	// fresh examples' statistics and the baseline's training statistics,
	// drifted or not (none when the check was skipped).
	Drift []drift.Distance `json:"drift,omitempty"`
	// Notes say what else the reader should know (a baseline refused as
	// corrupt, for one).
	Notes []string `json:"notes,omitempty"`
}

// Verdict is "passed", "forced" or "rejected".
func (r *Report) Verdict() string {
	switch {
	case r.Passed:
		return "passed"
	case r.Forced:
		return "forced"
	}
	return "rejected"
}

// Failed returns the names of the failed checks.
func (r *Report) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c.Name)
		}
	}
	return out
}

// Summary is a one-line verdict, e.g. "rejected: failed min_auc,
// calibration" or "passed (warned: drift)".
func (r *Report) Summary() string {
	s := r.Verdict()
	if f := r.Failed(); len(f) > 0 {
		s += ": failed " + strings.Join(f, ", ")
	}
	var warned []string
	for _, c := range r.Checks {
		if c.Status == Warn {
			warned = append(warned, c.Name)
		}
	}
	if len(warned) > 0 {
		s += " (warned: " + strings.Join(warned, ", ") + ")"
	}
	if r.Forced && r.ForceReason != "" {
		s += " (forced: " + r.ForceReason + ")"
	}
	return s
}

// WriteText writes the verdict and one line per check.
func (r *Report) WriteText(w io.Writer) error {
	base := "no baseline"
	switch {
	case r.Baseline != "":
		base = "baseline " + r.Model + "@" + r.Baseline
	case r.BaselineMetrics != nil:
		base = "against a baseline"
	}
	name := "candidate"
	if r.Model != "" {
		name = r.Model + "@" + r.Version
	}
	if _, err := fmt.Fprintf(w, "gate %s: %s (%d fresh examples, %s)\n", name, r.Summary(), r.Examples, base); err != nil {
		return err
	}
	for _, c := range r.Checks {
		if _, err := fmt.Fprintf(w, "  %s\n", c.Line); err != nil {
			return err
		}
	}
	for _, n := range r.Notes {
		if _, err := fmt.Fprintf(w, "  note: %s\n", n); err != nil {
			return err
		}
	}
	return nil
}

// add appends a check, formatting its line; value is NaN when it was not
// measured.
func (r *Report) add(name string, st Status, value float64, format, threshold, detail string) {
	c := Check{Name: name, Status: st, Threshold: threshold, Detail: detail}
	shown := "-"
	if !math.IsNaN(value) && !math.IsInf(value, 0) {
		v := value
		c.Value = &v
		shown = fmt.Sprintf(format, value)
	} else if !math.IsNaN(value) {
		shown = fmt.Sprint(value)
	}
	c.Line = fmt.Sprintf("%-4s  %-17s %12s  %-22s", strings.ToUpper(string(st)), name, shown, threshold)
	if detail != "" {
		c.Line += "  " + detail
	}
	c.Line = strings.TrimRight(c.Line, " ")
	r.Checks = append(r.Checks, c)
}

// passIf maps a condition to Pass or Fail.
func passIf(ok bool) Status {
	if ok {
		return Pass
	}
	return Fail
}
