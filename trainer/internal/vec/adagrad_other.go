//go:build !amd64

package vec

// AdaGrad4 does nothing on this architecture and returns 0: the caller's
// scalar loop does every value (see adagrad_amd64.go).
func AdaGrad4(w, acc, g []float32, lr float32) int { return 0 }
