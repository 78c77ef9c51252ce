package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var wdstreamBin struct {
	once sync.Once
	path string
	err  error
}

// Wdstream builds the wdstream command once per test process and returns
// the binary's path, for tests that run it as a separate process (to kill
// it, or to check its exit code). The binary stays in a temporary folder
// for the life of the process.
func Wdstream(tb testing.TB) string {
	tb.Helper()
	b := &wdstreamBin
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "wdstream-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "wdstream")
		if out, err := exec.Command("go", "build", "-o", b.path, "github.com/wdstream/wdstream/cmd/wdstream").CombinedOutput(); err != nil {
			b.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if b.err != nil {
		tb.Fatalf("testenv: building wdstream: %v", b.err)
	}
	return b.path
}
