//go:build openblas

package trainer

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
*/
import "C"

import (
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/tensor"
)

// BLAS names the BLAS behind the dense layers: OpenBLAS through
// gonum.org/v1/netlib in this build (tag openblas).
func BLAS() string { return "OpenBLAS (netlib cgo)" }

// UseBestBLAS makes gorgonia.org/tensor use OpenBLAS with one thread; main
// calls it once at start-up, before any training. One thread, because a
// Trainer's workers split the large tower's products themselves (each
// block one single-threaded OpenBLAS call): then a Trainer's worker count
// is its thread count, two multithreaded calls never run at once, and on a
// shared 2-core machine this trained the paper spec 1.2 to 1.3 times as
// fast as one OpenBLAS call with 2 threads (BenchmarkTrainStep,
// tower=auto against tower=auto/blas=2). SetBLASThreads changes it.
func UseBestBLAS() {
	tensor.Use(netlib.Implementation{})
	SetBLASThreads(1)
}

// SetBLASThreads sets the number of OpenBLAS threads (process-wide,
// openblas_set_num_threads; n < 1 means 1) and returns the previous number.
// OpenBLAS starts with as many threads as cores unless the machine's
// OPENBLAS_NUM_THREADS says otherwise; this leaves the variable alone.
func SetBLASThreads(n int) int {
	old := int(C.openblas_get_num_threads())
	C.openblas_set_num_threads(C.int(max(n, 1)))
	return old
}

// BLASThreads is the number of OpenBLAS threads.
func BLASThreads() int { return int(C.openblas_get_num_threads()) }
