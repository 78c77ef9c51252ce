package simulate

import (
	"math"
	"math/rand/v2"
	"sort"
)

// cdf samples an index in proportion to non-negative weights by binary
// search over their running sums.
type cdf []float64

// newCDF returns the sampler of weights (reusing dst's storage). A total of
// zero gives an empty sampler, for which sample returns -1.
func newCDF(dst cdf, weights []float64) cdf {
	dst = dst[:0]
	var sum float64
	for _, w := range weights {
		sum += w
		dst = append(dst, sum)
	}
	if sum <= 0 {
		return dst[:0]
	}
	return dst
}

func (c cdf) sample(rng *rand.Rand) int {
	if len(c) == 0 {
		return -1
	}
	x := rng.Float64() * c[len(c)-1]
	i := sort.SearchFloat64s(c, x)
	if i >= len(c) {
		i = len(c) - 1
	}
	// Skip zero-weight entries that share the running sum with a
	// predecessor (SearchFloat64s finds the first sum >= x).
	for i < len(c)-1 && c[i] <= x {
		i++
	}
	return i
}

// poisson draws from a Poisson distribution of mean lambda (Knuth's
// method; lambda is small here).
func poisson(rng *rand.Rand, lambda float64) int {
	l := math.Exp(-lambda)
	k, p := 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// sigmoid is the logistic function.
func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// gauss returns a normal draw with mean 0 and standard deviation sd.
func gauss(rng *rand.Rand, sd float64) float64 { return rng.NormFloat64() * sd }
