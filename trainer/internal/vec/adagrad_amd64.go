package vec

//go:noescape
func adagradSSE(w, acc, grad *float32, n int, lr float32)

// AdaGrad4 applies AdaGrad with learning rate lr to the first len(g) &^ 3
// values of w and acc (at least as long as g) and returns how many it did:
// where g[i] != 0, acc[i] += g[i]*g[i] and w[i] -= lr*g[i]/sqrt(acc[i]),
// the IEEE single-precision operations of the scalar loop in the same
// order, four values at a time (SSE, which every amd64 CPU has).
func AdaGrad4(w, acc, g []float32, lr float32) int {
	n := len(g) &^ 3
	if n == 0 {
		return 0
	}
	w, acc = w[:n], acc[:n]
	adagradSSE(&w[0], &acc[0], &g[0], n, lr)
	return n
}
