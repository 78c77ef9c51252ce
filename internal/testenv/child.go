package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Child runs the test binary again as a helper process, with env added to
// the environment and args (e.g. -test.run=^TestX$) on its command line,
// and returns it with the first line it prints on stdout (its "ready").
// The process is killed and reaped when the test ends; a test that kills
// it earlier (Process.Kill, then Wait) may do so.
func Child(tb testing.TB, env []string, args ...string) (*exec.Cmd, string) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatalf("helper process %s: no first line: %v", strings.Join(cmd.Args, " "), err)
	}
	return cmd, strings.TrimSuffix(line, "\n")
}
