package trainer

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
)

// noisyExamples are n examples whose labels are coin flips (30%
// positive) over 400 apps: a model can only memorize them, so held-out
// log loss gets worse as epochs pile up.
func noisyExamples(rng *rand.Rand, n int) []schemas.Example {
	exs := testExamples(rng, n)
	for i := range exs {
		exs[i].AppID = fmt.Sprint("app", rng.IntN(400))
		exs[i].Label = 0
		if rng.Float64() < 0.3 {
			exs[i].Label = 1
		}
	}
	return exs
}

// TestEarlyStopping: with a validation split, Train stops once Patience
// epochs have not lowered the validation log loss, keeps the model of the
// best epoch (bit for bit the model of a plain run of that many epochs),
// and reports every epoch; without one it runs every epoch.
func TestEarlyStopping(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	exs := noisyExamples(rng, 4000)
	train, val := exs[:3200], exs[3200:]
	sp := testSpec(t, "wide_deep", "mean", "[8]")
	sp.Model.FTRL.Alpha = 0.5
	st, err := featurize.New(sp, featurize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Fit(train); err != nil {
		t.Fatal(err)
	}
	st.RefreshBoundaries()
	newTrainer := func() *Trainer {
		m, err := NewModel(sp, st.Layout())
		if err != nil {
			t.Fatal(err)
		}
		return NewTrainer(m, 2)
	}
	ctx := context.Background()
	const maxEpochs, patience = 12, 2
	tr := newTrainer()
	var seen []EpochReport
	stats, err := tr.Train(ctx, st, train, TrainOptions{Epochs: maxEpochs, BatchSize: 32, Validation: val, Patience: patience,
		OnEpoch: func(r EpochReport) { seen = append(seen, r) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range stats.History {
		t.Logf("epoch %d: train log loss %.4f, validation log loss %.4f best %v", r.Epoch, r.TrainLoss, r.Validation.LogLoss, r.Best)
	}
	if len(seen) != stats.Epochs || len(stats.History) != stats.Epochs {
		t.Fatalf("OnEpoch called %d times, %d in History, for %d epochs", len(seen), len(stats.History), stats.Epochs)
	}
	best := 0
	for i, r := range stats.History {
		if r.Validation.LogLoss < stats.History[best].Validation.LogLoss {
			best = i
		}
	}
	if stats.BestEpoch != best+1 {
		t.Fatalf("BestEpoch %d, the lowest validation log loss is epoch %d's", stats.BestEpoch, best+1)
	}
	if stats.Epochs >= maxEpochs || stats.Epochs != stats.BestEpoch+patience {
		t.Fatalf("ran %d of %d epochs with the best at %d: want a stop %d epochs after the best", stats.Epochs, maxEpochs, stats.BestEpoch, patience)
	}
	// The model left is the best epoch's.
	m, _, err := tr.Evaluate(st, val)
	if err != nil {
		t.Fatal(err)
	}
	if m.LogLoss != stats.History[best].Validation.LogLoss {
		t.Fatalf("the model left scores validation log loss %v, the best epoch %v", m.LogLoss, stats.History[best].Validation.LogLoss)
	}
	kept, err := tr.M.EncodeWeights()
	if err != nil {
		t.Fatal(err)
	}
	plain := newTrainer()
	ps, err := plain.Train(ctx, st, train, TrainOptions{Epochs: stats.BestEpoch, BatchSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	want, err := plain.M.EncodeWeights()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kept, want) {
		t.Fatalf("the kept model is not the model of a plain %d-epoch run", stats.BestEpoch)
	}
	if ps.Epochs != stats.BestEpoch || ps.BestEpoch != 0 || len(ps.History) != stats.BestEpoch {
		t.Fatalf("a run without validation: %+v", ps)
	}
	// And the kept model trains on: one more step moves it.
	if _, err := tr.Train(ctx, st, train[:64], TrainOptions{BatchSize: 32}); err != nil {
		t.Fatal(err)
	}
}
