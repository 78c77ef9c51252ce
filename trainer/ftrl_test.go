package trainer

import (
	"math"
	"testing"
)

// TestFTRLMatchesReference replays the paper's per-coordinate update in
// float64 and compares.
func TestFTRLMatchesReference(t *testing.T) {
	o := FTRL{Alpha: 0.1, Beta: 1, L1: 0.05, L2: 0.01}
	var tab FTRLTable
	tab.Grow(1)
	var z, n, w float64
	for step, g := range []float64{0.5, -0.2, 0.3, 0.01, -0.7, 0.4} {
		sigma := (math.Sqrt(n+g*g) - math.Sqrt(n)) / 0.1
		z += g - sigma*w
		n += g * g
		if math.Abs(z) <= 0.05 {
			w = 0
		} else {
			w = -(z - math.Copysign(0.05, z)) / ((1+math.Sqrt(n))/0.1 + 0.01)
		}
		o.Update(&tab, 0, float32(g))
		if math.Abs(float64(tab.W[0])-w) > 1e-6 || math.Abs(float64(tab.Z[0])-z) > 1e-6 {
			t.Fatalf("step %d: got w=%g z=%g, want w=%g z=%g", step, tab.W[0], tab.Z[0], w, z)
		}
	}
	if tab.W[0] == 0 {
		t.Fatal("the replay never left the L1 dead zone; the test proves nothing")
	}
}

func TestFTRLL1KeepsSmallWeightsAtZero(t *testing.T) {
	o := FTRL{Alpha: 0.1, Beta: 1, L1: 10}
	var tab FTRLTable
	tab.Grow(3)
	for range 20 {
		o.Update(&tab, 1, 0.1)
	}
	if tab.W[1] != 0 {
		t.Fatalf("w = %g with |z| = %g <= l1: want 0", tab.W[1], tab.Z[1])
	}
	tab.Grow(5)
	if len(tab.W) != 5 || tab.Z[1] == 0 {
		t.Fatalf("grow lost state: len %d z %g", len(tab.W), tab.Z[1])
	}
}
