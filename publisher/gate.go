package publisher

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer"
	"github.com/wdstream/wdstream/trainer/metrics"
	"github.com/wdstream/wdstream/trainer/safetensors"
)

// Gate decides whether a candidate may serve (the paper's dry run and
// sanity check against the previous model; TFX's value and change
// thresholds and InfraValidator). Its zero value, with Validation set, is
// ready to use.
type Gate struct {
	// Validation holds the thresholds (the spec's validation section).
	Validation spec.Validation
	// Now stamps reports. Default time.Now.
	Now func() time.Time
	// Workers are the scoring threads of the dry run's model. Default 1
	// (the paper's serving measurement: batches of 200 on one thread).
	Workers int
	// DryRunExamples is how many of the freshest examples the dry run
	// scores with both models. Default 1000.
	DryRunExamples int
	// LatencyBatches is how many batches of BatchSize the dry run times,
	// after a few untimed warm-up batches. Default 100.
	LatencyBatches int
}

// Dry-run constants: the batch size of the latency check (the paper's
// serving batch) and the score tolerance between the in-memory model and
// the one loaded back from its files.
const (
	BatchSize      = 200
	ScoreTolerance = 1e-6
	warmupBatches  = 3
)

func (g *Gate) validate() error {
	v := g.Validation
	if len(v.Calibration) != 2 || v.Calibration[0] > v.Calibration[1] {
		return fmt.Errorf("gate: calibration range %v: want [lo, hi]", v.Calibration)
	}
	if v.LatencyBudget <= 0 || v.Examples <= 0 {
		return fmt.Errorf("gate: latency_budget %s and examples %d must be > 0 (load the spec through spec.Load for defaults)", v.LatencyBudget, v.Examples)
	}
	switch d := v.Drift.OrDefault(); {
	case d.Action != spec.DriftOff && d.Action != spec.DriftWarn && d.Action != spec.DriftFail:
		return fmt.Errorf("gate: drift action %q: want off, warn or fail", d.Action)
	case d.MinExamples <= 0:
		return fmt.Errorf("gate: drift min_examples %d must be > 0 (load the spec through spec.Load for defaults)", d.MinExamples)
	}
	if g.Workers < 0 || g.DryRunExamples < 0 || g.LatencyBatches < 0 {
		return fmt.Errorf("gate: negative workers %d, dry-run examples %d or latency batches %d", g.Workers, g.DryRunExamples, g.LatencyBatches)
	}
	return nil
}

func (g *Gate) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Evaluate checks candidate against the value thresholds and, when
// baseline is not nil, against the baseline's metrics on the same fresh
// examples (which neither model may have trained on; the last
// Validation.Examples of them are used, so pass them oldest first). Then
// it serializes the candidate, loads it back through the loader that
// Load uses, and compares scores and times scoring. The candidate and the
// baseline must not change during the call.
//
// The error is for what is not the candidate's fault: a cancelled context,
// bad gate settings, fresh examples the featurizer refuses. Everything
// about the candidate is a check in the report.
func (g *Gate) Evaluate(ctx context.Context, candidate, baseline *Bundle, fresh []schemas.Example) (*Report, error) {
	files, ferr := candidate.Files()
	return g.evaluate(ctx, candidate, files, ferr, baseline, fresh)
}

