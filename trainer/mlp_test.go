package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// mlpLoss is sum_r c_r * out_r for fixed coefficients c, so that
// d loss / d out = c: a linear probe of the tower's gradients.
func mlpLoss(m *mlp, wk *mlpWork, x, c []float32) float64 {
	copy(wk.act[0], x)
	out := m.forward(wk)
	var s float64
	for r, v := range out {
		s += float64(c[r]) * float64(v)
	}
	return s
}

// reluPattern is the on/off state of every hidden unit, as a string.
func reluPattern(m *mlp, wk *mlpWork) string {
	var b []byte
	for l := 1; l < len(m.sizes)-1; l++ {
		for _, v := range wk.act[l] {
			if v > 0 {
				b = append(b, '1')
			} else {
				b = append(b, '0')
			}
		}
	}
	return string(b)
}

func TestMLPGradientsFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name   string
		in     int
		hidden []int
		n      int
	}{
		{"one-hidden", 5, []int{7}, 3},
		{"two-hidden", 6, []int{8, 4}, 5},
		{"no-hidden", 4, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMLP(tc.in, tc.hidden, 0.1, rng)
			for l := range m.b { // non-zero biases exercise their gradients
				for i := range f32(m.b[l]) {
					f32(m.b[l])[i] = float32(rng.Float64()*0.2 - 0.1)
				}
			}
			wk := m.newWork()
			m.resize(wk, tc.n)
			x := make([]float32, tc.n*tc.in)
			c := make([]float32, tc.n)
			for i := range x {
				x[i] = float32(rng.Float64()*2 - 1)
			}
			for i := range c {
				c[i] = float32(rng.Float64()*2 - 1)
			}
			mlpLoss(m, wk, x, c)
			base := reluPattern(m, wk)
			m.backward(wk, c)
			dx := append([]float32(nil), wk.dAct[0]...)
			const h, tol = 2e-3, 3e-3
			checked, skipped := 0, 0
			check := func(what string, p []float32, i int, analytic float32) {
				t.Helper()
				old := p[i]
				p[i] = old + h
				up := mlpLoss(m, wk, x, c)
				upPat := reluPattern(m, wk)
				p[i] = old - h
				down := mlpLoss(m, wk, x, c)
				downPat := reluPattern(m, wk)
				p[i] = old
				if upPat != base || downPat != base {
					skipped++ // the step crossed a ReLU kink: no derivative to compare
					return
				}
				checked++
				num := (up - down) / (2 * h)
				if d := math.Abs(num - float64(analytic)); d > tol*math.Max(1, math.Abs(num)) {
					t.Errorf("%s[%d]: analytic %g, finite difference %g", what, i, analytic, num)
				}
			}
			for l := range m.w {
				dW := append([]float32(nil), wk.dW[l]...)
				dB := append([]float32(nil), wk.dB[l]...)
				for i := range dW {
					check("w", f32(m.w[l]), i, dW[i])
				}
				for i := range dB {
					check("b", f32(m.b[l]), i, dB[i])
				}
			}
			for i := range dx {
				check("x", x, i, dx[i])
			}
			if skipped*5 > checked {
				t.Fatalf("%d of %d coordinates crossed a ReLU kink: too few checked", skipped, checked+skipped)
			}
		})
	}
}
