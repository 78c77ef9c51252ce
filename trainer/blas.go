//go:build !openblas

package trainer

// BLAS names the BLAS behind the dense layers: this build uses gonum's pure
// Go implementation, gorgonia.org/tensor's default. Build with
// `-tags openblas` (needs libopenblas-dev and cgo) for OpenBLAS.
func BLAS() string { return "gonum (pure Go)" }

// UseBestBLAS selects the build's BLAS for gorgonia.org/tensor; in the pure
// Go build it keeps the default. main calls it once at start-up.
func UseBestBLAS() {}
