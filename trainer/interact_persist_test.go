package trainer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer/safetensors"
)

// TestInteractionWeightsRoundTrip is TestWeightsRoundTripContinuesExactly
// for dot and cross, on both tower paths: the loaded model predicts bit for
// bit like the original, and one more step on each leaves identical files
// (the cross layers' AdaGrad state came along). The file names the
// interaction, holds cross/L/{w,b,w.acc,b.acc}, and has format 2.
func TestInteractionWeightsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		interaction string
		layers      int
		whole       bool
	}{
		{"dot", 0, false}, {"dot", 0, true}, {"cross", 0, false}, {"cross", 3, true},
	} {
		name := tc.interaction
		if tc.whole {
			name += "/whole"
		}
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			exs := testExamples(rng, 400)
			sp := ixSpec(t, "wide_deep", "sqrtn", "[6, 4]", tc.interaction, tc.layers)
			a, _ := newTestModel(t, sp, exs)
			a.setWholeTower(tc.whole)
			st := fitState(t, sp, exs)
			b := transform(t, st, exs[:200])
			for range 3 {
				a.Step(b, nil)
			}
			raw, err := a.M.EncodeWeights()
			if err != nil {
				t.Fatal(err)
			}
			f, err := safetensors.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			var meta ModelMeta
			if err := json.Unmarshal([]byte(f.Metadata["wdstream.model"]), &meta); err != nil {
				t.Fatal(err)
			}
			if meta.Format != ModelFormatInteraction || string(meta.Interaction) != tc.interaction {
				t.Errorf("meta: format %d, interaction %q", meta.Format, meta.Interaction)
			}
			if a.M.cross != nil {
				for l := range a.M.cross.w {
					for _, suffix := range []string{"w", "b", "w.acc", "b.acc"} {
						if name := fmt.Sprintf("cross/%d/%s", l, suffix); f.Tensors[name] == nil {
							t.Errorf("no tensor %s", name)
						}
					}
				}
				if meta.CrossLayers != len(a.M.cross.w) {
					t.Errorf("meta: %d cross layers, the model has %d", meta.CrossLayers, len(a.M.cross.w))
				}
			}
			continuesExactly(t, a, raw, sp, st, transform(t, st, exs[200:]), func(c *Trainer) { c.setWholeTower(tc.whole) })
		})
	}
}

// A model without interaction writes format 1 and no interaction in its
// metadata, as before the key existed.
func TestNoInteractionKeepsFormat1(t *testing.T) {
	exs := testExamples(rand.New(rand.NewPCG(1, 2)), 100)
	a, _ := newTestModel(t, testSpec(t, "wide_deep", "mean", "[6, 4]"), exs)
	raw, err := a.M.EncodeWeights()
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	meta := f.Metadata["wdstream.model"]
	if !strings.HasPrefix(meta, `{"format":1,`) || strings.Contains(meta, "interaction") || strings.Contains(meta, "cross_layers") {
		t.Errorf("metadata %s", meta)
	}
	for name := range f.Tensors {
		if strings.HasPrefix(name, "cross/") {
			t.Errorf("tensor %s in a model without interaction", name)
		}
	}
}

