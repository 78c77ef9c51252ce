//go:build openblas

package trainer

/*
#cgo LDFLAGS: -lopenblas
*/
import "C"

import (
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/tensor"
)

// BLAS names the BLAS behind the dense layers: OpenBLAS through
// gonum.org/v1/netlib in this build (tag openblas).
func BLAS() string { return "OpenBLAS (netlib cgo)" }

// UseBestBLAS makes gorgonia.org/tensor use OpenBLAS; main calls it once at
// start-up, before any training.
func UseBestBLAS() { tensor.Use(netlib.Implementation{}) }
