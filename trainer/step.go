package trainer

import (
	"math"
	"sync"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas/spec"
)

// A step splits a batch into contiguous shards of rows, one per worker. Each
// worker runs the forward and backward pass of its rows with its own
// activations and gradient buffers; the gradients are then summed over the
// workers in worker order and applied once. The loss is the mean over the
// whole batch, so the summed gradient is exactly the full batch's gradient
// (only the order of float additions differs from a single worker, and it is
// fixed for a given worker count, so training is deterministic).

// sparseGrad accumulates gradients of rows of one table (width values per
// row) touched by a batch, without a map: mark[row] is 1 + the row's index
// in touched, reset after every step through touched.
type sparseGrad struct {
	width   int
	mark    []int32
	touched []int32
	g       []float32 // len(touched) * width
}

func (s *sparseGrad) grow(rows int) {
	if len(s.mark) < rows {
		s.mark = append(s.mark, make([]int32, rows-len(s.mark))...)
	}
}

// row returns the gradient slot of row r, creating it at zero.
func (s *sparseGrad) row(r int32) []float32 {
	k := s.mark[r]
	if k == 0 {
		s.touched = append(s.touched, r)
		k = int32(len(s.touched))
		s.mark[r] = k
		for range s.width {
			s.g = append(s.g, 0)
		}
	}
	return s.g[int(k-1)*s.width : int(k)*s.width]
}

func (s *sparseGrad) reset() {
	for _, r := range s.touched {
		s.mark[r] = 0
	}
	s.touched = s.touched[:0]
	s.g = s.g[:0]
}

// addInto adds s's gradients into dst (same table).
func (s *sparseGrad) addInto(dst *sparseGrad) {
	for i, r := range s.touched {
		d := dst.row(r)
		src := s.g[i*s.width : (i+1)*s.width]
		for j, v := range src {
			d[j] += v
		}
	}
}

// worker holds one shard's buffers, reused across steps.
type worker struct {
	lo, hi int
	wk     *mlpWork
	logit  []float32
	grad   []float32 // dLoss/dlogit per row
	wide   []sparseGrad
	emb    []sparseGrad
	bias   float32
	loss   float64
}

// Trainer runs training steps and predictions of a Model with a fixed number
// of workers (data-parallel shards of each batch).
type Trainer struct {
	M       *Model
	workers []*worker
}

// NewTrainer returns a Trainer with n workers (at least 1).
func NewTrainer(m *Model, n int) *Trainer {
	t := &Trainer{M: m}
	for range max(n, 1) {
		w := &worker{wide: make([]sparseGrad, len(m.Wide)), emb: make([]sparseGrad, len(m.Emb))}
		for k := range w.wide {
			w.wide[k].width = 1
		}
		for f := range w.emb {
			w.emb[f].width = m.Emb[f].Dim
		}
		if m.tower != nil {
			w.wk = m.tower.newWork()
		}
		t.workers = append(t.workers, w)
	}
	return t
}

// shard assigns rows to workers and sizes their buffers; small batches use
// fewer workers (at least 64 rows each) to keep goroutine overhead below the
// work.
func (t *Trainer) shard(n int) []*worker {
	k := min(len(t.workers), max(1, n/64))
	ws := t.workers[:k]
	for i, w := range ws {
		w.lo, w.hi = i*n/k, (i+1)*n/k
		rows := w.hi - w.lo
		if cap(w.logit) < rows {
			w.logit = make([]float32, rows)
			w.grad = make([]float32, rows)
		}
		w.logit, w.grad = w.logit[:rows], w.grad[:rows]
		if w.wk != nil {
			t.M.tower.resize(w.wk, rows)
		}
	}
	return ws
}

func parallel(ws []*worker, fn func(w *worker)) {
	if len(ws) == 1 {
		fn(ws[0])
		return
	}
	var wg sync.WaitGroup
	for _, w := range ws[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w)
		}()
	}
	fn(ws[0])
	wg.Wait()
}

