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

// UseBestBLAS makes gorgonia.org/tensor use OpenBLAS; main calls it once at
// start-up, before any training. OpenBLAS keeps its own thread count (as
// many as cores unless the machine's OPENBLAS_NUM_THREADS says otherwise):
// a Trainer then runs each of a large tower's products as one call on the
// whole batch, which OpenBLAS splits over its threads. With fewer BLAS
// threads than workers (SetBLASThreads(1)) the workers split the products
// instead; on a shared 2-core machine given its own scheduling group that
// reached 47% of the sgemm peak against 74% for OpenBLAS's threads
// (BenchmarkTrainStep, paper spec, batch 256).
func UseBestBLAS() { tensor.Use(netlib.Implementation{}) }

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

// threadedBLAS: OpenBLAS runs a product on its own threads (see blas.go).
const threadedBLAS = true
