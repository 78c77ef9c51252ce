package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// RestartKafka stops the broker that scripts/services.sh started (its pid
// file under WDSTREAM_SERVICES_DIR) with SIGTERM, waits 2s so that its
// clients see it gone, starts it again with the same command line,
// directory and environment, and returns once brokers answer metadata
// requests again. Without WDSTREAM_SERVICES_DIR the test is skipped (it
// fails in CI).
//
// The broker is shared: a test that restarts it must have BrokerRestart in
// its name, so that scripts/test.sh runs it alone (-run BrokerRestart -p 1)
// and keeps it out of the step that runs every other test in parallel
// packages (-skip BrokerRestart).
func RestartKafka(tb testing.TB, brokers []string) {
	tb.Helper()
	if !strings.Contains(tb.Name(), "BrokerRestart") {
		tb.Fatalf("testenv.RestartKafka in %s: a test that restarts the shared broker must have BrokerRestart in its name (scripts/test.sh runs those alone)", tb.Name())
	}
	dir := os.Getenv("WDSTREAM_SERVICES_DIR")
	if dir == "" {
		if InCI() {
			tb.Fatal("WDSTREAM_SERVICES_DIR is not set: cannot restart the broker")
		}
		tb.Skip("WDSTREAM_SERVICES_DIR is not set: cannot restart the broker (scripts/test.sh sets it)")
	}
	pidFile := filepath.Join(dir, "kafka", "pid")
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		tb.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		tb.Fatalf("%s: %v", pidFile, err)
	}
	proc := "/proc/" + strconv.Itoa(pid)
	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		tb.Fatal(err)
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
		tb.Fatal(err)
	}
	for i := 0; syscall.Kill(pid, 0) == nil && !zombie(pid); i++ {
		if i == 300 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Log("broker stopped")
	time.Sleep(2 * time.Second)
	logf, err := os.OpenFile(filepath.Join(dir, "kafka", "stdout.log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = cwd, env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = cmd.Wait() }() // reaps it when a later restart stops it
	// A fresh connection each time: a kafka.Client's shared transport
	// answers metadata from its cache.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := brokerServes(ctx, brokers[0])
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("broker not back 2 minutes after its restart: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	tb.Log("broker restarted")
}

// zombie reports whether process pid has exited but was not reaped yet (a
// broker that an earlier RestartKafka of this process started).
func zombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// brokerServes checks on a new connection to addr that every partition of
// every topic has a leader again (__consumer_offsets among them, so
// consumer groups work): a restarted broker takes a while to lead the
// partitions of many topics.
func brokerServes(ctx context.Context, addr string) error {
	conn, err := kafka.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions()
	if err != nil {
		return err
	}
	offsets := false
	for _, p := range parts {
		if p.Leader.Host == "" || p.Error != nil {
			return fmt.Errorf("%s/%d has no leader yet", p.Topic, p.ID)
		}
		offsets = offsets || p.Topic == "__consumer_offsets"
	}
	if !offsets {
		return errors.New("__consumer_offsets is not there yet")
	}
	return nil
}
