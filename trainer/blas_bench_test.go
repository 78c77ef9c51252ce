package trainer

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// BenchmarkSgemmPeak measures the machine's sgemm rate with the build's BLAS
// on square-ish products of the paper tower's size, the peak the dense
// layers' GFLOP/s are compared with.
func BenchmarkSgemmPeak(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{256, 1024, 1024}, {1024, 1024, 1024}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			a, bb, c := randF32(rng, s.m*s.k), randF32(rng, s.k*s.n), make([]float32, s.m*s.n)
			bl := buildBLAS
			b.ResetTimer()
			for range b.N {
				bl.Sgemm(blas.NoTrans, blas.NoTrans, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func randF32(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.Float64()*2 - 1)
	}
	return s
}
