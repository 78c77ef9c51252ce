package trainer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

func fitState(t *testing.T, sp *spec.Spec, exs []schemas.Example) *featurize.State {
	t.Helper()
	st, err := featurize.New(sp, featurize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Fit(exs); err != nil {
		t.Fatal(err)
	}
	st.RefreshBoundaries()
	return st
}

func transform(t *testing.T, st *featurize.State, exs []schemas.Example) *featurize.Batch {
	t.Helper()
	var b featurize.Batch
	if err := st.Transform(&b, exs); err != nil {
		t.Fatal(err)
	}
	return &b
}

// TestWeightsRoundTripContinuesExactly saves a trained model, loads it, and
// checks that the loaded copy predicts the same and that one more training
// step on both leaves bit-identical weights (the optimizer state came along).
func TestWeightsRoundTripContinuesExactly(t *testing.T) {
	for _, mode := range []string{"wide", "deep", "wide_deep"} {
		t.Run(mode, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			exs := testExamples(rng, 400)
			sp := testSpec(t, mode, "sqrtn", "[6, 4]")
			a, _ := newTestModel(t, sp, exs)
			st := fitState(t, sp, exs)
			b := transform(t, st, exs[:200])
			for range 3 {
				a.Step(b, nil)
			}
			raw, err := a.M.EncodeWeights()
			if err != nil {
				t.Fatal(err)
			}
			continuesExactly(t, a, raw, sp, st, transform(t, st, exs[200:]), nil)
		})
	}
}

// continuesExactly loads raw (a's weights) into a new Trainer (set up by
// setup, when not nil) and checks that it predicts next as a does and that
// one more step on next leaves both with bit-identical weights: the
// optimizer state came along.
func continuesExactly(t *testing.T, a *Trainer, raw []byte, sp *spec.Spec, st *featurize.State, next *featurize.Batch, setup func(*Trainer)) {
	t.Helper()
	m2, err := DecodeWeights(raw, sp, st.Layout())
	if err != nil {
		t.Fatal(err)
	}
	c := NewTrainer(m2, 2)
	if setup != nil {
		setup(c)
	}
	if pa, pc := a.Predict(nil, next), c.Predict(nil, next); !slices.Equal(pa, pc) {
		t.Fatal("the loaded model predicts differently")
	}
	a.Step(next, nil)
	c.Step(next, nil)
	ra, _ := a.M.EncodeWeights()
	rc, _ := c.M.EncodeWeights()
	if string(ra) != string(rc) {
		t.Fatal("after one more step the original and the loaded model differ: optimizer state was lost")
	}
}

func TestDecodeWeightsNamesTheTensorAtFault(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	exs := testExamples(rng, 100)
	sp := testSpec(t, "wide_deep", "mean", "[6, 4]")
	a, _ := newTestModel(t, sp, exs)
	st := fitState(t, sp, exs)
	raw, _ := a.M.EncodeWeights()
	for _, tc := range []struct {
		hidden, want string
	}{
		{"[6, 5]", "tower/1/w"},
		{"[6]", "tower/1/w"},
		{"[7, 4]", "tower/0/w"},
	} {
		sp2 := testSpec(t, "wide_deep", "mean", tc.hidden)
		_, err := DecodeWeights(raw, sp2, st.Layout())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("hidden %s: error %v, want one naming %s", tc.hidden, err, tc.want)
		}
	}
	if _, err := DecodeWeights(raw[:len(raw)-3], sp, st.Layout()); err == nil {
		t.Error("a truncated weights file loaded")
	}
}

// TestWarmStartMovesRowsByString rebuilds the vocabularies in another order
// (so every id changes) and checks that the warm-started model scores every
// example exactly as the old one.
func TestWarmStartMovesRowsByString(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	// 150 examples stay below the KLL sketch's first compaction, so both
	// states get the same quantile boundaries and only the ids differ.
	exs := testExamples(rng, 150)
	sp := testSpec(t, "wide_deep", "mean", "[6, 4]")
	old, _ := newTestModel(t, sp, exs)
	prev := fitState(t, sp, exs)
	for range 5 {
		old.Step(transform(t, prev, exs), nil)
	}
	rev := slices.Clone(exs)
	slices.Reverse(rev)
	cur := fitState(t, sp, rev) // same strings, admitted in another order
	moved := 0
	for _, f := range []string{"app_id", "installed_apps"} {
		for _, ex := range exs {
			a, _ := prev.Vocab(f).Lookup(ex.AppID)
			b, _ := cur.Vocab(f).Lookup(ex.AppID)
			if a != b {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Fatal("the rebuilt vocabularies gave every string its old id: the test would prove nothing")
	}
	fresh, err := NewModel(sp, cur.Layout())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := WarmStart(fresh, cur, old.M, prev, WarmStartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsMoved == 0 || len(rep.New) != 0 {
		t.Fatalf("report: %v (new %v)", rep, rep.New)
	}
	want := old.Predict(nil, transform(t, prev, exs))
	got := NewTrainer(fresh, 2).Predict(nil, transform(t, cur, exs))
	for i := range want {
		if d := want[i] - got[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("example %d: %g before, %g after warm start", i, want[i], got[i])
		}
	}
}

func TestWarmStartRefusesIncompatibleSpecUnlessAsked(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	exs := testExamples(rng, 100)
	sp := testSpec(t, "wide_deep", "mean", "[6, 4]")
	old, _ := newTestModel(t, sp, exs)
	prev := fitState(t, sp, exs)
	sp2 := testSpec(t, "wide_deep", "mean", "[5, 4]")
	cur := fitState(t, sp, exs)
	fresh, _ := NewModel(sp2, cur.Layout())
	_, err := WarmStart(fresh, cur, old.M, prev, WarmStartOptions{})
	if err == nil || !strings.Contains(err.Error(), "tower/0/w") || !strings.Contains(err.Error(), "tower/1/w") {
		t.Fatalf("error %v, want one naming tower/0/w and tower/1/w", err)
	}
	rep, err := WarmStart(fresh, cur, old.M, prev, WarmStartOptions{Reinit: []string{"tower/0/w", "tower/1/w"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Reinitialized) != 2 {
		t.Fatalf("re-initialized %v", rep.Reinitialized)
	}
}
