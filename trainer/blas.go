//go:build !openblas

package trainer

import "runtime"

// BLAS names the BLAS behind the dense layers: this build uses gonum's pure
// Go implementation, gorgonia.org/tensor's default. Build with
// `-tags openblas` (needs libopenblas-dev and cgo) for OpenBLAS.
func BLAS() string { return "gonum (pure Go)" }

// UseBestBLAS selects the build's BLAS for gorgonia.org/tensor; in the pure
// Go build it keeps the default. main calls it once at start-up.
func UseBestBLAS() {}

// SetBLASThreads sets the number of threads of the BLAS's own
// multithreading and returns the previous number. gonum's sgemm splits
// large products over GOMAXPROCS goroutines and has no setting of its own,
// so in this build SetBLASThreads does nothing and returns GOMAXPROCS.
func SetBLASThreads(n int) int { return runtime.GOMAXPROCS(0) }

// BLASThreads is the number of threads of the BLAS's own multithreading:
// GOMAXPROCS in this build (see SetBLASThreads).
func BLASThreads() int { return runtime.GOMAXPROCS(0) }
