package procid

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

func TestSelfAndDead(t *testing.T) {
	if runtime.GOOS != "linux" {
		if Self() != "" || Dead("x") {
			t.Fatal("process ids are made only on Linux")
		}
		t.Skip("process ids need Linux's /proc")
	}
	self := Self()
	if strings.Count(self, ".") != 3 {
		t.Fatalf("Self() = %q, want BOOT.PIDNS.PID.START", self)
	}
	if Dead(self) {
		t.Fatalf("Dead(Self()) = true")
	}

	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := idOf(cmd.Process.Pid)
	if child == "" || Dead(child) {
		t.Fatalf("a running child: id %q, Dead %v", child, Dead(child))
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !Dead(child) {
		t.Fatalf("Dead(%q) = false after the child was killed and reaped", child)
	}

	// The same pid with another start time: the pid was reused.
	f := strings.Split(self, ".")
	if !Dead(strings.Join([]string{f[0], f[1], f[2], f[3] + "1"}, ".")) {
		t.Error("an id whose start time differs from the running pid's should be dead")
	}
	// Ids that cannot be judged from here are never dead.
	for _, id := range []string{
		"",
		"garbage",
		strings.Replace(self, f[0], strings.Repeat("0", len(f[0])), 1), // another boot
		strings.Replace(self, "."+f[1]+".", ".1.", 1),                  // another pid namespace
		f[0] + "." + f[1] + ".x.1",
		f[0] + "." + f[1] + ".-5.1",
		f[0] + "." + f[1] + "." + f[2],
	} {
		if Dead(id) {
			t.Errorf("Dead(%q) = true, want false", id)
		}
	}
}

func TestStartTimeParsesOddNames(t *testing.T) {
	dir := t.TempDir()
	old := proc
	proc = dir
	t.Cleanup(func() { proc = old })
	if err := os.MkdirAll(dir+"/42", 0o755); err != nil {
		t.Fatal(err)
	}
	// A command name holding ") (" and spaces; start time 987654 is field 22.
	stat := "42 (a) (b c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10\n"
	if err := os.WriteFile(dir+"/42/stat", []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, ok := startTime(42); !ok || got != "987654" {
		t.Fatalf("startTime = %q, %v; want 987654", got, ok)
	}
}
