package tmpdir

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/wdstream/wdstream/internal/testenv"
)

// TestMain lets the test binary play a wdstream process that owns a
// directory and is then killed (WDSTREAM_TMPDIR_CHILD=BASE).
func TestMain(m *testing.M) {
	if base := os.Getenv("WDSTREAM_TMPDIR_CHILD"); base != "" {
		dir, _, _, err := Own(base)
		if err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "checkpoint.bin.17a.tmp"), make([]byte, 1<<20), 0o600); err != nil {
			panic(err)
		}
		os.Stdout.WriteString(dir + "\n")
		select {} // until killed
	}
	os.Exit(m.Run())
}

func TestOwnRemovesTheDirectoriesOfKilledProcesses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("owners are known only on Linux (package procid)")
	}
	base := t.TempDir()
	killed, deadDir := testenv.Child(t, []string{"WDSTREAM_TMPDIR_CHILD=" + base})
	_, liveDir := testenv.Child(t, []string{"WDSTREAM_TMPDIR_CHILD=" + base})
	_ = killed.Process.Kill()
	_ = killed.Wait()
	// Something that is not a wdstream process's directory stays.
	other := filepath.Join(base, "wdstream-"+strconv.Itoa(os.Getuid()), "not-an-id")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}

	dir, removed, release, err := Own(base)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{deadDir}) {
		t.Fatalf("removed %q, want only the killed process's %q", removed, deadDir)
	}
	for _, d := range []string{liveDir, other, dir} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s: %v (it should stay)", d, err)
		}
	}
	if _, err := os.Stat(deadDir); !os.IsNotExist(err) {
		t.Errorf("%s still exists (err %v)", deadDir, err)
	}
	release()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("release left %s (err %v)", dir, err)
	}
}
