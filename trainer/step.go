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
// row) touched by a batch, in the order first touched: row touched[i]'s
// gradient is g[i*width:(i+1)*width]. An open-addressing hash table (slots,
// linear probing, 1 + the index in touched, 0 for empty) finds a row's
// slot; it holds about two slots per touched row, so it stays in cache and
// takes no memory per row of the table (a table of 2^20 hashed crosses
// would otherwise need a 4 MiB index per worker).
type sparseGrad struct {
	width   int
	slots   []int32
	touched []int32
	g       []float32 // len(touched) * width
}

// row returns the gradient slot of row r, creating it at zero.
func (s *sparseGrad) row(r int32) []float32 {
	if 2*(len(s.touched)+1) > len(s.slots) {
		s.rehash(max(64, 2*len(s.slots)))
	}
	mask := uint32(len(s.slots) - 1)
	h := slotHash(r) & mask
	for {
		k := s.slots[h]
		if k == 0 {
			s.touched = append(s.touched, r)
			k = int32(len(s.touched))
			s.slots[h] = k
			s.g = append(s.g, make([]float32, s.width)...)
			return s.g[int(k-1)*s.width : int(k)*s.width]
		}
		if s.touched[k-1] == r {
			return s.g[int(k-1)*s.width : int(k)*s.width]
		}
		h = (h + 1) & mask
	}
}

// slotHash spreads row ids (often consecutive) over the table: Fibonacci
// hashing, the high bits of r times 2^32/phi, folded down.
func slotHash(r int32) uint32 {
	x := uint32(r) * 0x9e3779b1
	return x ^ x>>16
}

// rehash makes the table n slots (a power of two) and reinserts the
// touched rows.
func (s *sparseGrad) rehash(n int) {
	if cap(s.slots) >= n {
		s.slots = s.slots[:n]
		clear(s.slots)
	} else {
		s.slots = make([]int32, n)
	}
	mask := uint32(n - 1)
	for i, r := range s.touched {
		h := slotHash(r) & mask
		for s.slots[h] != 0 {
			h = (h + 1) & mask
		}
		s.slots[h] = int32(i + 1)
	}
}

func (s *sparseGrad) reset() {
	clear(s.slots)
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
	wk     *mlpWork  // per-shard tower buffers (sharded tower only)
	logit  []float32 // rows lo..hi of the Trainer's logits
	grad   []float32 // rows lo..hi of the Trainer's dLoss/dlogit
	wide   []sparseGrad
	emb    []sparseGrad
	bias   float32
	loss   float64

	cw *crossWork // per-shard cross layers' buffers (sharded tower, interaction cross)
}

// Trainer runs training steps and predictions of a Model with a fixed number
// of workers (data-parallel shards of each batch).
//
// The sparse parts (wide sums and gradients, embedding gathers and
// scatters) always run sharded over the workers. The tower runs in one of
// two ways, chosen by NewTrainer from its size: a small tower runs per
// shard inside each worker (its products are too small to gain from a
// parallel BLAS); a large one (at least wholeTowerFLOPs per example, the
// paper's 1024-512-256 tower) runs once on the whole batch. Its products
// are then split over the cores either by the BLAS itself (OpenBLAS with as
// many threads as workers, its default) or, when the BLAS has fewer
// threads than the Trainer has workers or runs in Go, by the workers (each
// product as blocks of rows, one BLAS call per block; see mlp.forward).
// Either way two multithreaded BLAS calls never run at once
// (oversubscription), the products stay as large as the batch, and the
// tower's gradients need no per-worker copy nor reduction. Both ways
// compute the same gradient; only the order of float additions differs,
// and it is fixed for a given model, worker count and BLAS thread count, so
// training stays deterministic. The interaction runs with the tower:
// interaction dot's products row by row in the sharded gather (and their
// gradients before the sharded scatter), interaction cross's layers per
// shard or on the whole batch as the tower does (their FLOPs count toward
// wholeTowerFLOPs).
type Trainer struct {
	M       *Model
	workers []*worker

	wholeTower  bool
	towerPar    int       // when > 0, the whole-batch tower's blocks (tests)
	whole       *mlpWork  // the whole batch's tower buffers (wholeTower)
	logit, grad []float32 // the whole batch's logits and dLoss/dlogit

	wholeCross *crossWork // the whole batch's cross layers' buffers (wholeTower, interaction cross)

	// SampledStep's buffers: the kept rows, their batch and predictions.
	rows         []int
	sampled      featurize.Batch
	sampledPreds []float32
}

