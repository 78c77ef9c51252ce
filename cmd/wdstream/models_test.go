package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCode runs wdstream in-process and returns its exit code and output.
func runCode(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runMain(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestBackfillGateAndModels: backfill prints the gate's verdict; a
// candidate that fails a threshold exits non-zero, is not published and
// its report is listed; --force publishes it and says why; models lists,
// shows, pins, rolls back and records the history.
func TestBackfillGateAndModels(t *testing.T) {
	world := smallWorld(t)
	store := "file://" + t.TempDir()
	data := []string{"--impressions", filepath.Join(world, "impressions", "*.parquet"),
		"--installs", filepath.Join(world, "installs", "*.parquet"), "--holdout", "0.2"}
	spec := playstoreSpec(t)
	out, _ := run(t, append([]string{"backfill", "--spec", spec, "--store", store, "--model", "ps", "--warm-start", "none"}, data...)...)
	for _, want := range []string{"gate ps@v", ": passed", "PASS  min_auc", "SKIP  max_auc_drop", "dry_run_latency", "published ps@v"} {
		if !strings.Contains(out, want) {
			t.Fatalf("backfill output lacks %q:\n%s", want, out)
		}
	}

	// A spec whose AUC threshold no model of this world meets.
	raw, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	strict := filepath.Join(t.TempDir(), "strict.yaml")
	if err := os.WriteFile(strict, bytes.Replace(raw, []byte("min_auc: 0.55"), []byte("min_auc: 0.99"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCode(append([]string{"backfill", "--spec", strict, "--store", store, "--model", "ps"}, data...)...)
	if code == 0 || !strings.Contains(out, "FAIL  min_auc") || !strings.Contains(errOut, "rejected by the gate (min_auc") {
		t.Fatalf("strict backfill: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if code, _, errOut := runCode(append([]string{"backfill", "--spec", strict, "--store", store, "--model", "ps", "--force"}, data...)...); code != 2 || !strings.Contains(errOut, "--force-reason") {
		t.Fatalf("--force without a reason: exit %d, %s", code, errOut)
	}
	out, _ = run(t, append([]string{"backfill", "--spec", strict, "--store", store, "--model", "ps", "--force", "--force-reason", "threshold test"}, data...)...)
	if !strings.Contains(out, "forced") || !strings.Contains(out, "published ps@v") {
		t.Fatalf("forced backfill:\n%s", out)
	}

	list, _ := run(t, "models", "--store", store, "--model", "ps")
	t.Logf("\n%s", list)
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 4 || !strings.Contains(lines[2], "rejected") || !strings.Contains(lines[2], "failed: min_auc") ||
		!strings.Contains(lines[3], "forced") || !strings.Contains(lines[3], "LATEST") {
		t.Fatalf("models list:\n%s", list)
	}
	first := strings.Fields(lines[1])[0]
	out, _ = run(t, "models", "show", "ps@"+first, "--store", store)
	if !strings.Contains(out, "gate ps@"+first+": passed") || !strings.Contains(out, "weights.safetensors") {
		t.Fatalf("show:\n%s", out)
	}
	run(t, "models", "pin", "ps@"+first, "--store", store)
	out, _ = run(t, "models", "rollback", "ps", "--store", store, "--reason", "forced by mistake")
	if !strings.Contains(out, "-> "+first) {
		t.Fatalf("rollback: %s", out)
	}
	list, _ = run(t, "models", "--store", store, "--model", "ps")
	if !strings.Contains(list, first) || !strings.Contains(list, "LATEST pinned") {
		t.Fatalf("after rollback and pin:\n%s", list)
	}
	hist, _ := run(t, "models", "history", "ps", "--store", store)
	if !strings.Contains(hist, "rollback") || !strings.Contains(hist, "forced by mistake") || !strings.Contains(hist, "(forced): threshold test") {
		t.Fatalf("history:\n%s", hist)
	}
}
