//go:build openblas

package trainer

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
*/
import "C"

import (
	"sync"

	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/tensor"
)

// BLAS names the BLAS behind the dense layers: OpenBLAS through
// gonum.org/v1/netlib in this build (tag openblas). The trainer selects it
// itself (see useBuildBLAS); nothing else needs to.
func BLAS() string {
	useBuildBLAS()
	return "OpenBLAS (netlib cgo)"
}

// buildBLAS is the BLAS of this build's large towers (see mlp.blas).
var buildBLAS = netlib.Implementation{}

var buildBLASOnce sync.Once

// useBuildBLAS makes gorgonia.org/tensor use OpenBLAS, once per process.
// NewModel (and so DecodeWeights) and NewTrainer call it, so that every
// model's products run on OpenBLAS before its first step, whichever entry
// point made it. OpenBLAS keeps its own thread count (as many as cores
// unless the machine's OPENBLAS_NUM_THREADS says otherwise): a Trainer then
// runs each of a large tower's products as one call on the whole batch,
// which OpenBLAS splits over its threads. With fewer BLAS threads than
// workers (SetBLASThreads(1)) the workers split the products instead; on a
// shared 2-core machine given its own scheduling group that reached 47% of
// the sgemm peak against 74% for OpenBLAS's threads (BenchmarkTrainStep,
// paper spec, batch 256).
func useBuildBLAS() {
	buildBLASOnce.Do(func() { tensor.Use(buildBLAS) })
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

// threadedBLAS: OpenBLAS runs a product on its own threads (see blas.go).
const threadedBLAS = true
