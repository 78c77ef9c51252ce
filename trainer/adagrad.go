package trainer

import "math"

// AdaGrad holds the deep part's optimizer settings:
//
//	acc += g² ; w -= lr * g / sqrt(acc)
//
// with acc starting at InitialAccumulator (0.1 as in TensorFlow).
type AdaGrad struct {
	LearningRate       float32
	InitialAccumulator float32
}

// Param is a dense parameter with its AdaGrad accumulator, same length.
type Param struct {
	W, Acc []float32
}

// Update applies AdaGrad to every coordinate of p with gradient g.
func (o *AdaGrad) Update(p *Param, g []float32) {
	o.UpdateRange(p.W, p.Acc, g)
}

// UpdateRange applies AdaGrad to w and acc with gradient g (same lengths);
// sparse updates call it on the rows a batch touched.
func (o *AdaGrad) UpdateRange(w, acc, g []float32) {
	lr := o.LearningRate
	w, acc = w[:len(g)], acc[:len(g)]
	for i, gi := range g {
		if gi == 0 {
			continue
		}
		a := acc[i] + gi*gi
		acc[i] = a
		w[i] -= lr * gi / float32(math.Sqrt(float64(a)))
	}
}
