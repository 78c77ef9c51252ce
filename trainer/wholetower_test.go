package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// gradients runs one forward and backward pass of tr on b and returns every
// summed gradient by parameter name (the reduction included), without
// updating the model.
func gradients(tr *Trainer, b *featurize.Batch) map[string]float64 {
	m := tr.M
	m.growTo(b)
	ws := tr.shard(b.N)
	inv := 1 / float32(b.N)
	if tr.wholeTower {
		tr.forwardAll(ws, b)
		tr.backwardAll(ws, b, inv)
	} else {
		parallel(ws, func(w *worker) { tr.forward(w, b); tr.backward(w, b, inv) })
	}
	tr.reduce(ws)
	w0 := ws[0]
	g := map[string]float64{"bias": float64(w0.bias)}
	for k := range w0.wide {
		sg := &w0.wide[k]
		for i, id := range sg.touched {
			g[fmt.Sprintf("wide[%d][%d]", k, id)] = float64(sg.g[i])
		}
		sg.reset()
	}
	for f := range w0.emb {
		sg := &w0.emb[f]
		d := sg.width
		for i, id := range sg.touched {
			for j := range d {
				g[fmt.Sprintf("emb[%d][%d][%d]", f, id, j)] = float64(sg.g[i*d+j])
			}
		}
		sg.reset()
	}
	if m.tower != nil {
		tg := tr.towerGrads(w0)
		for l := range tg.dW {
			for i, v := range tg.dW[l] {
				g[fmt.Sprintf("tower.w[%d][%d]", l, i)] = float64(v)
			}
			for i, v := range tg.dB[l] {
				g[fmt.Sprintf("tower.b[%d][%d]", l, i)] = float64(v)
			}
		}
	}
	return g
}

// TestWholeTowerMatchesShardedTower checks that running the tower once on
// the whole batch (the large towers' way) gives the gradients, predictions
// and trained weights of running it per shard (the way
// TestModelGradientsFiniteDifferences checks against finite differences),
// up to float rounding, for 1 to 3 workers and the tower's products in 1
// to 5 blocks, on the build's BLAS (OpenBLAS in the openblas build).
func TestWholeTowerMatchesShardedTower(t *testing.T) {
	const tol = 1e-5
	near := func(a, b float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b))) }
	for _, tc := range []struct {
		mode, combiner string
		workers, par   int // par: the whole-batch tower's blocks (0: as chosen)
		hidden         string
	}{
		{"wide_deep", "mean", 2, 0, "[64, 32]"}, {"wide_deep", "sum", 3, 3, "[64, 32]"},
		{"wide_deep", "sqrtn", 1, 0, "[64, 32]"}, {"deep", "sum", 2, 2, "[64, 32]"},
		{"wide_deep", "mean", 2, 5, "[64, 32]"},
		// Above smallTowerFLOPs: the build's BLAS (OpenBLAS with -tags openblas).
		{"wide_deep", "mean", 2, 0, "[512, 256]"}, {"wide_deep", "mean", 2, 2, "[512, 256]"},
	} {
		t.Run(fmt.Sprintf("%s/%s/workers=%d/par=%d/hidden=%s", tc.mode, tc.combiner, tc.workers, tc.par, tc.hidden), func(t *testing.T) {
			sp := testSpec(t, tc.mode, tc.combiner, tc.hidden)
			exs := testExamples(rand.New(rand.NewPCG(11, 12)), 600)
			a, _ := newTestModel(t, sp, exs)
			c, _ := newTestModel(t, sp, exs)
			a, c = NewTrainer(a.M, tc.workers), NewTrainer(c.M, tc.workers)
			if big := a.M.tower.flops() >= smallTowerFLOPs; big != (tc.hidden == "[512, 256]") {
				t.Fatalf("tower of %g FLOPs: on the build's BLAS %v", a.M.tower.flops(), big)
			}
			a.setWholeTower(false)
			c.setWholeTower(true)
			c.towerPar = tc.par
			if !c.wholeTower {
				t.Fatal("the whole-batch tower was not selected")
			}
			shardedMatchesWhole(t, a, c, sp, exs, near)
			ra, rc := a.M.tower, c.M.tower
			for l := range ra.w {
				for i, v := range f32(ra.w[l]) {
					if w := f32(rc.w[l])[i]; !near(float64(v), float64(w)) {
						t.Fatalf("tower.w[%d][%d] after training: sharded %.8g, whole %.8g", l, i, v, w)
					}
				}
			}
			for f := range a.M.Emb {
				for i, v := range a.M.Emb[f].W {
					if w := c.M.Emb[f].W[i]; !near(float64(v), float64(w)) {
						t.Fatalf("emb[%d] value %d after training: sharded %.8g, whole %.8g", f, i, v, w)
					}
				}
			}
		})
	}
}

