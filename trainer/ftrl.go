package trainer

import "math"

// FTRL holds FTRL-Proximal hyper-parameters (McMahan et al., KDD 2013).
// Per coordinate i with gradient g, state z and n:
//
//	sigma = (sqrt(n + g²) - sqrt(n)) / alpha
//	z += g - sigma*w ; n += g²
//	w = 0                                                  if |z| <= l1
//	w = -(z - sign(z)*l1) / ((beta + sqrt(n))/alpha + l2)  otherwise
type FTRL struct {
	Alpha, Beta, L1, L2 float32
}

// FTRLTable is one growable wide weight table: the weights and their
// per-coordinate FTRL state. Row i of a table is the weight of id i of its
// slot. New rows start at zero (w = z = n = 0), which is FTRL's own start.
type FTRLTable struct {
	W, Z, N []float32
}

// Grow makes the table hold at least rows coordinates, keeping existing ones.
func (t *FTRLTable) Grow(rows int) { t.grow(rows, 0) }

// grow is Grow that reserves no capacity beyond limit rows (0: no limit).
func (t *FTRLTable) grow(rows, limit int) {
	if rows <= len(t.W) {
		return
	}
	t.W = growZero(t.W, rows, limit)
	t.Z = growZero(t.Z, rows, limit)
	t.N = growZero(t.N, rows, limit)
}

// Len is the number of coordinates.
func (t *FTRLTable) Len() int { return len(t.W) }

// Update applies one FTRL-Proximal step with gradient g to coordinate i.
func (o *FTRL) Update(t *FTRLTable, i int, g float32) {
	n := t.N[i]
	nn := n + g*g
	sqrtN := float32(math.Sqrt(float64(nn)))
	sigma := (sqrtN - float32(math.Sqrt(float64(n)))) / o.Alpha
	z := t.Z[i] + g - sigma*t.W[i]
	t.Z[i] = z
	t.N[i] = nn
	t.W[i] = o.weight(z, sqrtN)
}

// weight is the closed-form FTRL-Proximal weight for state z and sqrt(n).
func (o *FTRL) weight(z, sqrtN float32) float32 {
	if z <= o.L1 && z >= -o.L1 {
		return 0
	}
	sz := o.L1
	if z < 0 {
		sz = -o.L1
	}
	return -(z - sz) / ((o.Beta+sqrtN)/o.Alpha + o.L2)
}

// growZero returns s extended with zeros to length n, reusing capacity and
// growing geometrically so that streams of new rows amortize, but never
// reserving more than limit values when limit > 0 (the most a table can
// need: spec.ModelSize counts that, not twice it).
func growZero(s []float32, n, limit int) []float32 {
	if n <= cap(s) {
		old := len(s)
		s = s[:n]
		clear(s[old:])
		return s
	}
	c := max(n, 2*cap(s))
	if limit > 0 {
		c = max(n, min(c, limit))
	}
	ns := make([]float32, n, c)
	copy(ns, s)
	return ns
}
