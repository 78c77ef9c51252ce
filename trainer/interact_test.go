package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wdstream/wdstream/schemas/spec"
)

// ixSpec is testSpec's inputs with the deep fields' embeddings of one size
// and a model.interaction; layers > 0 sets cross_layers. Interaction
// "dot-mixed" is dot with country's embedding of another size: one pair
// (app_id, installed_apps) of the three fields.
func ixSpec(t testing.TB, mode, combiner, hidden, interaction string, layers int) *spec.Spec {
	t.Helper()
	countryDim := 3
	if interaction == "dot-mixed" {
		interaction, countryDim = "dot", 2
	}
	cl := ""
	if layers > 0 {
		cl = fmt.Sprintf("  cross_layers: %d\n", layers)
	}
	y := fmt.Sprintf(`version: 1
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 3}
  - {name: country, type: categorical, embedding_dim: %d}
  - {name: installed_apps, type: categorical_list, combiner: %s, embedding_dim: 3}
  - {name: app_rating, type: numeric, wide: true, quantiles: 5}
  - {name: position, type: numeric, quantiles: 4}
crosses:
  - {columns: [installed_apps, app_id], hash_buckets: 64}
model:
  mode: %s
  hidden: %s
  interaction: %s
%s  batch_size: 16
  adagrad: {learning_rate: 0.1}
  ftrl: {alpha: 0.1, l1: 0}
`, countryDim, combiner, mode, hidden, interaction, cl)
	sp, err := spec.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// crossLoss is sum c ⊙ out over the cross layers' output: a linear probe
// of their gradients (d loss / d out = c).
func crossLoss(c *crossNet, cw *crossWork, x0, coef, out []float32) float64 {
	copy(cw.x[0], x0)
	c.forward(cw, out)
	var s float64
	for i, v := range out {
		s += float64(coef[i]) * float64(v)
	}
	return s
}

// TestCrossGradientsFiniteDifferences checks the cross layers' backward
// pass (weights, biases, and the input x0, which every layer uses) against
// central differences, with mlp_test's step and tolerance. The layers are
// polynomial in their inputs: no kinks, so every coordinate must agree.
func TestCrossGradientsFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, tc := range []struct {
		name       string
		d, layers  int
		n, par, ew int
	}{
		{"one-layer", 5, 1, 3, 0, 0},
		{"two-layers", 6, 2, 4, 0, 0},
		{"three-layers-split", 4, 3, 40, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCrossNet(tc.d, tc.layers, 0.1, rng)
			for l := range c.b { // non-zero biases exercise their gradients
				for i := range c.b[l] {
					c.b[l][i] = float32(rng.Float64()*0.4 - 0.2)
				}
			}
			cw := c.newWork()
			c.resize(cw, tc.n)
			cw.par, cw.ew = tc.par, tc.ew
			x0 := randF32(rng, tc.n*tc.d)
			coef := randF32(rng, tc.n*tc.d)
			out := make([]float32, tc.n*tc.d)
			crossLoss(c, cw, x0, coef, out)
			g := append([]float32(nil), coef...)
			c.backward(cw, g)
			dx0 := append([]float32(nil), cw.dx0...)
			const h, tol = 2e-3, 3e-3
			checked := 0
			check := func(what string, p []float32, i int, analytic float32) {
				t.Helper()
				old := p[i]
				p[i] = old + h
				up := crossLoss(c, cw, x0, coef, out)
				p[i] = old - h
				down := crossLoss(c, cw, x0, coef, out)
				p[i] = old
				checked++
				num := (up - down) / (2 * h)
				if d := math.Abs(num - float64(analytic)); d > tol*math.Max(1, math.Abs(num)) {
					t.Errorf("%s[%d]: analytic %g, finite difference %g", what, i, analytic, num)
				}
			}
			for l := range c.w {
				dW := append([]float32(nil), cw.dW[l]...)
				dB := append([]float32(nil), cw.dB[l]...)
				for i := range dW {
					check(fmt.Sprintf("w%d", l), c.w[l], i, dW[i])
				}
				for i := range dB {
					check(fmt.Sprintf("b%d", l), c.b[l], i, dB[i])
				}
			}
			for i := range dx0 {
				check("x0", x0, i, dx0[i])
			}
			if want := tc.layers*(tc.d*tc.d+tc.d) + tc.n*tc.d; checked != want {
				t.Fatalf("checked %d coordinates, want %d", checked, want)
			}
		})
	}
}

// TestInteractionWholeTowerMatchesSharded checks that the whole-batch path
// (the large towers' way, forwardAll and backwardAll: the dot products and
// the cross layers on the whole batch) gives the per-shard path's
// gradients (checked by TestModelGradientsFiniteDifferences), predictions and
// trained weights, up to float rounding.
func TestInteractionWholeTowerMatchesSharded(t *testing.T) {
	const tol = 1e-5
	near := func(a, b float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b))) }
	for _, tc := range []struct {
		interaction  string
		workers, par int
	}{
		{"dot", 2, 0}, {"dot", 3, 3}, {"cross", 2, 0}, {"cross", 3, 3}, {"cross", 1, 0},
	} {
		t.Run(fmt.Sprintf("%s/workers=%d/par=%d", tc.interaction, tc.workers, tc.par), func(t *testing.T) {
			sp := ixSpec(t, "wide_deep", "mean", "[64, 32]", tc.interaction, 0)
			exs := testExamples(rand.New(rand.NewPCG(11, 12)), 600)
			a, _ := newTestModel(t, sp, exs)
			c, _ := newTestModel(t, sp, exs)
			a, c = NewTrainer(a.M, tc.workers), NewTrainer(c.M, tc.workers)
			a.setWholeTower(false)
			c.setWholeTower(true)
			c.towerPar = tc.par
			shardedMatchesWhole(t, a, c, sp, exs, near)
			if cr := a.M.cross; cr != nil {
				for l := range cr.w {
					for i, v := range cr.w[l] {
						if w := c.M.cross.w[l][i]; !near(float64(v), float64(w)) {
							t.Fatalf("cross.w[%d][%d] after training: sharded %.8g, whole %.8g", l, i, v, w)
						}
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

// crossGradients adds the cross layers' summed gradients to g (as
// gradients names the others).
func crossGradients(g map[string]float64, cw *crossWork) {
	for l := range cw.dW {
		for i, v := range cw.dW[l] {
			g[fmt.Sprintf("cross.w[%d][%d]", l, i)] = float64(v)
		}
		for i, v := range cw.dB[l] {
			g[fmt.Sprintf("cross.b[%d][%d]", l, i)] = float64(v)
		}
	}
}