// Predict writes the predicted probabilities of the batch's examples into
// dst (grown to b.N) and returns it. Ids the model has not grown to yet
// (a vocabulary that grew after training) read as zero rows.
func (t *Trainer) Predict(dst []float32, b *featurize.Batch) []float32 {
	t.M.growTo(b)
	ws := t.shard(b.N)
	parallel(ws, func(w *worker) { t.forward(w, b) })
	dst = dst[:0]
	for _, w := range ws {
		for _, z := range w.logit {
			dst = append(dst, sigmoid(z))
		}
	}
	return dst
}

// Step trains on one batch: forward, backward, and one optimizer update
// per parameter (FTRL for the wide tables, AdaGrad for the deep part and the
// bias). preds, when not nil, receives the probabilities predicted before
// the update (progressive validation). It returns the batch's mean log loss.
func (t *Trainer) Step(b *featurize.Batch, preds []float32) (float64, []float32) {
	m := t.M
	m.growTo(b)
	ws := t.shard(b.N)
	inv := 1 / float32(b.N)
	parallel(ws, func(w *worker) {
		t.forward(w, b)
		t.backward(w, b, inv)
	})
	var loss float64
	preds = preds[:0]
	for _, w := range ws {
		loss += w.loss
		for _, z := range w.logit {
			preds = append(preds, sigmoid(z))
		}
	}
	t.reduce(ws)
	t.update(ws[0])
	return loss / float64(b.N), preds
}

// forward computes w's rows' logits.
func (t *Trainer) forward(w *worker, b *featurize.Batch) {
	m := t.M
	clear(w.logit)
	if m.usesWide() {
		for i := w.lo; i < w.hi; i++ {
			var s float32
			for e := b.WideOffsets[i]; e < b.WideOffsets[i+1]; e++ {
				s += m.Wide[b.WideSlots[e]].W[b.WideIDs[e]] * b.WideValues[e]
			}
			w.logit[i-w.lo] = s
		}
	}
	if m.usesDeep() {
		x := w.wk.act[0]
		col := 0
		for f := range m.Emb {
			e := &m.Emb[f]
			d := &b.Deep[f]
			comb := m.Layout.Deep[f].Combiner
			for i := w.lo; i < w.hi; i++ {
				dst := x[(i-w.lo)*m.inDim+col : (i-w.lo)*m.inDim+col+e.Dim]
				if d.Offsets == nil {
					id := int(d.IDs[i])
					copy(dst, e.W[id*e.Dim:(id+1)*e.Dim])
					continue
				}
				clear(dst)
				ids := d.IDs[d.Offsets[i]:d.Offsets[i+1]]
				for _, id := range ids {
					row := e.W[int(id)*e.Dim : (int(id)+1)*e.Dim]
					for j, v := range row {
						dst[j] += v
					}
				}
				if s := poolScale(comb, len(ids)); s != 1 {
					for j := range dst {
						dst[j] *= s
					}
				}
			}
			col += e.Dim
		}
		if m.denseDim > 0 {
			for i := w.lo; i < w.hi; i++ {
				copy(x[(i-w.lo)*m.inDim+col:(i-w.lo+1)*m.inDim], b.Dense[i*m.denseDim:(i+1)*m.denseDim])
			}
		}
		out := m.tower.forward(w.wk)
		for r, v := range out {
			w.logit[r] += v
		}
	}
	for r := range w.logit {
		w.logit[r] += m.Bias
	}
}

// poolScale is the factor applied to the sum of n embeddings.
func poolScale(c spec.Combiner, n int) float32 {
	switch {
	case n == 0:
		return 1
	case c == spec.CombinerMean:
		return 1 / float32(n)
	case c == spec.CombinerSqrtN:
		return 1 / float32(math.Sqrt(float64(n)))
	}
	return 1
}

