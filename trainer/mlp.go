package trainer

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gorgonia.org/tensor"
)

// mlp is the deep part's tower: ReLU layers then one linear output unit
// (whose bias is the model's shared bias, kept outside). Weights are
// row-major [in][out] float32 tensors; the matrix products go through the
// BLAS that gorgonia.org/tensor uses (pure Go gonum by default, OpenBLAS with
// the openblas build tag).
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
func (m *mlp) forward(wk *mlpWork) []float32 {
	bl := tensor.WhichBLAS()
	n := wk.rows
	for l := range m.w {
		in, out := m.sizes[l], m.sizes[l+1]
		x, z := wk.act[l], wk.act[l+1]
		b := f32(m.b[l])
		for r := 0; r < n; r++ {
			copy(z[r*out:(r+1)*out], b)
		}
		bl.Sgemm(blas.NoTrans, blas.NoTrans, n, out, in, 1, x, in, f32(m.w[l]), out, 1, z, out)
		if l != m.outIdx {
			for i, v := range z {
				if v < 0 {
					z[i] = 0
				}
			}
		}
	}
	return wk.act[len(m.sizes)-1]
}

// backward takes dOut (n gradients of the loss w.r.t. the output logits),
// fills wk.dW and wk.dB (overwriting), and leaves the gradient w.r.t. the
// input in wk.dAct[0]. It relies on the activations of the last forward.
func (m *mlp) backward(wk *mlpWork, dOut []float32) {
	bl := tensor.WhichBLAS()
	n := wk.rows
	last := len(m.sizes) - 1
	copy(wk.dAct[last], dOut)
	for l := m.outIdx; l >= 0; l-- {
		in, out := m.sizes[l], m.sizes[l+1]
		dz := wk.dAct[l+1]
		if l != m.outIdx {
			// ReLU: the stored activation is max(z,0); its gradient is 0 where it is 0.
			a := wk.act[l+1]
			for i, v := range a {
				if v <= 0 {
					dz[i] = 0
				}
			}
		}
		db := wk.dB[l]
		clear(db)
		for r := 0; r < n; r++ {
			row := dz[r*out : (r+1)*out]
			for j, v := range row {
				db[j] += v
			}
		}
		// dW = xᵀ · dz (in x out)
		bl.Sgemm(blas.Trans, blas.NoTrans, in, out, n, 1, wk.act[l], in, dz, out, 0, wk.dW[l], out)
		// dx = dz · Wᵀ (n x in)
		bl.Sgemm(blas.NoTrans, blas.Trans, n, in, out, 1, dz, out, f32(m.w[l]), out, 0, wk.dAct[l], in)
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
