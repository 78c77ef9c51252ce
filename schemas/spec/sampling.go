package spec

// SamplingRate is model.negative_sampling: the probability r with which
// the training steps keep a negative example. Positives are always kept.
// The keep rule is package trainer's Keep: a negative is kept when a
// fixed hash of its impression_id (FNV-1a 64, then MurmurHash3's fmix64),
// mapped to [0,1), is below r, so the backfill and the stream keep the
// same examples. A logistic model
// trained on such a sample learns the log-odds shifted by -log r; the
// model adds log r back to its logit when it scores (trainer.Model's
// LogitOffset), never in training.
type SamplingRate float64

// IsZero reports whether r is 1 (or unset), sampling off: Marshal then
// leaves model.negative_sampling out, so that a spec without sampling is
// written byte for byte as before the key existed and builds that predate
// it still read the spec stored with a model.
func (r SamplingRate) IsZero() bool { return r == 0 || r == 1 }

// Rate returns r, or 1 when it is unset (a Model built in Go rather than
// loaded).
func (r SamplingRate) Rate() float64 {
	if r == 0 {
		return 1
	}
	return float64(r)
}

// validateSampling checks model.negative_sampling.
func validateSampling(m *Model, r *reporter) {
	if v := m.NegativeSampling; v <= 0 || v > 1 {
		r.errorf("model.negative_sampling", "must be in (0, 1] (the share of negative examples kept for training; 1: all), got %g", float64(v))
	}
}
