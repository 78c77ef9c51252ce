package trainer

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/simulate"
)

// TestNegativeSamplingCalibrated trains configs/playstore.yaml's model on
// days 1-2 of a simulated world (seed 4: 4,000 users, 400 apps, 40,000
// impressions a day), once on every example and once with
// negative_sampling 0.2, and scores day 3, every example of it. The
// sampled model's calibration (mean prediction / mean label) is within 3%
// of the unsampled model's; without the offset (forced to 0: the raw
// logit of the sample) it is above 1.5 and 1.5 times the unsampled
// model's; the offset changes no ranking. The reference is the unsampled
// model rather than 1: the world drifts (day 3's install rate is above
// days 1-2's), so a model trained on days 1-2 is at about 0.85 on day 3
// whether it samples or not.
func TestNegativeSamplingCalibrated(t *testing.T) {
	cfg := simulate.Config{Seed: 4, Users: 4000, Apps: 400, Days: 3, ImpressionsPerDay: 40000}
	exs, err := simulate.WorldExamples(context.Background(), cfg, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	day3 := cfg.Defaults().Start.Add(48 * time.Hour).UnixMilli()
	cut := 0
	for cut < len(exs) && exs[cut].TS < day3 {
		cut++
	}
	train, test := exs[:cut], exs[cut:]
	full := trainAndScore(t, train, test, 1)
	sampled := trainAndScore(t, train, test, 0.2)
	t.Logf("day 3 (%d examples, %d positives): calibration %.4f (AUC %.4f) without sampling; at rate 0.2 %.4f (AUC %.4f), %.4f without the offset",
		full.Count, full.Positives, full.Calibration, full.AUC, sampled.Calibration, sampled.AUC, sampled.rawCalibration)
	if r := sampled.Calibration / full.Calibration; math.Abs(r-1) > 0.03 {
		t.Errorf("calibration %.4f at rate 0.2, %.4f without sampling: want within 3%%", sampled.Calibration, full.Calibration)
	}
	if sampled.rawCalibration < 1.5 || sampled.rawCalibration < 1.5*full.Calibration {
		t.Errorf("calibration %.4f without the offset, want above 1.5 and 1.5 times %.4f: the test cannot tell the correction works", sampled.rawCalibration, full.Calibration)
	}
	if math.Abs(sampled.AUC-sampled.rawAUC) > 1e-4 {
		t.Errorf("AUC %.6f with the offset, %.6f without: a constant offset must not change the ranking", sampled.AUC, sampled.rawAUC)
	}
}

// scored is a model's figures on the test day, and those of its raw
// logit (LogitOffset 0).
type scored struct {
	Metrics
	rawCalibration, rawAUC float64
}

// trainAndScore trains configs/playstore.yaml's model (2 epochs, time
// order) on train with negative sampling at rate and evaluates it on test.
func trainAndScore(t *testing.T, train, test []schemas.Example, rate float64) scored {
	t.Helper()
	sp, err := spec.LoadWith("../configs/playstore.yaml", spec.LoadOptions{NegativeSampling: rate})
	if err != nil {
		t.Fatal(err)
	}
	st := fitState(t, sp, train)
	m, err := NewModel(sp, st.Layout())
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTrainer(m, 2)
	if _, err := tr.Train(context.Background(), st, train, TrainOptions{Epochs: 2, BatchSize: sp.Model.BatchSize, NegativeSampling: rate}); err != nil {
		t.Fatal(err)
	}
	var s scored
	if s.Metrics, _, err = tr.Evaluate(st, test); err != nil {
		t.Fatal(err)
	}
	m.LogitOffset = 0
	raw, _, err := tr.Evaluate(st, test)
	if err != nil {
		t.Fatal(err)
	}
	s.rawCalibration, s.rawAUC = raw.Calibration, raw.AUC
	return s
}
