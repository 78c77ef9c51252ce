package trainer

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/tensor"
)

// mlp is the deep part's tower: ReLU layers then one linear output unit
// (whose bias is the model's shared bias, kept outside). Weights are
// row-major [in][out] float32 tensors; the matrix products go through the
// BLAS that gorgonia.org/tensor uses, which the trainer sets to the build's
// (pure Go gonum, OpenBLAS with the openblas build tag: useBuildBLAS).
type mlp struct {
	sizes  []int // input width, hidden widths..., 1
	w      []*tensor.Dense
	b      []*tensor.Dense
	wAcc   [][]float32 // AdaGrad accumulators of w, same layout
	bAcc   [][]float32
	outIdx int // index of the output layer (len(w)-1)
}

// newMLP builds a tower of input width in, the hidden widths, and one output
// unit, with Glorot-uniform weights and zero biases, accumulators at acc0.
func newMLP(in int, hidden []int, acc0 float32, rng *rand.Rand) *mlp {
	m := &mlp{sizes: append(append([]int{in}, hidden...), 1)}
	for l := 0; l+1 < len(m.sizes); l++ {
		fanIn, fanOut := m.sizes[l], m.sizes[l+1]
		w := make([]float32, fanIn*fanOut)
		limit := math.Sqrt(6 / float64(fanIn+fanOut))
		for i := range w {
			w[i] = float32((rng.Float64()*2 - 1) * limit)
		}
		m.w = append(m.w, tensor.New(tensor.WithShape(fanIn, fanOut), tensor.WithBacking(w)))
		m.b = append(m.b, tensor.New(tensor.WithShape(fanOut), tensor.WithBacking(make([]float32, fanOut))))
		m.wAcc = append(m.wAcc, filled(fanIn*fanOut, acc0))
		m.bAcc = append(m.bAcc, filled(fanOut, acc0))
	}
	m.outIdx = len(m.w) - 1
	return m
}

func filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func f32(t *tensor.Dense) []float32 { return t.Data().([]float32) }

// mlpWork holds one worker's activations and gradients for batches of up
// to cap rows; it is reused across batches.
type mlpWork struct {
	rows int
	act  [][]float32 // act[0] = input (n x in); act[l+1] = output of layer l
	dAct [][]float32 // gradient w.r.t. act[l]
	dW   [][]float32
	dB   [][]float32
	ones []float32 // at least rows ones, for the bias gradients' column sums
	// par is the number of blocks of every product (see forward and
	// backward), ew the number of goroutines of the element-wise passes;
	// 0 or 1 runs them on the caller's goroutine.
	par, ew int
}

func (m *mlp) newWork() *mlpWork {
	wk := &mlpWork{}
	for l := range m.w {
		wk.dW = append(wk.dW, make([]float32, len(f32(m.w[l]))))
		wk.dB = append(wk.dB, make([]float32, len(f32(m.b[l]))))
	}
	wk.act = make([][]float32, len(m.sizes))
	wk.dAct = make([][]float32, len(m.sizes))
	return wk
}

// resize makes wk hold n rows.
func (m *mlp) resize(wk *mlpWork, n int) {
	wk.rows = n
	for l, s := range m.sizes {
		if cap(wk.act[l]) < n*s {
			wk.act[l] = make([]float32, n*s)
			wk.dAct[l] = make([]float32, n*s)
		}
		wk.act[l] = wk.act[l][:n*s]
		wk.dAct[l] = wk.dAct[l][:n*s]
	}
}

// forward computes the tower on wk.act[0] (n x in, filled by the caller) and
// returns the n output logits (without the shared bias), aliasing wk.
//
// Each layer is one product z = x·W (with wk.par = k > 1: k products of
// blocks of rows in parallel, for a BLAS with fewer threads than the
// workers; the rows of a product do not depend on each other) and one
// element-wise pass z = relu(z + b) split over wk.ew goroutines.
func (m *mlp) forward(wk *mlpWork) []float32 {
	bl := m.blas()
	n := wk.rows
	k := wk.parts(n)
	for l := range m.w {
		in, out := m.sizes[l], m.sizes[l+1]
		x, z := wk.act[l], wk.act[l+1]
		b, w := f32(m.b[l]), f32(m.w[l])
		parallelN(k, func(i int) {
			if lo, hi := i*n/k, (i+1)*n/k; hi > lo {
				bl.Sgemm(blas.NoTrans, blas.NoTrans, hi-lo, out, in, 1, x[lo*in:], in, w, out, 0, z[lo*out:hi*out], out)
			}
		})
		hidden := l != m.outIdx
		wk.rowsSplit(n, out, func(lo, hi int) { biasAct(z[lo*out:hi*out], b, hidden) })
	}
	return wk.act[len(m.sizes)-1]
}

// smallTowerFLOPs: a tower below this many forward FLOPs per example
// runs on gonum's pure Go BLAS in every build. Its products are so small
// (the playstore spec's: 128 x 64 x 84 per worker) that a cgo call and
// OpenBLAS's thread hand-off cost more than they save; on 2 cores the
// OpenBLAS build trained the playstore spec at 60% of the pure Go build's
// speed before this.
const smallTowerFLOPs = 1 << 18