// wholeTowerFLOPs is the forward FLOPs per example from which the tower runs
// on the whole batch (see Trainer). The playstore spec's tower (~15
// kFLOP) runs per shard, the paper's (~1.8 MFLOP) on the whole batch.
const wholeTowerFLOPs = 1 << 18

// NewTrainer returns a Trainer with n workers (at least 1), on the build's
// BLAS (see BLAS).
func NewTrainer(m *Model, n int) *Trainer {
	useBuildBLAS()
	t := &Trainer{M: m}
	for range max(n, 1) {
		w := &worker{wide: make([]sparseGrad, len(m.Wide)), emb: make([]sparseGrad, len(m.Emb))}
		for k := range w.wide {
			w.wide[k].width = 1
		}
		for f := range w.emb {
			w.emb[f].width = m.Emb[f].Dim
		}
		t.workers = append(t.workers, w)
	}
	t.setWholeTower(m.tower != nil && m.tower.flops()+m.interactionFLOPs() >= wholeTowerFLOPs)
	return t
}

// setWholeTower selects how the tower runs (see Trainer); tests and
// benchmarks force either way.
func (t *Trainer) setWholeTower(on bool) {
	t.wholeTower = on && t.M.tower != nil
	if t.wholeTower && t.whole == nil {
		t.whole = t.M.tower.newWork()
	}
	if t.wholeTower && t.M.cross != nil && t.wholeCross == nil {
		t.wholeCross = t.M.cross.newWork()
	}
}