// TestWholeTowerChosenBySize checks NewTrainer's choice: the paper's tower
// runs on the whole batch, a small one per shard.
func TestWholeTowerChosenBySize(t *testing.T) {
	exs := testExamples(rand.New(rand.NewPCG(1, 1)), 50)
	for _, tc := range []struct {
		hidden string
		whole  bool
	}{{"[6, 4]", false}, {"[1024, 512, 256]", true}} {
		tr, _ := newTestModel(t, testSpec(t, "wide_deep", "mean", tc.hidden), exs)
		if tr.wholeTower != tc.whole {
			t.Errorf("hidden %s: whole-batch tower %v, want %v", tc.hidden, tr.wholeTower, tc.whole)
		}
	}
}

// TestWholeTowerContinuesExactly is TestWeightsRoundTripContinuesExactly
// with the whole-batch tower: a saved and loaded model takes the next step
// bit for bit like the original (the whole-batch products are
// deterministic, OpenBLAS's too in the openblas build).
func TestWholeTowerContinuesExactly(t *testing.T) {
	exs := testExamples(rand.New(rand.NewPCG(7, 8)), 400)
	sp := testSpec(t, "wide_deep", "sqrtn", "[512, 256]") // on the build's BLAS
	a, _ := newTestModel(t, sp, exs)
	a.setWholeTower(true)
	st := fitState(t, sp, exs)
	b := transform(t, st, exs[:200])
	for range 3 {
		a.Step(b, nil)
	}
	raw, err := a.M.EncodeWeights()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := DecodeWeights(raw, sp, st.Layout())
	if err != nil {
		t.Fatal(err)
	}
	c := NewTrainer(m2, 2)
	c.setWholeTower(true)
	next := transform(t, st, exs[200:])
	a.Step(next, nil)
	c.Step(next, nil)
	ra, _ := a.M.EncodeWeights()
	rc, _ := c.M.EncodeWeights()
	if string(ra) != string(rc) {
		t.Fatal("after one more step the original and the loaded model differ")
	}
}

// shardedMatchesWhole checks that a (per-shard tower) and c (whole-batch
// tower), two trainers of the same model, give the same gradients
// (the cross layers' too, with interaction cross) on the first 300 of exs,
// then the same losses and predictions while training on all of them, up
// to near.
func shardedMatchesWhole(t *testing.T, a, c *Trainer, sp *spec.Spec, exs []schemas.Example, near func(a, b float64) bool) {
	t.Helper()
	st := fitState(t, sp, exs)
	b := transform(t, st, exs[:300])
	ga, gc := gradients(a, b), gradients(c, b)
	if cr := a.M.cross; cr != nil {
		crossGradients(ga, a.crossGrads(a.workers[0]))
		crossGradients(gc, c.crossGrads(c.workers[0]))
	}
	if len(ga) != len(gc) {
		t.Fatalf("%d gradients sharded, %d whole", len(ga), len(gc))
	}
	for k, v := range ga {
		if w, ok := gc[k]; !ok || !near(v, w) {
			t.Errorf("%s: sharded %.8g, whole %.8g (present %v)", k, v, w, ok)
		}
	}
	for lo := 0; lo < len(exs); lo += 150 {
		next := transform(t, st, exs[lo:lo+150])
		la, pa := a.Step(next, nil)
		lc, pc := c.Step(next, nil)
		if !near(la, lc) {
			t.Fatalf("loss sharded %.8g, whole %.8g", la, lc)
		}
		for i := range pa {
			if !near(float64(pa[i]), float64(pc[i])) {
				t.Fatalf("prediction %d: sharded %.8g, whole %.8g", i, pa[i], pc[i])
			}
		}
	}
}