func (g *Gate) evaluate(ctx context.Context, cand *Bundle, files map[string][]byte, filesErr error, base *Bundle, fresh []schemas.Example) (*Report, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	v := g.Validation
	workers := max(g.Workers, 1)
	if len(fresh) > v.Examples {
		fresh = fresh[len(fresh)-v.Examples:]
	}
	r := &Report{Format: ReportFormat, Time: g.now().UTC(), Examples: len(fresh)}

	// Every weight finite, read from the bytes that would be published.
	if filesErr != nil {
		r.add("finite_weights", Fail, math.NaN(), "%.0f", "= 0 non-finite", "serializing: "+filesErr.Error())
	} else {
		n, first, err := nonFinite(files[WeightsFile])
		switch {
		case err != nil:
			r.add("finite_weights", Fail, math.NaN(), "%.0f", "= 0 non-finite", err.Error())
		case n > 0:
			r.add("finite_weights", Fail, float64(n), "%.0f", "= 0 non-finite", "first in tensor "+first)
		default:
			r.add("finite_weights", Pass, 0, "%.0f", "= 0 non-finite", "")
		}
	}

	// Value thresholds on the fresh examples.
	labels := make([]float32, len(fresh))
	for i := range fresh {
		labels[i] = float32(fresh[i].Label)
	}
	preds, err := trainer.NewTrainer(cand.Model, workers).Score(cand.State, fresh, 1024)
	if err != nil {
		return nil, fmt.Errorf("gate: scoring the fresh examples with the candidate: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cm, why := summarize(preds, labels)
	if why == "" {
		r.Candidate = &cm
	}
	g.valueChecks(r, cm, why, preds)

	// Change thresholds against the baseline.
	g.changeChecks(r, cm, why, base, fresh, labels, workers)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := g.driftCheck(r, cand.Spec, base, fresh); err != nil {
		return nil, err
	}

	// Dry run through the loader.
	if err := g.dryRun(ctx, r, cand, files, filesErr, fresh, workers); err != nil {
		return nil, err
	}
	r.Passed = len(r.Failed()) == 0
	return r, nil
}

// summarize computes the metrics, or says why they cannot be measured.
func summarize(preds, labels []float32) (metrics.Summary, string) {
	if len(preds) == 0 {
		return metrics.Summary{}, "not measured: no fresh examples"
	}
	nan := 0
	for _, p := range preds {
		if math.IsNaN(float64(p)) {
			nan++
		}
	}
	if nan > 0 {
		return metrics.Summary{}, fmt.Sprintf("not measured: %d of %d predictions are NaN", nan, len(preds))
	}
	m, err := metrics.Evaluate(preds, labels)
	if err != nil {
		return metrics.Summary{}, "not measured: " + err.Error()
	}
	return m, ""
}

func (g *Gate) valueChecks(r *Report, m metrics.Summary, why string, preds []float32) {
	v := g.Validation
	if why != "" {
		r.add("min_auc", Fail, math.NaN(), "%.4f", fmt.Sprintf(">= %.4f", v.MinAUC), why)
		r.add("max_logloss", Fail, math.NaN(), "%.4f", fmt.Sprintf("<= %.4f", v.MaxLogLoss), why)
		r.add("calibration", Fail, math.NaN(), "%.3f", fmt.Sprintf("in [%g, %g]", v.Calibration[0], v.Calibration[1]), why)
	} else {
		if m.Positives == 0 || m.Positives == m.Count {
			r.add("min_auc", Fail, math.NaN(), "%.4f", fmt.Sprintf(">= %.4f", v.MinAUC),
				fmt.Sprintf("undefined: the %d fresh examples hold %d positives", m.Count, m.Positives))
		} else {
			r.add("min_auc", passIf(m.AUC >= v.MinAUC), m.AUC, "%.4f", fmt.Sprintf(">= %.4f", v.MinAUC), "")
		}
		r.add("max_logloss", passIf(m.LogLoss <= v.MaxLogLoss), m.LogLoss, "%.4f", fmt.Sprintf("<= %.4f", v.MaxLogLoss), "")
		if m.Positives == 0 {
			r.add("calibration", Fail, math.NaN(), "%.3f", fmt.Sprintf("in [%g, %g]", v.Calibration[0], v.Calibration[1]),
				"undefined: no positive label among the fresh examples")
		} else {
			ok := m.Calibration >= v.Calibration[0] && m.Calibration <= v.Calibration[1]
			r.add("calibration", passIf(ok), m.Calibration, "%.3f", fmt.Sprintf("in [%g, %g]", v.Calibration[0], v.Calibration[1]),
				fmt.Sprintf("mean prediction %.4f / mean label %.4f", m.MeanPred, m.MeanLabel))
		}
	}
	// Non-degenerate: the predictions are not all equal.
	if len(preds) == 0 {
		r.add("non_degenerate", Fail, math.NaN(), "%.3g", "spread > 1e-06", "not measured: no fresh examples")
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range preds {
		lo, hi = min(lo, float64(p)), max(hi, float64(p))
	}
	spread := hi - lo
	if math.IsNaN(spread) {
		r.add("non_degenerate", Fail, math.NaN(), "%.3g", "spread > 1e-06", "predictions hold NaN")
		return
	}
	r.add("non_degenerate", passIf(spread > ScoreTolerance), spread, "%.3g", "spread > 1e-06",
		fmt.Sprintf("predictions in [%.4f, %.4f]", lo, hi))
}

func (g *Gate) changeChecks(r *Report, cm metrics.Summary, why string, base *Bundle, fresh []schemas.Example, labels []float32, workers int) {
	v := g.Validation
	aucT, llT := fmt.Sprintf("drop <= %.4f", v.MaxAUCDrop), fmt.Sprintf("rise <= %.4f", v.MaxLogLossRise)
	if base == nil {
		r.add("max_auc_drop", Skip, math.NaN(), "%+.4f", aucT, "no baseline: value thresholds only")
		r.add("max_logloss_rise", Skip, math.NaN(), "%+.4f", llT, "no baseline: value thresholds only")
		return
	}
	bp, err := trainer.NewTrainer(base.Model, workers).Score(base.State, fresh, 1024)
	var bm metrics.Summary
	bwhy := ""
	if err != nil {
		bwhy = "baseline cannot score the fresh examples: " + err.Error()
	} else if bm, bwhy = summarize(bp, labels); bwhy != "" {
		bwhy = "baseline " + bwhy
	}
	if bwhy != "" {
		r.add("max_auc_drop", Skip, math.NaN(), "%+.4f", aucT, bwhy)
		r.add("max_logloss_rise", Skip, math.NaN(), "%+.4f", llT, bwhy)
		return
	}
	r.BaselineMetrics = &bm
	switch {
	case why != "":
		r.add("max_auc_drop", Fail, math.NaN(), "%+.4f", aucT, why)
		r.add("max_logloss_rise", Fail, math.NaN(), "%+.4f", llT, why)
		return
	case cm.Positives == 0 || cm.Positives == cm.Count:
		r.add("max_auc_drop", Fail, math.NaN(), "%+.4f", aucT, "undefined: the fresh examples hold one class")
	default:
		drop := bm.AUC - cm.AUC
		r.add("max_auc_drop", passIf(drop <= v.MaxAUCDrop), drop, "%+.4f", aucT,
			fmt.Sprintf("AUC %.4f, baseline %.4f", cm.AUC, bm.AUC))
	}
	rise := cm.LogLoss - bm.LogLoss
	r.add("max_logloss_rise", passIf(rise <= v.MaxLogLossRise), rise, "%+.4f", llT,
		fmt.Sprintf("log loss %.4f, baseline %.4f", cm.LogLoss, bm.LogLoss))
}

// nonFinite counts the NaN and infinite numbers of every F32 tensor of a
// weights file (weights and optimizer state alike) and names the first
// tensor holding one.
func nonFinite(weights []byte) (int, string, error) {
	f, err := safetensors.Decode(weights)
	if err != nil {
		return 0, "", fmt.Errorf("decoding %s: %w", WeightsFile, err)
	}
	n, first := 0, ""
	for _, name := range f.Names() {
		t := f.Tensors[name]
		if t.DType != safetensors.F32 {
			continue
		}
		vs, err := t.Float32s()
		if err != nil {
			return 0, "", err
		}
		for _, x := range vs {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				if n == 0 {
					first = name
				}
				n++
			}
		}
	}
	return n, first, nil
}
