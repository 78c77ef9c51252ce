package ingest

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
)

// restartKafka stops the broker that scripts/services.sh started (its pid
// file under WDSTREAM_SERVICES_DIR) with SIGTERM and starts it again with
// the same command line, directory and environment.
func restartKafka(t *testing.T, brokers []string) {
	t.Helper()
	dir := os.Getenv("WDSTREAM_SERVICES_DIR")
	if dir == "" {
		if testenv.InCI() {
			t.Fatal("WDSTREAM_SERVICES_DIR is not set: cannot restart the broker")
		}
		t.Skip("WDSTREAM_SERVICES_DIR is not set: cannot restart the broker (scripts/test.sh sets it)")
	}
	pidFile := filepath.Join(dir, "kafka", "pid")
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	proc := "/proc/" + strconv.Itoa(pid)
	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	environ, _ := os.ReadFile(proc + "/environ")
	cwd, _ := os.Readlink(proc + "/cwd")
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	var env []string
	for _, e := range bytes.Split(environ, []byte{0}) {
		if len(e) > 0 {
			env = append(env, string(e))
		}
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i := 0; syscall.Kill(pid, 0) == nil; i++ {
		if i > 300 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Log("broker stopped")
	time.Sleep(2 * time.Second) // the stage sees the broker gone
	logf, err := os.OpenFile(filepath.Join(dir, "kafka", "stdout.log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = cwd, env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Release()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := partitionCounts(ctx, newClient(brokers), "__consumer_offsets")
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker not back after 2 minutes: %v", err)
		}
		if c, err := net.DialTimeout("tcp", brokers[0], time.Second); err == nil {
			c.Close()
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Log("broker restarted")
}

// TestKafkaBrokerRestart restarts the broker while the join runs: the
// examples are still exactly the offline join's, without duplicates.
func TestKafkaBrokerRestart(t *testing.T) {
	brokers := testenv.RealKafka(t)
	evs := simEvents(t, scaled(80000))
	want := offlineLabels(t, evs, 30*time.Minute)
	tp := newTopics(t, "r")
	produceEvents(t, brokers, tp.imps, tp.ins, 4, evs)
	s, err := NewJoinStage(JoinConfig{Brokers: brokers, Group: tp.group, Impressions: tp.imps, Installs: tp.ins,
		Examples: tp.ex, DeadLetter: tp.dlq, Window: 30 * time.Minute, IdleAdvance: 2 * time.Second,
		FlushRecords: 2000, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitExamples(t, brokers, tp.ex, len(want)/16, time.Minute)
	before := countRecords(t, brokers, tp.ex)
	restartKafka(t, brokers)
	waitExamples(t, brokers, tp.ex, len(want), 3*time.Minute)
	time.Sleep(2 * time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := readExamples(t, brokers, tp.ex)
	if len(got.dups) > 0 {
		t.Fatalf("%d duplicates after the broker restart, e.g. %v", len(got.dups), head(got.dups))
	}
	compareLabels(t, got.labels, want)
	st := s.Stats()
	t.Logf("restart at %d of %d examples; partition restarts %d, suppressed re-emissions %d", before, len(want), st.Restarts, st.Suppressed)
}