// backward fills w's gradients for the mean log loss over the batch (inv is
// 1/N of the whole batch).
func (t *Trainer) backward(w *worker, b *featurize.Batch, inv float32) {
	m := t.M
	w.loss, w.bias = 0, 0
	for r, z := range w.logit {
		y := b.Labels[w.lo+r]
		w.loss += logLoss(z, y)
		g := (sigmoid(z) - y) * inv
		w.grad[r] = g
		w.bias += g
	}
	if m.usesWide() {
		for k := range w.wide {
			w.wide[k].grow(m.Wide[k].Len())
		}
		for i := w.lo; i < w.hi; i++ {
			g := w.grad[i-w.lo]
			for e := b.WideOffsets[i]; e < b.WideOffsets[i+1]; e++ {
				w.wide[b.WideSlots[e]].row(b.WideIDs[e])[0] += g * b.WideValues[e]
			}
		}
	}
	if !m.usesDeep() {
		return
	}
	m.tower.backward(w.wk, w.grad)
	dx := w.wk.dAct[0]
	col := 0
	for f := range m.Emb {
		e := &m.Emb[f]
		d := &b.Deep[f]
		sg := &w.emb[f]
		sg.grow(e.Rows())
		comb := m.Layout.Deep[f].Combiner
		for i := w.lo; i < w.hi; i++ {
			src := dx[(i-w.lo)*m.inDim+col : (i-w.lo)*m.inDim+col+e.Dim]
			if d.Offsets == nil {
				addTo(sg.row(d.IDs[i]), src, 1)
				continue
			}
			ids := d.IDs[d.Offsets[i]:d.Offsets[i+1]]
			s := poolScale(comb, len(ids))
			for _, id := range ids {
				addTo(sg.row(id), src, s)
			}
		}
		col += e.Dim
	}
}

func addTo(dst, src []float32, s float32) {
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] += s * v
	}
}

// reduce sums the workers' gradients into the first worker's, in worker
// order.
func (t *Trainer) reduce(ws []*worker) {
	m := t.M
	w0 := ws[0]
	for _, w := range ws[1:] {
		w0.bias += w.bias
		for k := range w.wide {
			w.wide[k].addInto(&w0.wide[k])
			w.wide[k].reset()
		}
		for f := range w.emb {
			w.emb[f].addInto(&w0.emb[f])
			w.emb[f].reset()
		}
		if m.tower != nil {
			for l := range w.wk.dW {
				addTo(w0.wk.dW[l], w.wk.dW[l], 1)
				addTo(w0.wk.dB[l], w.wk.dB[l], 1)
			}
		}
	}
}

// update applies the summed gradients of w0 to every parameter once.
func (t *Trainer) update(w0 *worker) {
	m := t.M
	m.BiasAcc += w0.bias * w0.bias
	m.Bias -= m.ada.LearningRate * w0.bias / float32(math.Sqrt(float64(m.BiasAcc)))
	if m.usesWide() {
		for k := range w0.wide {
			sg := &w0.wide[k]
			for i, id := range sg.touched {
				m.ftrl.Update(&m.Wide[k], int(id), sg.g[i])
			}
			sg.reset()
		}
	}
	if m.usesDeep() {
		for f := range w0.emb {
			e := &m.Emb[f]
			sg := &w0.emb[f]
			for i, id := range sg.touched {
				lo, hi := int(id)*e.Dim, (int(id)+1)*e.Dim
				m.ada.UpdateRange(e.W[lo:hi], e.Acc[lo:hi], sg.g[i*e.Dim:(i+1)*e.Dim])
			}
			sg.reset()
		}
		tw := m.tower
		for l := range tw.w {
			m.ada.UpdateRange(f32(tw.w[l]), tw.wAcc[l], w0.wk.dW[l])
			m.ada.UpdateRange(f32(tw.b[l]), tw.bAcc[l], w0.wk.dB[l])
		}
	}
}

func sigmoid(z float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(z))))
}

// logLoss is the logistic loss of logit z for label y, computed stably.
func logLoss(z, y float32) float64 {
	zz := float64(z)
	// log(1+exp(z)) - y*z, with log1p(exp(-|z|)) + max(z,0)
	return math.Log1p(math.Exp(-math.Abs(zz))) + math.Max(zz, 0) - float64(y)*zz
}