// blas is the BLAS of m's products: gorgonia.org/tensor's (the build's
// best, selected by NewModel and NewTrainer: useBuildBLAS), or gonum's for
// a small tower.
func (m *mlp) blas() blas.Float32 {
	if m.flops() < smallTowerFLOPs {
		return gonum.Implementation{}
	}
	return tensor.WhichBLAS()
}

// parts is the number of blocks of a product of n rows: wk.par, but at
// least 16 rows a block.
func (wk *mlpWork) parts(n int) int {
	return max(1, min(wk.par, n/16))
}

// rowsSplit runs fn on contiguous ranges of the n rows (width values each)
// over wk.ew goroutines; below 4096 values it runs fn(0, n) alone.
func (wk *mlpWork) rowsSplit(n, width int, fn func(lo, hi int)) {
	k := wk.ew
	if n*width < 1<<12 {
		k = 1
	}
	k = max(1, min(k, n))
	parallelN(k, func(i int) { fn(i*n/k, (i+1)*n/k) })
}

// biasAct adds b to every row of z (rows of len(b)) and, when relu is set,
// applies the ReLU.
func biasAct(z, b []float32, relu bool) {
	for r := 0; r+len(b) <= len(z); r += len(b) {
		row := z[r : r+len(b)]
		if !relu {
			for j, v := range b {
				row[j] += v
			}
			continue
		}
		for j, v := range b {
			row[j] = reluOf(row[j] + v)
		}
	}
}

// backward takes dOut (n gradients of the loss w.r.t. the output logits),
// fills wk.dW and wk.dB (overwriting), and leaves the gradient w.r.t. the
// input in wk.dAct[0]. It relies on the activations of the last forward.
//
// Each layer's products run as wk.parts blocks in parallel, each: its rows
// of the weight gradient dW = xᵀ·dz (the rows of dW are the columns of x,
// and every block sums over the whole batch, so no reduction follows), its
// rows of the input gradient dx = dz·Wᵀ, and, in the first block, the bias
// gradient; then the ReLU mask of the layer below is applied to dx (its
// dz) in an element-wise pass over wk.ew goroutines.
func (m *mlp) backward(wk *mlpWork, dOut []float32) {
	bl := m.blas()
	n := wk.rows
	k := wk.parts(n)
	last := len(m.sizes) - 1
	copy(wk.dAct[last], dOut)
	if len(wk.ones) < n {
		wk.ones = filled(n, 1)
	}
	for l := m.outIdx; l >= 0; l-- {
		in, out := m.sizes[l], m.sizes[l+1]
		// dz is the gradient w.r.t. layer l's pre-activation: its ReLU
		// mask was applied when it was computed (below, one layer up).
		dz, x, w := wk.dAct[l+1], wk.act[l], f32(m.w[l])
		dx, a := wk.dAct[l], wk.act[l]
		parallelN(k, func(i int) {
			if i == 0 { // db = dzᵀ · 1 (the column sums of dz)
				bl.Sgemv(blas.Trans, n, out, 1, dz, out, wk.ones[:n], 1, 0, wk.dB[l], 1)
			}
			// rows lo..hi of dW = xᵀ · dz (in x out)
			if lo, hi := i*in/k, (i+1)*in/k; hi > lo {
				bl.Sgemm(blas.Trans, blas.NoTrans, hi-lo, out, n, 1, x[lo:], in, dz, out, 0, wk.dW[l][lo*out:hi*out], out)
			}
			// rows lo..hi of dx = dz · Wᵀ (n x in)
			if lo, hi := i*n/k, (i+1)*n/k; hi > lo {
				bl.Sgemm(blas.NoTrans, blas.Trans, hi-lo, in, out, 1, dz[lo*out:], out, w, out, 0, dx[lo*in:hi*in], in)
			}
		})
		if l > 0 { // dx is the dz of the ReLU layer below
			wk.rowsSplit(n, in, func(lo, hi int) { reluMask(dx[lo*in:hi*in], a[lo*in:hi*in]) })
		}
	}
}

// reluOf is max(v, 0) without a branch (a branch per value mispredicts on
// about half of them: the signs of pre-activations are random): a value
// with its sign bit set becomes +0. Only -0 differs from the comparison
// "v < 0": it becomes +0, the same number.
func reluOf(v float32) float32 {
	b := math.Float32bits(v)
	return math.Float32frombits(b &^ uint32(int32(b)>>31))
}

// reluMask zeroes dz where the ReLU output a is not positive (v <= 0: the
// ReLU's gradient is 0 there), without branches.
func reluMask(dz, a []float32) {
	a = a[:len(dz)]
	for i, v := range a {
		// The sign bit of b|(b-1) is clear exactly when b, as an int32, is
		// in [1, 2³¹-1]: v is positive (or a NaN without sign), where the
		// comparison v <= 0 is false. keep is then all ones, else 0. (A NaN
		// with its sign bit set, which relu never outputs, also gives 0.)
		b := math.Float32bits(v)
		keep := ^uint32(int32(b|(b-1)) >> 31)
		dz[i] = math.Float32frombits(math.Float32bits(dz[i]) & keep)
	}
}

// flops is the multiply-adds of one example's forward pass times 2 (FLOPs);
// forward plus backward is about three times this.
func (m *mlp) flops() float64 {
	var f float64
	for l := 0; l+1 < len(m.sizes); l++ {
		f += 2 * float64(m.sizes[l]) * float64(m.sizes[l+1])
	}
	return f
}
