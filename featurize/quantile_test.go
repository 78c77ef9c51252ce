package featurize

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestKLLRankError checks every boundary's rank against the exact rank on
// several distributions, within 2% of n.
func TestKLLRankError(t *testing.T) {
	const n = 200_000
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		draw func() float64
	}{
		{"uniform", r.Float64},
		{"normal", r.NormFloat64},
		{"lognormal", func() float64 { return math.Exp(2 * r.NormFloat64()) }},
		{"sorted", func() float64 { return 0 }}, // replaced below by an increasing sequence
		{"few values", func() float64 { return float64(r.IntN(5)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newKLL(defaultKLLK)
			xs := make([]float64, n)
			for i := range xs {
				if tc.name == "sorted" {
					xs[i] = float64(i)
				} else {
					xs[i] = tc.draw()
				}
				s.add(xs[i])
			}
			slices.Sort(xs)
			const nq = 20
			b := s.boundaries(nil, nq)
			if len(b) == 0 || len(b) > nq-1 {
				t.Fatalf("%d boundaries, want 1..%d", len(b), nq-1)
			}
			for i := 1; i < len(b); i++ {
				if !(b[i] > b[i-1]) {
					t.Fatalf("boundaries not strictly increasing: %v", b)
				}
			}
			if tc.name == "few values" {
				return // point masses: ranks are not continuous
			}
			for j, x := range b {
				lo := sort.SearchFloat64s(xs, x)
				hi := sort.Search(len(xs), func(i int) bool { return xs[i] > x })
				want := float64(n) * float64(j+1) / nq
				var err float64
				switch {
				case want < float64(lo):
					err = float64(lo) - want
				case want > float64(hi):
					err = want - float64(hi)
				}
				if err/n > 0.02 {
					t.Errorf("boundary %d = %v has rank [%d,%d], want %v: error %.4f of n", j, x, lo, hi, want, err/n)
				}
			}
			if got := s.size; got > 4*defaultKLLK {
				t.Errorf("sketch holds %d items, want O(k)", got)
			}
		})
	}
}

func TestBucketOf(t *testing.T) {
	b := []float64{0, 10, 100}
	for _, tc := range []struct {
		x    float64
		want int
	}{
		{math.Inf(-1), 0}, {-1, 0}, {0, 0}, {0.5, 1}, {10, 1}, {10.1, 2}, {100, 2}, {101, 3}, {math.Inf(1), 3},
	} {
		if got := bucketOf(b, tc.x); got != tc.want {
			t.Errorf("bucketOf(%v) = %d, want %d", tc.x, got, tc.want)
		}
	}
	if got := bucketOf(nil, 5); got != 0 {
		t.Errorf("bucketOf(nil) = %d, want 0", got)
	}
}

func TestKLLEmpty(t *testing.T) {
	if b := newKLL(defaultKLLK).boundaries(nil, 10); len(b) != 0 {
		t.Errorf("empty sketch gave boundaries %v", b)
	}
}
