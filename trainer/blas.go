//go:build !openblas

package trainer

import (
	"runtime"

	"gonum.org/v1/gonum/blas/gonum"
)

// BLAS names the BLAS behind the dense layers: this build uses gonum's pure
// Go implementation, gorgonia.org/tensor's default. Build with
// `-tags openblas` (needs libopenblas-dev and cgo) for OpenBLAS.
func BLAS() string { return "gonum (pure Go)" }

// buildBLAS is the BLAS of this build's large towers (see mlp.blas).
var buildBLAS = gonum.Implementation{}

// useBuildBLAS selects the build's BLAS for gorgonia.org/tensor: in the
// pure Go build it keeps the default, which is that BLAS.
func useBuildBLAS() {}

// SetBLASThreads sets the number of threads of the BLAS's own
// multithreading and returns the previous number. gonum's sgemm splits
// large products over GOMAXPROCS goroutines and has no setting of its own,
// so in this build SetBLASThreads does nothing and returns GOMAXPROCS.
func SetBLASThreads(n int) int { return runtime.GOMAXPROCS(0) }

// BLASThreads is the number of threads of the BLAS's own multithreading:
// GOMAXPROCS in this build (see SetBLASThreads).
func BLASThreads() int { return runtime.GOMAXPROCS(0) }

// threadedBLAS tells whether the build's BLAS runs a product on threads of
// its own, so that a Trainer leaves the split of its large products to it
// (as many blocks as workers per BLAS thread). gonum's sgemm also splits
// large products over goroutines, but the Trainer's own split by rows was
// faster: the paper spec trained at 2,973 examples/s against 2,532 on 2
// cores (pure Go build, batch 256).
const threadedBLAS = false
