package trainer

import (
	"fmt"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
)

// Negative sampling (spec model.negative_sampling, rate r in (0, 1]): the
// training steps see every positive and the negatives Keep keeps, about r
// of them. Keep decides by the example's impression_id alone, so the
// backfill (Train) and the stream (SampledStep) drop the same examples,
// whatever their order, batching or restarts.
//
// The correction is the log-odds one: a logistic model trained on
// negatives kept with probability r learns logit' = logit - log r (the odds
// of the sample are the true odds divided by r), so scoring adds log r back:
// the calibrated score is sigmoid(logit' + log r). Model.LogitOffset holds
// log r; Predict, Score, Evaluate and Step's predictions add it, Step's loss
// and gradients do not. Weighting each kept negative by 1/r (importance
// weights) would also be unbiased, but it multiplies the kept negatives'
// gradients by up to 1/r (10 at rate 0.1): noisier FTRL and AdaGrad steps,
// and optimizer constants, tuned for examples of weight 1, that no longer
// fit. The offset leaves training as it is (a model of the sample), costs
// one addition at scoring, and is exact whenever the model can represent
// the sample's log-odds, since sampling shifts every logit by the same
// log r.

// Keep reports whether negative sampling at rate keeps an example: always
// a positive, and a negative when u(impression_id) < rate (so every
// negative at rate 1, none at rate 0), where u(id) is
// fmix64(FNV-1a-64(id)) >> 11, divided by 2^53: a number in [0,1).
// fmix64 is MurmurHash3's 64-bit finalizer (featurize.Fmix64); FNV-1a alone
// leaves its high bits poorly mixed for ids that differ in their last
// characters, as sequential ids do (rate 0.01 kept 0.89% of "imp-0" ...
// "imp-199999").
func Keep(impressionID string, positive bool, rate float64) bool {
	if positive || rate >= 1 {
		return true
	}
	return float64(featurize.Fmix64(fnv1a64(impressionID))>>11)/(1<<53) < rate
}

// fnv1a64 is the FNV-1a 64-bit hash of s (hash/fnv's New64a, without its
// allocations).
func fnv1a64(s string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := range len(s) {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}

// SampleNegatives returns the examples of exs that Keep keeps at rate (exs
// itself at rate 1, else a new slice in the same order) and the number of
// negatives dropped. Every negative must have an impression_id, which Keep
// hashes: an error names the first without one.
func SampleNegatives(exs []schemas.Example, rate float64) ([]schemas.Example, int, error) {
	if rate >= 1 {
		return exs, 0, nil
	}
	kept := make([]schemas.Example, 0, len(exs))
	for i := range exs {
		ex := &exs[i]
		switch {
		case ex.Label == 1:
		case ex.ImpressionID == "":
			return nil, 0, fmt.Errorf("negative sampling at rate %g: example %d (ts %d) has no impression_id, which decides whether it is kept", rate, i, ex.TS)
		case !Keep(ex.ImpressionID, false, rate):
			continue
		}
		kept = append(kept, *ex)
	}
	return kept, len(exs) - len(kept), nil
}

// SampledStep is the stream's training step with negative sampling at
// rate: it predicts every example of b into preds (before the update, so
// they are progressive validation, and calibrated), then runs one Step on
// the rows Keep keeps, by b's ImpressionIDs and Labels. It returns preds
// and the negatives dropped. When it drops none it is Step on b; when it
// keeps none it trains nothing.
func (t *Trainer) SampledStep(b *featurize.Batch, rate float64, preds []float32) ([]float32, int) {
	t.rows = t.rows[:0]
	for i := range b.N {
		if Keep(b.ImpressionIDs[i], b.Labels[i] == 1, rate) {
			t.rows = append(t.rows, i)
		}
	}
	if len(t.rows) == b.N {
		_, preds = t.Step(b, preds)
		return preds, 0
	}
	preds = t.Predict(preds, b)
	if len(t.rows) > 0 {
		t.sampled.SelectFrom(b, t.rows)
		_, t.sampledPreds = t.Step(&t.sampled, t.sampledPreds)
	}
	return preds, b.N - len(t.rows)
}
