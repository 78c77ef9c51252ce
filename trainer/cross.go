package trainer

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/tensor"
)

// crossNet is interaction cross's stack of DCN-V2 cross layers (Wang et
// al., 2021, "DCN V2", the stacked structure): over rows x0 of the tower's
// input (d values: the pooled embeddings, then the dense columns),
//
//	u_l     = x_l·W_l + b_l
//	x_{l+1} = x0 ⊙ u_l + x_l
//
// for l = 0..L-1, with x_0 = x0 and ⊙ the element-wise product; x_L feeds
// the tower. W_l is a full d x d matrix stored row-major [in][out] as the
// tower's weights are (x·W: the paper's W_l x_l is our W_l transposed), b_l
// a bias of d. With G = dL/dx_{l+1} (rows of d), the backward pass of layer
// l is
//
//	dU       = G ⊙ x0
//	dL/dW_l  = x_lᵀ·dU ;  dL/db_l = the column sums of dU
//	dL/dx_l  = G + dU·W_lᵀ
//	dL/dx0  += G ⊙ u_l   (x0's direct use in layer l)
//
// and x0's whole gradient is the sum of those direct terms plus dL/dx_0.
// W_l starts Glorot-uniform (±sqrt(6/(d+d))) from the model seed, b_l at
// zero (as TensorFlow Recommenders' Cross layer); both are trained with
// the tower's AdaGrad settings.
type crossNet struct {
	d          int
	w, b       [][]float32 // per layer: d*d ([in][out]) and d
	wAcc, bAcc [][]float32 // AdaGrad accumulators, same layout
}

func newCrossNet(d, layers int, acc0 float32, rng *rand.Rand) *crossNet {
	c := &crossNet{d: d}
	limit := math.Sqrt(6 / float64(2*d))
	for range layers {
		w := make([]float32, d*d)
		for i := range w {
			w[i] = float32((rng.Float64()*2 - 1) * limit)
		}
		c.w = append(c.w, w)
		c.b = append(c.b, make([]float32, d))
		c.wAcc = append(c.wAcc, filled(d*d, acc0))
		c.bAcc = append(c.bAcc, filled(d, acc0))
	}
	return c
}

// params is the number of weights and biases.
func (c *crossNet) params() int { return len(c.w) * (c.d*c.d + c.d) }

// flops is the FLOPs of one example's forward pass (the products; the
// element-wise passes are a few per value).
func (c *crossNet) flops() float64 { return 2 * float64(len(c.w)) * float64(c.d) * float64(c.d) }

// blas is the BLAS of c's products, chosen as the tower's (see mlp.blas).
func (c *crossNet) blas() blas.Float32 {
	if c.flops() < smallTowerFLOPs {
		return gonum.Implementation{}
	}
	return tensor.WhichBLAS()
}

// crossWork holds one worker's (or the whole batch's) cross activations and
// gradients for up to cap rows, reused across batches.
type crossWork struct {
	rows   int
	x      [][]float32 // x[l]: layer l's input (x[0] = x0, filled by gather), n x d
	u      [][]float32 // u[l] = x[l]·W_l + b_l
	du     []float32   // dL/du of the current layer
	dx0    []float32   // dL/dx0 after backward
	dW, dB [][]float32
	ones   []float32
	// par and ew split the products and the element-wise passes as
	// mlpWork's do.
	par, ew int
}

func (c *crossNet) newWork() *crossWork {
	cw := &crossWork{x: make([][]float32, len(c.w)), u: make([][]float32, len(c.w))}
	for range c.w {
		cw.dW = append(cw.dW, make([]float32, c.d*c.d))
		cw.dB = append(cw.dB, make([]float32, c.d))
	}
	return cw
}

// resize makes cw hold n rows.
func (c *crossNet) resize(cw *crossWork, n int) {
	cw.rows = n
	size := n * c.d
	grow := func(s []float32) []float32 {
		if cap(s) < size {
			return make([]float32, size)
		}
		return s[:size]
	}
	for l := range c.w {
		cw.x[l], cw.u[l] = grow(cw.x[l]), grow(cw.u[l])
	}
	cw.du, cw.dx0 = grow(cw.du), grow(cw.dx0)
	if len(cw.ones) < n {
		cw.ones = filled(n, 1)
	}
}

// parts is the number of row blocks of a product of n rows (as
// mlpWork.parts).
func (cw *crossWork) parts(n int) int { return max(1, min(cw.par, n/16)) }

