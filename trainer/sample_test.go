package trainer

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
)

// TestKeep: the keep rule is the documented hash (FNV-1a 64 of the
// impression_id, then MurmurHash3's fmix64, whose reference values are
// pinned), keeps every positive, every negative at rate 1 and
// about rate of the negatives otherwise (within 4 standard deviations of
// 200,000 ids), the same ones on every call, and the negatives a lower
// rate keeps are among those a higher one keeps.
func TestKeep(t *testing.T) {
	for _, id := range []string{"", "i1", "imp-0000042", strings.Repeat("x", 300)} {
		h := fnv.New64a()
		h.Write([]byte(id))
		if got := fnv1a64(id); got != h.Sum64() {
			t.Errorf("fnv1a64(%q) = %#x, hash/fnv gives %#x", id, got, h.Sum64())
		}
	}
	for in, want := range map[uint64]uint64{0: 0, 1: 0xb456bcfc34c2cb2c, 0xcbf29ce484222325: 0xefd01f60ba992926} {
		if got := featurize.Fmix64(in); got != want {
			t.Errorf("Fmix64(%#x) = %#x, want %#x", in, got, want)
		}
	}
	const n = 200_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("imp-%d", i)
	}
	prev := map[string]bool{}
	for _, rate := range []float64{1, 0.5, 0.2, 0.1, 0.01} {
		kept := map[string]bool{}
		for _, id := range ids {
			if !Keep(id, true, rate) {
				t.Fatalf("rate %g: positive %s dropped", rate, id)
			}
			k := Keep(id, false, rate)
			if k != Keep(id, false, rate) {
				t.Fatalf("rate %g: %s kept on one call, dropped on another", rate, id)
			}
			if k {
				kept[id] = true
				if rate < 1 && !prev[id] {
					t.Fatalf("rate %g keeps %s, which a higher rate dropped", rate, id)
				}
			}
		}
		sd := math.Sqrt(n * rate * (1 - rate))
		if got := float64(len(kept)); math.Abs(got-n*rate) > 4*sd || (rate == 1 && len(kept) != n) {
			t.Errorf("rate %g kept %d of %d negatives, want %.0f ± %.0f", rate, len(kept), n, n*rate, 4*sd)
		}
		prev = kept
	}
}

