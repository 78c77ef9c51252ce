package tune

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/schemas/spec"
)

// TestSample: every sampled value lies in its range (or is a listed
// choice), reals have 3 significant digits, l1 and l2 are 0 about as
// often as the space says, and stream mode keeps the base's epochs.
func TestSample(t *testing.T) {
	sp := DefaultSpace()
	base := baseValues(synthSpec(t))
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4000
	var l1Zero, l2Zero int
	in := func(name string, x float64, r Range) {
		t.Helper()
		if x < r.Lo || x > r.Hi {
			t.Fatalf("%s %g outside [%g, %g]", name, x, r.Lo, r.Hi)
		}
		if m, _, _ := strings.Cut(strconv.FormatFloat(x, 'e', -1, 64), "e"); len(strings.Replace(m, ".", "", 1)) > 3 {
			t.Fatalf("%s %g has more than 3 significant digits", name, x)
		}
	}
	for range n {
		v := sp.sample(rng, base, ModeBackfill)
		in("alpha", v.Alpha, sp.Alpha)
		in("beta", v.Beta, sp.Beta)
		in("learning_rate", v.LearningRate, sp.LearningRate)
		in("initial_accumulator", v.InitialAccumulator, sp.InitialAccumulator)
		if v.L1 == 0 {
			l1Zero++
		} else {
			in("l1", v.L1, sp.L1)
		}
		if v.L2 == 0 {
			l2Zero++
		} else {
			in("l2", v.L2, sp.L2)
		}
		if !slices.Contains(sp.Epochs, v.Epochs) || !slices.Contains(sp.Embedding, v.Embedding) || !slices.Contains(sp.Buckets, v.Buckets) ||
			!slices.Contains(sp.Interaction, v.Interaction) ||
			!slices.ContainsFunc(sp.Hidden, func(h []int) bool { return slices.Equal(h, v.Hidden) }) {
			t.Fatalf("values %v: a choice not in the space", v)
		}
	}
	if f := float64(l1Zero) / n; math.Abs(f-sp.L1Zero) > 0.03 {
		t.Fatalf("l1 is 0 in %.3f of the trials, want about %g", f, sp.L1Zero)
	}
	if f := float64(l2Zero) / n; math.Abs(f-sp.L2Zero) > 0.03 {
		t.Fatalf("l2 is 0 in %.3f of the trials, want about %g", f, sp.L2Zero)
	}
	for range 20 {
		if v := sp.sample(rng, base, ModeStream); v.Epochs != base.Epochs {
			t.Fatalf("stream mode sampled %d epochs, want the base's %d", v.Epochs, base.Epochs)
		}
	}
	// A space that searches nothing gives the base back.
	if v := (&Space{}).sample(rng, base, ModeBackfill); v.String() != base.String() {
		t.Fatalf("the empty space gave %v, want %v", v, base)
	}
}

// TestResample: a draw whose spec fails validation (here the model budget:
// 4x the cross's buckets is too big) is drawn again, never kept.
func TestResample(t *testing.T) {
	base := synthSpec(t)
	base.Crosses[0].HashBuckets = 1 << 20
	budget := base.ModelSize().Bytes * 3 / 2
	load := spec.LoadOptions{MaxModelBytes: budget}
	fk := &fake{}
	exs := synth(1, 300)
	res, err := Search(context.Background(), base, exs[:250], exs[250:], Options{Trials: 30, Seed: 5, Load: load, Objective: fk.objective})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[float64]int{}
	for _, tr := range res.Trials {
		seen[tr.Values.Buckets]++
		if b := tr.Spec.ModelSize().Bytes; b > budget {
			t.Fatalf("trial %d: model of %d bytes over the budget %d", tr.ID, b, budget)
		}
	}
	if seen[4] != 0 || seen[0.25] == 0 || seen[1] < 2 {
		t.Fatalf("bucket factors drawn %v: want no 4 (over budget), some 0.25 and 1", seen)
	}

	// A base spec over the budget is refused.
	load.MaxModelBytes = budget / 4
	if _, err := Search(context.Background(), base, exs[:250], exs[250:], Options{Load: load, Objective: fk.objective}); err == nil || !strings.Contains(err.Error(), "base spec does not validate") {
		t.Fatalf("a base spec over the budget: %v", err)
	}
}

// TestInputErrors: bad options and splits are refused, naming the problem.
func TestInputErrors(t *testing.T) {
	base := synthSpec(t)
	exs := synth(1, 300)
	fk := &fake{}
	shuffled := slices.Clone(exs[:250])
	shuffled[3], shuffled[100] = shuffled[100], shuffled[3]
	for _, tc := range []struct {
		name   string
		opts   Options
		custom func() error
		want   string
	}{
		{name: "eta", opts: Options{Eta: 1}, want: "Eta 1"},
		{name: "trials", opts: Options{Trials: -1}, want: "Trials -1"},
		{name: "mode", opts: Options{Mode: "online"}, want: `Mode "online"`},
		{name: "space", opts: Options{Space: &Space{Alpha: Range{0, 1}}}, want: "Alpha [0, 1]"},
		{name: "no validation", custom: func() error {
			_, err := Search(context.Background(), base, exs, nil, Options{Objective: fk.objective})
			return err
		}, want: "no validation examples"},
		{name: "unsorted", custom: func() error {
			_, err := Search(context.Background(), base, shuffled, exs[250:], Options{Objective: fk.objective})
			return err
		}, want: "training examples not in time order"},
		{name: "validation older", custom: func() error {
			_, err := Search(context.Background(), base, exs[100:], exs[:100], Options{Objective: fk.objective})
			return err
		}, want: "must be the newest examples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.custom != nil {
				err = tc.custom()
			} else {
				tc.opts.Objective = fk.objective
				_, err = Search(context.Background(), base, exs[:250], exs[250:], tc.opts)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}