// rowsSplit runs fn on ranges of the n rows over cw.ew goroutines (as
// mlpWork.rowsSplit).
func (cw *crossWork) rowsSplit(n, width int, fn func(lo, hi int)) {
	k := cw.ew
	if n*width < 1<<12 {
		k = 1
	}
	k = max(1, min(k, n))
	parallelN(k, func(i int) { fn(i*n/k, (i+1)*n/k) })
}

// forward runs the layers on cw.x[0] (n x d, filled by the caller) and
// writes x_L into out (n x d: the tower's input).
func (c *crossNet) forward(cw *crossWork, out []float32) {
	bl := c.blas()
	n, d := cw.rows, c.d
	k := cw.parts(n)
	x0 := cw.x[0]
	for l := range c.w {
		x, u, w, b := cw.x[l], cw.u[l], c.w[l], c.b[l]
		next := out
		if l+1 < len(c.w) {
			next = cw.x[l+1]
		}
		parallelN(k, func(i int) {
			if lo, hi := i*n/k, (i+1)*n/k; hi > lo {
				bl.Sgemm(blas.NoTrans, blas.NoTrans, hi-lo, d, d, 1, x[lo*d:], d, w, d, 0, u[lo*d:hi*d], d)
			}
		})
		cw.rowsSplit(n, d, func(lo, hi int) {
			crossAct(next[lo*d:hi*d], u[lo*d:hi*d], x0[lo*d:hi*d], x[lo*d:hi*d], b)
		})
	}
}

// crossAct adds b to every row of u (rows of len(b)) and sets
// next = x0 ⊙ u + x.
func crossAct(next, u, x0, x, b []float32) {
	d := len(b)
	for r := 0; r+d <= len(u); r += d {
		ur, nr, x0r, xr := u[r:r+d], next[r:r+d], x0[r:r+d], x[r:r+d]
		for j, v := range b {
			z := ur[j] + v
			ur[j] = z
			nr[j] = x0r[j]*z + xr[j]
		}
	}
}

// backward takes g, the gradient w.r.t. the output of the last forward (n x
// d; it is overwritten), fills cw.dW and cw.dB (overwriting) and leaves the
// gradient w.r.t. x0 in cw.dx0.
//
// Each layer's products run as cw.parts blocks in parallel, as the tower's
// do (mlp.backward): the block's rows of dW = xᵀ·dU, of g += dU·Wᵀ, and in
// the first block db; the element-wise passes over cw.ew goroutines.
func (c *crossNet) backward(cw *crossWork, g []float32) {
	bl := c.blas()
	n, d := cw.rows, c.d
	if n == 0 {
		for l := range c.w {
			clear(cw.dW[l])
			clear(cw.dB[l])
		}
		return
	}
	k := cw.parts(n)
	x0, du, dx0 := cw.x[0], cw.du, cw.dx0
	for l := len(c.w) - 1; l >= 0; l-- {
		x, u, w := cw.x[l], cw.u[l], c.w[l]
		first := l == len(c.w)-1
		cw.rowsSplit(n, d, func(lo, hi int) {
			crossGrad(du[lo*d:hi*d], dx0[lo*d:hi*d], g[lo*d:hi*d], x0[lo*d:hi*d], u[lo*d:hi*d], first)
		})
		dW, dB := cw.dW[l], cw.dB[l]
		parallelN(k, func(i int) {
			if i == 0 { // db = dUᵀ · 1
				bl.Sgemv(blas.Trans, n, d, 1, du, d, cw.ones[:n], 1, 0, dB, 1)
			}
			// rows lo..hi of dW = xᵀ · dU (d x d)
			if lo, hi := i*d/k, (i+1)*d/k; hi > lo {
				bl.Sgemm(blas.Trans, blas.NoTrans, hi-lo, d, n, 1, x[lo:], d, du, d, 0, dW[lo*d:hi*d], d)
			}
			// rows lo..hi of g = g + dU · Wᵀ (n x d)
			if lo, hi := i*n/k, (i+1)*n/k; hi > lo {
				bl.Sgemm(blas.NoTrans, blas.Trans, hi-lo, d, d, 1, du[lo*d:], d, w, d, 1, g[lo*d:hi*d], d)
			}
		})
	}
	cw.rowsSplit(n, d, func(lo, hi int) { addTo(dx0[lo*d:hi*d], g[lo*d:hi*d], 1) })
}

// crossGrad sets du = g ⊙ x0 and adds g ⊙ u to dx0 (sets it when first).
func crossGrad(du, dx0, g, x0, u []float32, first bool) {
	du, dx0, x0, u = du[:len(g)], dx0[:len(g)], x0[:len(g)], u[:len(g)]
	if first {
		clear(dx0)
	}
	for i, v := range g {
		du[i] = v * x0[i]
		dx0[i] += v * u[i]
	}
}