// TestSampleNegatives: every positive and the negatives Keep keeps, in
// order, with the count of the others; the examples themselves at rate 1;
// an error naming the first negative without an impression_id.
func TestSampleNegatives(t *testing.T) {
	exs := testExamples(rand.New(rand.NewPCG(1, 2)), 3000)
	kept, dropped, err := SampleNegatives(exs, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	var want []schemas.Example
	for _, ex := range exs {
		if ex.Label == 1 || Keep(ex.ImpressionID, false, 0.3) {
			want = append(want, ex)
		}
	}
	if len(kept) != len(want) || dropped != len(exs)-len(want) || dropped < 900 {
		t.Fatalf("kept %d, dropped %d; want %d kept of %d", len(kept), dropped, len(want), len(exs))
	}
	for i := range kept {
		if kept[i].ImpressionID != want[i].ImpressionID {
			t.Fatalf("kept[%d] = %s, want %s", i, kept[i].ImpressionID, want[i].ImpressionID)
		}
	}
	if all, d, err := SampleNegatives(exs, 1); err != nil || d != 0 || &all[0] != &exs[0] {
		t.Errorf("rate 1: %d dropped, %v, want exs itself", d, err)
	}
	exs[5].ImpressionID, exs[5].Label = "", 0
	if _, _, err := SampleNegatives(exs, 0.3); err == nil || !strings.Contains(err.Error(), "example 5 (ts 5) has no impression_id") {
		t.Errorf("negative without impression_id: %v", err)
	}
}

// TestSampledStepTrainsTheKeptRows: SampledStep scores every row of the
// batch as Predict does before the update, then trains exactly as Step on
// the batch of the kept examples alone: the weights after it are bit for
// bit those; at rate 1 it is Step.
func TestSampledStepTrainsTheKeptRows(t *testing.T) {
	exs := testExamples(rand.New(rand.NewPCG(3, 4)), 256)
	sp := testSpec(t, "wide_deep", "mean", "[6, 4]")
	sp.Model.NegativeSampling = 0.4
	st := fitState(t, sp, exs)
	b := transform(t, st, exs)
	kept, dropped, err := SampleNegatives(exs, 0.4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rate        float64
		train       []schemas.Example
		wantDropped int
	}{{0.4, kept, dropped}, {1, exs, 0}} {
		a, _ := newTestModel(t, sp, exs)
		c, _ := newTestModel(t, sp, exs)
		before := a.Predict(nil, b)
		preds, d := a.SampledStep(b, tc.rate, nil)
		if d != tc.wantDropped || !slices.Equal(preds, before) {
			t.Fatalf("rate %g: dropped %d (want %d), predictions equal to Predict's before the step: %v", tc.rate, d, tc.wantDropped, slices.Equal(preds, before))
		}
		c.Step(transform(t, st, tc.train), nil)
		ra, _ := a.M.EncodeWeights()
		rc, _ := c.M.EncodeWeights()
		if string(ra) != string(rc) {
			t.Fatalf("rate %g: SampledStep's weights differ from Step's on the kept examples", tc.rate)
		}
	}
}

// TestTrainSamplesNegatives: Train at a rate trains the examples
// SampleNegatives keeps, bit for bit as Train without sampling on them,
// and reports the negatives dropped; its early stopping evaluates on every
// validation example.
func TestTrainSamplesNegatives(t *testing.T) {
	exs := noisyExamples(rand.New(rand.NewPCG(5, 6)), 2000)
	train, val := exs[:1600], exs[1600:]
	sp := testSpec(t, "wide_deep", "mean", "[8]")
	sp.Model.NegativeSampling = 0.25
	st := fitState(t, sp, train)
	kept, dropped, err := SampleNegatives(train, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	run := func(exs []schemas.Example, rate float64) (TrainStats, []byte) {
		m, err := NewModel(sp, st.Layout())
		if err != nil {
			t.Fatal(err)
		}
		ts, err := NewTrainer(m, 2).Train(context.Background(), st, exs, TrainOptions{Epochs: 2, BatchSize: 32, NegativeSampling: rate,
			Validation: val, Patience: 5})
		if err != nil {
			t.Fatal(err)
		}
		w, _ := m.EncodeWeights()
		return ts, w
	}
	ts, w := run(train, 0.25)
	ref, wref := run(kept, 1)
	if ts.Dropped != int64(dropped) || ts.Examples != 2*int64(len(kept)) || ref.Dropped != 0 || string(w) != string(wref) {
		t.Fatalf("dropped %d (want %d), trained %d (want %d), weights equal to training on the kept examples: %v",
			ts.Dropped, dropped, ts.Examples, 2*len(kept), string(w) == string(wref))
	}
	if got := ts.History[0].Validation.Count; got != len(val) {
		t.Errorf("early stopping evaluated %d examples, want all %d", got, len(val))
	}
}

// TestLogitOffset: a model built for negative sampling at rate r scores
// sigmoid(logit + log r) and trains on the logit alone; the offset is
// saved (format 3) and loaded with the weights, a file without one loads
// with 0 whatever the spec's rate, and a model without sampling is
// written as before (format 1, no logit_offset key).
func TestLogitOffset(t *testing.T) {
	exs := testExamples(rand.New(rand.NewPCG(7, 8)), 300)
	sp := testSpec(t, "wide_deep", "mean", "[6, 4]")
	plain, b := newTestModel(t, sp, exs)
	sp2 := testSpec(t, "wide_deep", "mean", "[6, 4]")
	sp2.Model.NegativeSampling = 0.25
	sampled, _ := newTestModel(t, sp2, exs)
	if want := float32(math.Log(0.25)); sampled.M.LogitOffset != want || plain.M.LogitOffset != 0 {
		t.Fatalf("offsets %v and %v, want %v and 0", sampled.M.LogitOffset, plain.M.LogitOffset, want)
	}
	// Same weights, same logits: the scores differ by the offset only,
	// and one step moves both models' weights identically.
	pp, sp0 := plain.Predict(nil, b), sampled.Predict(nil, b)
	for i := range pp {
		logit := math.Log(float64(pp[i]) / (1 - float64(pp[i])))
		if want := 1 / (1 + math.Exp(-(logit + math.Log(0.25)))); math.Abs(float64(sp0[i])-want) > 1e-5 {
			t.Fatalf("example %d: score %v, want sigmoid(logit %v + log 0.25) = %v", i, sp0[i], logit, want)
		}
	}
	lp, _ := plain.Step(b, nil)
	ls, _ := sampled.Step(b, nil)
	wp, _ := plain.M.EncodeWeights()
	ws, _ := sampled.M.EncodeWeights()
	if lp != ls {
		t.Errorf("training loss %v with the offset, %v without: the offset must not enter training", ls, lp)
	}
	st := fitState(t, sp2, exs)
	meta := sampled.M.Meta()
	if meta.Format != ModelFormatOffset || meta.LogitOffset != float64(float32(math.Log(0.25))) {
		t.Errorf("meta: format %d, logit_offset %v", meta.Format, meta.LogitOffset)
	}
	continuesExactly(t, sampled, ws, sp2, st, transform(t, st, exs[100:]), nil)
	if strings.Contains(string(wp), "logit_offset") || plain.M.Meta().Format != ModelFormat {
		t.Errorf("a model without sampling writes format %d with a logit_offset: %v", plain.M.Meta().Format, strings.Contains(string(wp), "logit_offset"))
	}
	old, err := DecodeWeights(wp, sp2, st.Layout())
	if err != nil || old.LogitOffset != 0 {
		t.Errorf("a file without an offset, loaded with rate 0.25's spec: offset %v, %v; want 0", old.LogitOffset, err)
	}
}

// TestWarmStartMovesTheOffset: warm-starting a model trained without
// sampling into a spec with rate 0.2 gives the new model the offset log
// 0.2 and moves its bias by -log 0.2, so that it scores as before.
func TestWarmStartMovesTheOffset(t *testing.T) {
	exs := testExamples(rand.New(rand.NewPCG(9, 10)), 300)
	sp := testSpec(t, "wide_deep", "mean", "[6, 4]")
	src, b := newTestModel(t, sp, exs)
	for range 5 {
		src.Step(b, nil)
	}
	sp2 := testSpec(t, "wide_deep", "mean", "[6, 4]")
	sp2.Model.NegativeSampling = 0.2
	st := fitState(t, sp2, exs)
	dst, err := NewModel(sp2, st.Layout())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WarmStart(dst, st, src.M, st, WarmStartOptions{}); err != nil {
		t.Fatal(err)
	}
	if dst.LogitOffset != float32(math.Log(0.2)) || dst.Bias != src.M.Bias-dst.LogitOffset {
		t.Fatalf("offset %v, bias %v; want %v and %v", dst.LogitOffset, dst.Bias, float32(math.Log(0.2)), src.M.Bias-dst.LogitOffset)
	}
	want, got := src.Predict(nil, b), NewTrainer(dst, 2).Predict(nil, b)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("example %d: the warm-started model scores %v, the previous one %v", i, got[i], want[i])
		}
	}
}
