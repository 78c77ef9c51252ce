package trainer

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// envBLASChild marks the child process of TestModelUsesBuildBLAS.
const envBLASChild = "WDSTREAM_TEST_BLAS_CHILD"

// TestModelUsesBuildBLAS checks that a model made without any explicit
// BLAS call runs its large tower on the build's BLAS (OpenBLAS in the
// openblas build, gonum's pure Go BLAS otherwise) and that BLAS() names
// it. The check runs in a fresh process (this test binary again), so that
// no other test's models have selected the BLAS before: the first NewModel
// of the process must do it.
func TestModelUsesBuildBLAS(t *testing.T) {
	if os.Getenv(envBLASChild) == "1" {
		checkModelUsesBuildBLAS(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestModelUsesBuildBLAS$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envBLASChild+"=1")
	out, err := cmd.CombinedOutput()
	cmdOut := string(out)
	if err != nil {
		t.Fatalf("child: %v\n%s", err, cmdOut)
	}
	// A child that ran nothing (a wrong -test.run) also exits 0.
	if !strings.Contains(cmdOut, "--- PASS: TestModelUsesBuildBLAS") || !strings.Contains(cmdOut, "first model made") {
		t.Fatalf("child did not run the check:\n%s", cmdOut)
	}
	t.Logf("child:\n%s", cmdOut)
}

func checkModelUsesBuildBLAS(t *testing.T) {
	want := fmt.Sprintf("%T", buildBLAS)
	t.Logf("before any model: gorgonia.org/tensor uses %T; the build's BLAS is %s", tensor.WhichBLAS(), want)
	exs := testExamples(rand.New(rand.NewPCG(5, 6)), 64)
	sp := testSpec(t, "wide_deep", "mean", "[512, 256]") // a tower above smallTowerFLOPs
	m, err := NewModel(sp, fitState(t, sp, exs).Layout())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first model made: gorgonia.org/tensor uses %T", tensor.WhichBLAS())
	if got := fmt.Sprintf("%T", tensor.WhichBLAS()); got != want {
		t.Errorf("after NewModel gorgonia.org/tensor uses %s, want the build's %s", got, want)
	}
	if m.tower.flops() < smallTowerFLOPs {
		t.Fatalf("tower of %d FLOPs runs on gonum in every build; the test needs a larger one", int(m.tower.flops()))
	}
	if got := fmt.Sprintf("%T", m.tower.blas()); got != want {
		t.Errorf("the model's tower runs on %s, want the build's %s", got, want)
	}
	names := map[string]string{"gonum.Implementation": "gonum (pure Go)", "netlib.Implementation": "OpenBLAS (netlib cgo)"}
	if BLAS() != names[want] {
		t.Errorf("BLAS() = %q, the tower runs on %s (%q)", BLAS(), want, names[want])
	}
}
