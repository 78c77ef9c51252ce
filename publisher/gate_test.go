package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/trainer/metrics"
)

func checkOf(t *testing.T, r *Report, name string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("report has no check %s:\n%s", name, reportText(r))
	return Check{}
}

func reportText(r *Report) string {
	var b bytes.Buffer
	_ = r.WriteText(&b)
	return b.String()
}

// TestGatePassesAGoodCandidate: a model trained on the world passes every
// value threshold and the dry run, the change checks are skipped without a
// baseline, and the report is one readable line per check and valid JSON.
func TestGatePassesAGoodCandidate(t *testing.T) {
	f := getFixture(t)
	g := &Gate{Validation: f.good.Spec.Validation}
	r, err := g.Evaluate(context.Background(), f.good, nil, f.fresh)
	if err != nil {
		t.Fatal(err)
	}
	text := reportText(r)
	t.Logf("\n%s", text)
	if !r.Passed || len(r.Failed()) != 0 {
		t.Fatalf("a good candidate failed:\n%s", text)
	}
	for _, name := range []string{"max_auc_drop", "max_logloss_rise"} {
		if c := checkOf(t, r, name); c.Status != Skip {
			t.Errorf("%s without a baseline: %s, want skip", name, c.Status)
		}
	}
	if d := r.DryRun; d == nil || d.MaxScoreDiff > ScoreTolerance || d.Batches != 100 || d.BatchSize != 200 || d.P99 <= 0 {
		t.Fatalf("dry run %+v", r.DryRun)
	}
	if lines := strings.Count(text, "\n"); lines != 1+len(r.Checks) {
		t.Errorf("%d lines for %d checks", lines, len(r.Checks))
	}
	for _, c := range r.Checks {
		if !strings.HasPrefix(c.Line, strings.ToUpper(string(c.Status))) || !strings.Contains(c.Line, c.Name) || !strings.Contains(c.Line, c.Threshold) {
			t.Errorf("line %q does not show status, name and threshold", c.Line)
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Checks) != len(r.Checks) || back.Candidate.AUC != r.Candidate.AUC {
		t.Fatalf("report JSON round trip: %v", err)
	}
}

// TestGateRejectsAPoisonedCandidate: a model trained on labels flipped at
// random fails the AUC threshold and, against a good baseline, the AUC
// drop; the report names both.
func TestGateRejectsAPoisonedCandidate(t *testing.T) {
	f := getFixture(t)
	g := &Gate{Validation: f.good.Spec.Validation}
	r, err := g.Evaluate(context.Background(), f.poisoned, f.good, f.fresh)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", reportText(r))
	if r.Passed {
		t.Fatal("the poisoned candidate passed")
	}
	failed := r.Failed()
	for _, want := range []string{"min_auc", "max_auc_drop"} {
		if !slices.Contains(failed, want) {
			t.Errorf("failed checks %v, want %s among them", failed, want)
		}
	}
	if slices.Contains(failed, "dry_run_scores") || slices.Contains(failed, "finite_weights") {
		t.Errorf("failed checks %v: the poisoned model is still a well-formed model", failed)
	}
	if r.BaselineMetrics == nil || r.BaselineMetrics.AUC <= r.Candidate.AUC {
		t.Errorf("baseline %+v vs candidate %+v", r.BaselineMetrics, r.Candidate)
	}
}

// TestGateAgainstASimilarBaseline: two good models trained on different
// samples of the same world are within the change thresholds.
func TestGateAgainstASimilarBaseline(t *testing.T) {
	f := getFixture(t)
	g := &Gate{Validation: f.good.Spec.Validation}
	r, err := g.Evaluate(context.Background(), f.good2, f.good, f.fresh)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Passed {
		t.Fatalf("a model as good as its baseline failed:\n%s", reportText(r))
	}
	if c := checkOf(t, r, "max_auc_drop"); c.Status != Pass || c.Value == nil {
		t.Fatalf("max_auc_drop %+v", c)
	}
}

// TestGateNonFiniteWeight: one NaN weight fails finite_weights and names
// its tensor.
func TestGateNonFiniteWeight(t *testing.T) {
	f := getFixture(t)
	sp := gateSpec(t)
	b := trainBundle(t, sp, world(1, 1000, 0))
	b.Model.Emb[0].W[3] = float32(math.NaN())
	r, err := (&Gate{Validation: sp.Validation, LatencyBatches: 5}).Evaluate(context.Background(), b, nil, f.fresh)
	if err != nil {
		t.Fatal(err)
	}
	c := checkOf(t, r, "finite_weights")
	if c.Status != Fail || c.Value == nil || *c.Value < 1 || !strings.Contains(c.Detail, "emb/") {
		t.Fatalf("finite_weights %+v", c)
	}
}

// TestGateDegeneratePredictions: fresh examples that are all the same get
// one score: non_degenerate fails.
func TestGateDegeneratePredictions(t *testing.T) {
	f := getFixture(t)
	same := make([]schemas.Example, 300)
	for i := range same {
		same[i] = f.fresh[0]
		same[i].Label = int32(i % 2)
	}
	r, err := (&Gate{Validation: f.good.Spec.Validation, LatencyBatches: 5}).Evaluate(context.Background(), f.good, nil, same)
	if err != nil {
		t.Fatal(err)
	}
	if c := checkOf(t, r, "non_degenerate"); c.Status != Fail {
		t.Fatalf("non_degenerate %+v", c)
	}
}

// TestGateLatencyBudget: a budget no model meets fails the latency check,
// with the measured p99 in the report.
func TestGateLatencyBudget(t *testing.T) {
	f := getFixture(t)
	v := f.good.Spec.Validation
	v.LatencyBudget = 1 // 1ns
	r, err := (&Gate{Validation: v, LatencyBatches: 10}).Evaluate(context.Background(), f.good, nil, f.fresh)
	if err != nil {
		t.Fatal(err)
	}
	c := checkOf(t, r, "dry_run_latency")
	if c.Status != Fail || c.Value == nil || *c.Value <= 0 || !strings.Contains(c.Threshold, "ns") {
		t.Fatalf("dry_run_latency %+v", c)
	}
	if r.Passed {
		t.Fatal("passed over budget")
	}
}

// TestGateNoFreshExamples: nothing to measure fails, it does not pass.
func TestGateNoFreshExamples(t *testing.T) {
	f := getFixture(t)
	r, err := (&Gate{Validation: f.good.Spec.Validation}).Evaluate(context.Background(), f.good, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Passed || !slices.Contains(r.Failed(), "min_auc") || !slices.Contains(r.Failed(), "dry_run_scores") {
		t.Fatalf("no fresh examples:\n%s", reportText(r))
	}
}

// TestValueChecks runs the value thresholds on metrics of chosen values.
func TestValueChecks(t *testing.T) {
	f := getFixture(t)
	v := f.good.Spec.Validation // min_auc 0.6, max_logloss 0.69, calibration [0.5, 2]
	ok := metrics.Summary{Count: 100, Positives: 30, AUC: 0.7, LogLoss: 0.5, Calibration: 1}
	preds := []float32{0.1, 0.5}
	for _, tc := range []struct {
		name   string
		m      metrics.Summary
		failed []string
	}{
		{"all pass", ok, nil},
		{"auc at the threshold passes", with(ok, func(m *metrics.Summary) { m.AUC = 0.6 }), nil},
		{"auc below", with(ok, func(m *metrics.Summary) { m.AUC = 0.59 }), []string{"min_auc"}},
		{"log loss above", with(ok, func(m *metrics.Summary) { m.LogLoss = 0.7 }), []string{"max_logloss"}},
		{"over-predicting", with(ok, func(m *metrics.Summary) { m.Calibration = 2.1 }), []string{"calibration"}},
		{"under-predicting", with(ok, func(m *metrics.Summary) { m.Calibration = 0.4 }), []string{"calibration"}},
		{"no positives", with(ok, func(m *metrics.Summary) { m.Positives, m.AUC, m.Calibration = 0, 0, 0 }), []string{"min_auc", "calibration"}},
		{"all positives", with(ok, func(m *metrics.Summary) { m.Positives = 100 }), []string{"min_auc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{}
			(&Gate{Validation: v}).valueChecks(r, tc.m, "", preds)
			if got := r.Failed(); !slices.Equal(got, tc.failed) {
				t.Fatalf("failed %v, want %v\n%s", got, tc.failed, reportText(r))
			}
		})
	}
}

func with(m metrics.Summary, f func(*metrics.Summary)) metrics.Summary {
	f(&m)
	return m
}

// TestGateReportTime: reports are stamped by the gate's clock.
func TestGateReportTime(t *testing.T) {
	f := getFixture(t)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	r, err := (&Gate{Validation: f.good.Spec.Validation, Now: func() time.Time { return at }, LatencyBatches: 3}).Evaluate(context.Background(), f.good, nil, f.fresh[:500])
	if err != nil {
		t.Fatal(err)
	}
	if !r.Time.Equal(at) || r.Examples != 500 {
		t.Fatalf("time %s examples %d", r.Time, r.Examples)
	}
}