// A weights file read with a spec of another interaction, or other cross
// layers, is refused with an error naming what differs.
func TestDecodeWeightsRefusesOtherInteraction(t *testing.T) {
	exs := testExamples(rand.New(rand.NewPCG(9, 9)), 100)
	st := fitState(t, ixSpec(t, "wide_deep", "mean", "[6, 4]", "none", 0), exs)
	encode := func(interaction string, layers int) []byte {
		a, _ := newTestModel(t, ixSpec(t, "wide_deep", "mean", "[6, 4]", interaction, layers), exs)
		raw, err := a.M.EncodeWeights()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	for _, tc := range []struct {
		file, spec   string
		fileL, specL int
		want         string
	}{
		{"none", "cross", 0, 0, "trained with interaction none, the spec's model.interaction gives cross"},
		{"cross", "none", 0, 0, "trained with interaction cross, the spec's model.interaction gives none"},
		{"dot", "cross", 0, 0, "trained with interaction dot"},
		{"cross", "cross", 3, 2, "tensor cross/2/w: the file has more cross layers than the spec's 2"},
		{"cross", "cross", 2, 3, "tensor cross/2/w: missing"},
	} {
		t.Run(fmt.Sprintf("%s%d->%s%d", tc.file, tc.fileL, tc.spec, tc.specL), func(t *testing.T) {
			_, err := DecodeWeights(encode(tc.file, tc.fileL), ixSpec(t, "wide_deep", "mean", "[6, 4]", tc.spec, tc.specL), st.Layout())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// warmPair trains a model of interaction from for a few steps and returns
// it with its state, and a fresh model of interaction to on a rebuilt
// state (vocabularies in another order, so rows must move by string).
func warmPair(t *testing.T, from, to string, fromL, toL int) (old *Trainer, prev *featurize.State, fresh *Model, cur *featurize.State, exs []schemas.Example) {
	t.Helper()
	exs = testExamples(rand.New(rand.NewPCG(11, 12)), 150)
	sp := ixSpec(t, "wide_deep", "mean", "[6, 4]", from, fromL)
	old, _ = newTestModel(t, sp, exs)
	prev = fitState(t, sp, exs)
	for range 5 {
		old.Step(transform(t, prev, exs), nil)
	}
	rev := slices.Clone(exs)
	slices.Reverse(rev)
	sp2 := ixSpec(t, "wide_deep", "mean", "[6, 4]", to, toL)
	cur = fitState(t, sp2, rev)
	var err error
	if fresh, err = NewModel(sp2, cur.Layout()); err != nil {
		t.Fatal(err)
	}
	return old, prev, fresh, cur, exs
}

// TestInteractionWarmStart: a model of the same interaction warm-starts
// every tensor and scores as the old one; a change of interaction or of
// cross_layers is refused by name unless the tensors are allowed.
func TestInteractionWarmStart(t *testing.T) {
	for _, ix := range []string{"dot", "cross"} {
		t.Run("same/"+ix, func(t *testing.T) {
			old, prev, fresh, cur, exs := warmPair(t, ix, ix, 0, 0)
			rep, err := WarmStart(fresh, cur, old.M, prev, WarmStartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.New) != 0 || len(rep.Reinitialized) != 0 || len(rep.Dropped) != 0 {
				t.Fatalf("report %v: new %v, re-initialized %v, dropped %v", rep, rep.New, rep.Reinitialized, rep.Dropped)
			}
			if ix == "cross" && (!slices.Contains(rep.Copied, "cross/0/w") || !slices.Contains(rep.Copied, "cross/1/w")) {
				t.Fatalf("copied %v, want the cross layers", rep.Copied)
			}
			want := old.Predict(nil, transform(t, prev, exs))
			got := NewTrainer(fresh, 2).Predict(nil, transform(t, cur, exs))
			for i := range want {
				if d := want[i] - got[i]; d > 1e-6 || d < -1e-6 {
					t.Fatalf("example %d: %g before, %g after warm start", i, want[i], got[i])
				}
			}
		})
	}
	for _, tc := range []struct {
		name          string
		from, to      string
		fromL, toL    int
		refused       []string // tensors the error names
		reinit, drops []string // what the report lists once they are allowed
	}{
		{"none->cross", "none", "cross", 0, 0, []string{"cross/0/w", "cross/1/w"}, []string{"cross/0/w", "cross/1/w"}, nil},
		{"cross 2->3", "cross", "cross", 2, 3, []string{"cross/2/w"}, []string{"cross/2/w"}, nil},
		{"cross->none", "cross", "none", 0, 0, []string{"cross/0/w", "cross/1/w"}, nil, []string{"cross/0/w", "cross/1/w"}},
		{"cross 3->1", "cross", "cross", 3, 1, []string{"cross/1/w", "cross/2/w"}, nil, []string{"cross/1/w", "cross/2/w"}},
		// dot widens the tower's input: its first layer changes shape.
		{"none->dot", "none", "dot", 0, 0, []string{"tower/0/w"}, []string{"tower/0/w"}, nil},
		{"dot->cross", "dot", "cross", 0, 0, []string{"tower/0/w", "cross/0/w", "cross/1/w"}, []string{"tower/0/w", "cross/0/w", "cross/1/w"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, prev, fresh, cur, _ := warmPair(t, tc.from, tc.to, tc.fromL, tc.toL)
			_, err := WarmStart(fresh, cur, old.M, prev, WarmStartOptions{})
			if err == nil {
				t.Fatal("warm start across an interaction change succeeded without --reinit")
			}
			for _, name := range tc.refused {
				if !strings.Contains(err.Error(), "tensor "+name+":") || !strings.Contains(err.Error(), "--reinit "+name) {
					t.Errorf("error %v, want one naming %s", err, name)
				}
			}
			// Allowing some but not all still fails.
			if len(tc.refused) > 1 {
				if _, err := WarmStart(fresh, cur, old.M, prev, WarmStartOptions{Reinit: tc.refused[:1]}); err == nil {
					t.Errorf("warm start succeeded with only %v allowed", tc.refused[:1])
				}
			}
			fresh2, err := NewModel(ixSpec(t, "wide_deep", "mean", "[6, 4]", tc.to, tc.toL), cur.Layout())
			if err != nil {
				t.Fatal(err)
			}
			rep, err := WarmStart(fresh2, cur, old.M, prev, WarmStartOptions{Reinit: tc.refused})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rep.Reinitialized, tc.reinit) || !slices.Equal(rep.Dropped, tc.drops) {
				t.Errorf("re-initialized %v, dropped %v; want %v and %v", rep.Reinitialized, rep.Dropped, tc.reinit, tc.drops)
			}
			if len(tc.drops) > 0 && !strings.Contains(rep.String(), "dropped") {
				t.Errorf("report %q does not count the dropped layers", rep)
			}
		})
	}
}

// The cross layers of a model whose previous version had no deep part are
// new, as its tower is: nothing to refuse.
func TestInteractionWarmStartFromWide(t *testing.T) {
	exs := testExamples(rand.New(rand.NewPCG(11, 12)), 150)
	spw := ixSpec(t, "wide", "mean", "[6, 4]", "none", 0)
	old, _ := newTestModel(t, spw, exs)
	prev := fitState(t, spw, exs)
	sp := ixSpec(t, "wide_deep", "mean", "[6, 4]", "cross", 0)
	cur := fitState(t, sp, exs)
	fresh, err := NewModel(sp, cur.Layout())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := WarmStart(fresh, cur, old.M, prev, WarmStartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rep.New, "cross/0/w") || !slices.Contains(rep.New, "tower/0/w") {
		t.Errorf("new %v, want the tower and the cross layers", rep.New)
	}
}

// The model's interaction follows the spec, none without a deep part.
func TestModelInteraction(t *testing.T) {
	exs := testExamples(rand.New(rand.NewPCG(1, 1)), 50)
	for _, tc := range []struct {
		mode, interaction string
		want              spec.Interaction
	}{
		{"wide_deep", "cross", spec.InteractionCross}, {"deep", "dot", spec.InteractionDot},
		{"wide_deep", "none", spec.InteractionNone}, {"wide", "cross", spec.InteractionNone},
	} {
		tr, _ := newTestModel(t, ixSpec(t, tc.mode, "mean", "[6, 4]", tc.interaction, 0), exs)
		if got := tr.M.Interaction(); got != tc.want {
			t.Errorf("mode %s, interaction %s: model's %s", tc.mode, tc.interaction, got)
		}
		if tc.mode == "wide" && tr.M.cross != nil {
			t.Error("mode wide built cross layers")
		}
	}
}