// shard assigns rows to workers and sizes their buffers; small batches use
// fewer workers (at least 64 rows each) to keep goroutine overhead below the
// work.
func (t *Trainer) shard(n int) []*worker {
	if cap(t.logit) < n {
		t.logit = make([]float32, n)
		t.grad = make([]float32, n)
	}
	t.logit, t.grad = t.logit[:n], t.grad[:n]
	if t.wholeTower {
		t.M.tower.resize(t.whole, n)
		// The workers' goroutines split the products when the BLAS
		// would not use them all itself (see mlp.forward).
		t.whole.par = len(t.workers)
		if threadedBLAS {
			t.whole.par = max(1, len(t.workers)/BLASThreads())
		}
		if t.towerPar > 0 {
			t.whole.par = t.towerPar
		}
		t.whole.ew = len(t.workers)
		if c := t.M.cross; c != nil {
			c.resize(t.wholeCross, n)
			t.wholeCross.par, t.wholeCross.ew = t.whole.par, t.whole.ew
		}
	}
	k := min(len(t.workers), max(1, n/64))
	ws := t.workers[:k]
	for i, w := range ws {
		w.lo, w.hi = i*n/k, (i+1)*n/k
		w.logit, w.grad = t.logit[w.lo:w.hi], t.grad[w.lo:w.hi]
		if t.M.tower != nil && !t.wholeTower {
			if w.wk == nil {
				w.wk = t.M.tower.newWork()
			}
			t.M.tower.resize(w.wk, w.hi-w.lo)
			if c := t.M.cross; c != nil {
				if w.cw == nil {
					w.cw = c.newWork()
				}
				c.resize(w.cw, w.hi-w.lo)
			}
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

// Predict writes the predicted probabilities of the batch's examples,
// sigmoid(logit + Model.LogitOffset), into dst (grown to b.N) and returns
// it. Ids the model has not grown to yet (a vocabulary that grew after
// training) read as zero rows.
func (t *Trainer) Predict(dst []float32, b *featurize.Batch) []float32 {
	t.M.growTo(b)
	ws := t.shard(b.N)
	t.forwardAll(ws, b)
	return t.scores(dst)
}

// scores writes the probabilities of the logits in t.logit into dst, with
// the model's logit offset.
func (t *Trainer) scores(dst []float32) []float32 {
	dst = dst[:0]
	for _, z := range t.logit {
		dst = append(dst, sigmoid(z+t.M.LogitOffset))
	}
	return dst
}

// Step trains on one batch: forward, backward, and one optimizer update
// per parameter (FTRL for the wide tables, AdaGrad for the deep part and the
// bias). The loss and its gradients are those of the logit without
// Model.LogitOffset (the model learns the sample it is given). preds, when
// not nil, receives the probabilities predicted before the update
// (progressive validation), with the offset, as Predict gives them. It
// returns the batch's mean log loss.
func (t *Trainer) Step(b *featurize.Batch, preds []float32) (float64, []float32) {
	m := t.M
	m.growTo(b)
	ws := t.shard(b.N)
	inv := 1 / float32(b.N)
	if t.wholeTower {
		t.forwardAll(ws, b)
		t.backwardAll(ws, b, inv)
	} else {
		parallel(ws, func(w *worker) {
			t.forward(w, b)
			t.backward(w, b, inv)
		})
	}
	var loss float64
	for _, w := range ws {
		loss += w.loss
	}
	preds = t.scores(preds)
	t.reduce(ws)
	t.update(ws)
	return loss / float64(b.N), preds
}

// forwardAll computes the logits of the whole batch (shard by shard, or the
// sparse parts by shard and the tower on the whole batch).
func (t *Trainer) forwardAll(ws []*worker, b *featurize.Batch) {
	m := t.M
	if !t.wholeTower {
		parallel(ws, func(w *worker) { t.forward(w, b) })
		return
	}
	x := t.whole.act[0]
	if m.cross != nil {
		x = t.wholeCross.x[0]
	}
	parallel(ws, func(w *worker) { t.gather(w, b, x[w.lo*m.xDim:w.hi*m.xDim]) })
	if m.cross != nil {
		m.cross.forward(t.wholeCross, t.whole.act[0])
	}
	out := m.tower.forward(t.whole)
	for r, v := range out {
		t.logit[r] += v
	}
	for r := range t.logit {
		t.logit[r] += m.Bias
	}
}

// backwardAll fills the gradients of the whole batch after forwardAll with
// the whole-batch tower: the tower's in t.whole, the sparse ones in each
// worker's tables.
func (t *Trainer) backwardAll(ws []*worker, b *featurize.Batch, inv float32) {
	m := t.M
	for _, w := range ws {
		t.lossGrad(w, b, inv)
	}
	m.tower.backward(t.whole, t.grad)
	dx := t.whole.dAct[0]
	if m.cross != nil {
		m.cross.backward(t.wholeCross, dx)
		dx = t.wholeCross.dx0
	}
	x := t.whole.act[0]
	parallel(ws, func(w *worker) {
		t.wideGrad(w, b)
		lo, hi := w.lo*m.xDim, w.hi*m.xDim
		if m.pairs > 0 {
			m.dotBackward(x[lo:hi], dx[lo:hi])
		}
		t.embGrad(w, b, dx[lo:hi])
	})
}

// forward computes w's rows' logits with w's own tower buffers.
func (t *Trainer) forward(w *worker, b *featurize.Batch) {
	m := t.M
	var x []float32
	if m.usesDeep() {
		x = w.wk.act[0]
		if m.cross != nil {
			x = w.cw.x[0]
		}
	}
	t.gather(w, b, x)
	if m.usesDeep() {
		if m.cross != nil {
			m.cross.forward(w.cw, w.wk.act[0])
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

// gather sets w.logit to the wide part's sums of w's rows and, with a deep
// part, fills x (w's rows of the tower input, or of the cross layers' input
// x0: rows of m.xDim) with the pooled embeddings and the dense columns,
// then interaction dot's products.
func (t *Trainer) gather(w *worker, b *featurize.Batch, x []float32) {
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
	if !m.usesDeep() {
		return
	}
	col := 0
	for f := range m.Emb {
		e := &m.Emb[f]
		d := &b.Deep[f]
		comb := m.Layout.Deep[f].Combiner
		for i := w.lo; i < w.hi; i++ {
			dst := x[(i-w.lo)*m.xDim+col : (i-w.lo)*m.xDim+col+e.Dim]
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
			row := (i - w.lo) * m.xDim
			copy(x[row+col:row+m.inDim], b.Dense[i*m.denseDim:(i+1)*m.denseDim])
		}
	}
	if m.pairs > 0 {
		m.dotForward(x[:(w.hi-w.lo)*m.xDim])
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
// 1/N of the whole batch) with w's own tower buffers.
func (t *Trainer) backward(w *worker, b *featurize.Batch, inv float32) {
	m := t.M
	t.lossGrad(w, b, inv)
	t.wideGrad(w, b)
	if !m.usesDeep() {
		return
	}
	m.tower.backward(w.wk, w.grad)
	dx := w.wk.dAct[0]
	switch {
	case m.cross != nil:
		m.cross.backward(w.cw, dx)
		dx = w.cw.dx0
	case m.pairs > 0:
		m.dotBackward(w.wk.act[0], dx)
	}
	t.embGrad(w, b, dx)
}

// lossGrad sets w's loss, its dLoss/dlogit per row and its bias gradient.
func (t *Trainer) lossGrad(w *worker, b *featurize.Batch, inv float32) {
	w.loss, w.bias = 0, 0
	for r, z := range w.logit {
		y := b.Labels[w.lo+r]
		w.loss += logLoss(z, y)
		g := (sigmoid(z) - y) * inv
		w.grad[r] = g
		w.bias += g
	}
}

// wideGrad accumulates w's rows' wide gradients.
func (t *Trainer) wideGrad(w *worker, b *featurize.Batch) {
	m := t.M
	if !m.usesWide() {
		return
	}
	for i := w.lo; i < w.hi; i++ {
		g := w.grad[i-w.lo]
		for e := b.WideOffsets[i]; e < b.WideOffsets[i+1]; e++ {
			w.wide[b.WideSlots[e]].row(b.WideIDs[e])[0] += g * b.WideValues[e]
		}
	}
}

// embGrad accumulates w's rows' embedding gradients from dx, the gradient
// w.r.t. w's rows of the tower input (of x0 with interaction cross; rows of
// m.xDim, interaction dot's share already added).
func (t *Trainer) embGrad(w *worker, b *featurize.Batch, dx []float32) {
	m := t.M
	col := 0
	for f := range m.Emb {
		e := &m.Emb[f]
		d := &b.Deep[f]
		sg := &w.emb[f]
		comb := m.Layout.Deep[f].Combiner
		for i := w.lo; i < w.hi; i++ {
			src := dx[(i-w.lo)*m.xDim+col : (i-w.lo)*m.xDim+col+e.Dim]
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
// order (the tower's only when it ran per shard).
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
		if m.tower != nil && !t.wholeTower {
			for l := range w.wk.dW {
				addTo(w0.wk.dW[l], w.wk.dW[l], 1)
				addTo(w0.wk.dB[l], w.wk.dB[l], 1)
			}
			if m.cross != nil {
				for l := range w.cw.dW {
					addTo(w0.cw.dW[l], w.cw.dW[l], 1)
					addTo(w0.cw.dB[l], w.cw.dB[l], 1)
				}
			}
		}
	}
}

// towerGrads returns the tower's summed gradients after reduce.
func (t *Trainer) towerGrads(w0 *worker) *mlpWork {
	if t.wholeTower {
		return t.whole
	}
	return w0.wk
}

// crossGrads returns the cross layers' summed gradients after reduce.
func (t *Trainer) crossGrads(w0 *worker) *crossWork {
	if t.wholeTower {
		return t.wholeCross
	}
	return w0.cw
}

// update applies the summed gradients of ws[0] to every parameter once.
func (t *Trainer) update(ws []*worker) {
	m := t.M
	w0 := ws[0]
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
	if !m.usesDeep() {
		return
	}
	for f := range w0.emb {
		e := &m.Emb[f]
		sg := &w0.emb[f]
		for i, id := range sg.touched {
			lo, hi := int(id)*e.Dim, (int(id)+1)*e.Dim
			adagradDense(&m.ada, e.W[lo:hi], e.Acc[lo:hi], sg.g[i*e.Dim:(i+1)*e.Dim])
		}
		sg.reset()
	}
	// The tower's AdaGrad update costs a square root and a division per
	// weight: adagradDense does four at a time, and for a large tower the
	// update is split over all workers by ranges of each layer (every
	// coordinate's update is independent, so the result does not depend on
	// the split).
	tw, g := m.tower, t.towerGrads(w0)
	k := len(t.workers)
	if len(tw.w) > 0 && len(f32(tw.w[0])) < minParallelUpdate {
		k = 1
	}
	parallelN(k, func(i int) {
		for l := range tw.w {
			w := f32(tw.w[l])
			lo, hi := i*len(w)/k, (i+1)*len(w)/k
			adagradDense(&m.ada, w[lo:hi], tw.wAcc[l][lo:hi], g.dW[l][lo:hi])
			if i == 0 {
				adagradDense(&m.ada, f32(tw.b[l]), tw.bAcc[l], g.dB[l])
			}
		}
	})
	if c := m.cross; c != nil {
		cg := t.crossGrads(w0)
		k := len(t.workers)
		if len(c.w[0]) < minParallelUpdate {
			k = 1
		}
		parallelN(k, func(i int) {
			for l := range c.w {
				lo, hi := i*len(c.w[l])/k, (i+1)*len(c.w[l])/k
				adagradDense(&m.ada, c.w[l][lo:hi], c.wAcc[l][lo:hi], cg.dW[l][lo:hi])
				if i == 0 {
					adagradDense(&m.ada, c.b[l], c.bAcc[l], cg.dB[l])
				}
			}
		})
	}
}

// minParallelUpdate is the size of the tower's first weight matrix from
// which its AdaGrad update is split over the workers.
const minParallelUpdate = 1 << 15

// parallelN runs fn(0..k-1), fn(0) on the calling goroutine.
func parallelN(k int, fn func(i int)) {
	if k <= 1 {
		fn(0)
		return
	}
	var wg sync.WaitGroup
	for i := 1; i < k; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	fn(0)
	wg.Wait()
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
