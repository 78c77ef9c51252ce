package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdagradDenseIsUpdateRange checks that the tower's AdaGrad kernel
// gives bit for bit what AdaGrad.UpdateRange gives, zero gradients (both
// signs), tiny and huge values and every tail length included.
func TestAdagradDenseIsUpdateRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	o := AdaGrad{LearningRate: 0.05, InitialAccumulator: 0.1}
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e20, -3, 1e-45}
	for n := range 37 {
		for round := range 20 {
			w, acc, g := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range n {
				w[i] = float32(rng.NormFloat64())
				acc[i] = 0.1 + float32(rng.ExpFloat64())
				g[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-6)))
				if rng.IntN(4) == 0 {
					g[i] = special[rng.IntN(len(special))]
				}
				if round == 0 && rng.IntN(3) == 0 {
					w[i] = float32(math.Copysign(0, -1))
				}
			}
			w2, acc2 := append([]float32(nil), w...), append([]float32(nil), acc...)
			o.UpdateRange(w, acc, g)
			adagradDense(&o, w2, acc2, g)
			for i := range n {
				if math.Float32bits(w[i]) != math.Float32bits(w2[i]) || math.Float32bits(acc[i]) != math.Float32bits(acc2[i]) {
					t.Fatalf("n=%d i=%d g=%g: UpdateRange w=%g acc=%g, adagradDense w=%g acc=%g", n, i, g[i], w[i], acc[i], w2[i], acc2[i])
				}
			}
		}
	}
}

func BenchmarkAdagradDense(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 1 << 20
	w, acc, g := randF32(rng, n), filled(n, 0.1), randF32(rng, n)
	o := AdaGrad{LearningRate: 0.05, InitialAccumulator: 0.1}
	for _, c := range []struct {
		name string
		fn   func()
	}{
		{"UpdateRange", func() { o.UpdateRange(w, acc, g) }},
		{"adagradDense", func() { adagradDense(&o, w, acc, g) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				c.fn()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/value")
		})
	}
}
