package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/schemas/spec"
)

// tuneSpec is the playstore spec with the paper's cross in 2^16 buckets
// instead of 2^22: a trial drawing the x4 factor then allocates 3 MiB of
// FTRL state, not 200 MiB, and the tests stay fast on 2 cores.
func tuneSpec(t *testing.T) string {
	return serviceSpec(t, "hash_buckets: 4194304", "hash_buckets: 65536")
}

// TestTune runs the search end to end on a small simulated world: it
// prints a row per trial, writes a spec that loads, differs from the
// input only in the searched keys, holds the best trial's values and a
// header naming the search, and is no worse than the input spec on the
// validation split; the same seed prints the same table.
func TestTune(t *testing.T) {
	world := smallWorld(t)
	in := tuneSpec(t)
	dir := t.TempDir()
	args := func(out string) []string {
		return []string{"tune", "--spec", in, "--out", out,
			"--impressions", filepath.Join(world, "impressions", "*.parquet"), "--installs", filepath.Join(world, "installs", "*.parquet"),
			"--trials", "6", "--seed", "5", "--parallel", "1", "--workers", "1"}
	}
	out := filepath.Join(dir, "tuned.yaml")
	stdout, stderr := run(t, args(out)...)

	// One progress line per run: 6 at rung 0, 2 at rung 1 (+ trial 0).
	if n := strings.Count(stderr, "tune: rung 0/1, trial "); n != 6 {
		t.Fatalf("%d progress lines at rung 0, want 6:\n%s", n, stderr)
	}
	if n := strings.Count(stderr, "tune: rung 1/1, trial "); n < 2 || n > 3 {
		t.Fatalf("%d progress lines at rung 1, want 2 (and trial 0):\n%s", n, stderr)
	}
	rows := tableRows(stdout)
	if len(rows) != 6 || !strings.Contains(stdout, "every rung ran") {
		t.Fatalf("%d table rows, want 6:\n%s", len(rows), stdout)
	}
	bestLoss, baseLoss := lossOf(t, stdout, "best"), lossOf(t, stdout, "base")
	if bestLoss > baseLoss {
		t.Fatalf("best validation log loss %g above the input spec's %g", bestLoss, baseLoss)
	}

	tuned, err := spec.Load(out)
	if err != nil {
		t.Fatalf("the written spec does not load: %v", err)
	}
	orig, err := spec.Load(in)
	if err != nil {
		t.Fatal(err)
	}
	// The best row's values are the written spec's.
	var best []string
	for _, r := range rows {
		if strings.Contains(r[1], "best") {
			best = r
		}
	}
	if best == nil || best[2] != tuneFloat(tuned.Model.FTRL.Alpha) || best[6] != tuneFloat(tuned.Model.AdaGrad.LearningRate) || best[10] != tuneHidden(tuned.Model.Hidden) {
		t.Fatalf("best row %q, written model %+v", best, tuned.Model)
	}
	// Put the searched keys back: the rest is the input spec.
	back := *tuned
	back.Model.FTRL, back.Model.AdaGrad, back.Model.Epochs, back.Model.Hidden = orig.Model.FTRL, orig.Model.AdaGrad, orig.Model.Epochs, orig.Model.Hidden
	back.Model.Interaction, back.Model.CrossLayers = orig.Model.Interaction, orig.Model.CrossLayers
	back.Features = slices.Clone(tuned.Features)
	for i := range back.Features {
		back.Features[i].EmbeddingDim = orig.Features[i].EmbeddingDim
	}
	back.Crosses = slices.Clone(tuned.Crosses)
	for i := range back.Crosses {
		back.Crosses[i].HashBuckets = orig.Crosses[i].HashBuckets
	}
	if !reflect.DeepEqual(&back, orig) {
		t.Fatalf("the written spec changes more than the searched keys:\n%+v\ninput:\n%+v", back, *orig)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Written by wdstream tune on ", "# Command: wdstream tune --spec " + in + " --out " + out,
		"# Search: mode backfill, seed 5, eta 3, rungs of ", "# Validation: the newest 20% of the examples, 2400 examples",
		"# Best: trial ", "# Base: trial 0 (the input spec) at rung 1: validation AUC "} {
		if !strings.Contains(string(data), want) {
			t.Fatalf("the written spec has no %q:\n%s", want, data)
		}
	}

	again, _ := run(t, args(filepath.Join(dir, "again.yaml"))...)
	if a, b := maskTableTimes(stdout), maskTableTimes(again); a != b {
		t.Fatalf("the same seed printed another table:\n%s\n%s", a, b)
	}
}

// TestTuneBudget: a budget too short for any run stops at once, says so
// and writes nothing.
func TestTuneBudget(t *testing.T) {
	world := smallWorld(t)
	out := filepath.Join(t.TempDir(), "tuned.yaml")
	code, stdout, stderr := runCode("tune", "--spec", tuneSpec(t), "--out", out,
		"--impressions", filepath.Join(world, "impressions", "*.parquet"), "--installs", filepath.Join(world, "installs", "*.parquet"),
		"--trials", "9", "--budget", "1ns")
	if code != 1 || !strings.Contains(stdout, "the budget ran out during rung 0 (0 of its 9 runs finished)") ||
		!strings.Contains(stderr, "no trial finished within --budget 1ns: nothing written to "+out) {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("--out written: %v", err)
	}
}

// TestTuneFlags: bad input is refused before any work, naming the flag or
// the file at fault.
func TestTuneFlags(t *testing.T) {
	dir := t.TempDir()
	in := tuneSpec(t)
	exists := filepath.Join(dir, "exists.yaml")
	if err := os.WriteFile(exists, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	data := []string{"--examples", filepath.Join(dir, "none-*.parquet")}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--spec", in}, 2, "--spec and --out are required"},
		{[]string{"--spec", in, "--out", filepath.Join(dir, "o.yaml")}, 2, "give either --examples or both --impressions and --installs"},
		{append([]string{"--spec", in, "--out", filepath.Join(dir, "o.yaml"), "--validation", "0"}, data...), 2, "--validation 0: must be in (0, 0.9)"},
		{append([]string{"--spec", in, "--out", filepath.Join(dir, "o.yaml"), "--mode", "online"}, data...), 2, `--mode "online": want backfill or stream`},
		{append([]string{"--spec", in, "--out", filepath.Join(dir, "o.yaml"), "--eta", "1"}, data...), 2, "--eta 1: must be >= 2"},
		{append([]string{"--spec", in, "--out", in, "--force"}, data...), 1, "is the input --spec"},
		{append([]string{"--spec", in, "--out", link, "--force"}, data...), 1, "is the input --spec (a link to it)"},
		{append([]string{"--spec", in, "--out", exists}, data...), 1, "--out " + exists + " exists: pass --force to overwrite it"},
		{append([]string{"--spec", in, "--out", filepath.Join(dir, "no", "o.yaml")}, data...), 1, "does not exist"},
		{append([]string{"--spec", filepath.Join(dir, "missing.yaml"), "--out", filepath.Join(dir, "o.yaml")}, data...), 1, "missing.yaml"},
	} {
		code, _, stderr := runCode(append([]string{"tune"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("wdstream tune %s: exit %d, stderr:\n%s\nwant exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
		}
	}
	if b, _ := os.ReadFile(exists); string(b) != "keep me\n" {
		t.Fatalf("an existing --out was overwritten without --force")
	}
}

// tableRows returns the cells of the table's rows (not the header nor
// the separator).
func tableRows(out string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "|") || strings.HasPrefix(l, "| rung") || strings.HasPrefix(l, "| --") {
			continue
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

// lossOf reads the validation log loss of the "best:" or "base:" line.
func lossOf(t *testing.T, out, which string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + which + `: trial \d+ .*at rung \d+: validation AUC [0-9.]+, log loss ([0-9.]+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s line in:\n%s", which, out)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// maskTableTimes blanks the time column of the table and drops the
// "wrote FILE" line, keeping the rest of the output.
func maskTableTimes(out string) string {
	var lines []string
	col, width := -1, 0 // the time column in the table's rows, found by its header
	for _, l := range strings.Split(out, "\n") {
		cells := strings.Split(l, "|")
		if i := slices.IndexFunc(cells, func(c string) bool { return strings.TrimSpace(c) == "time" }); i > 0 {
			col, width = i, len(cells)
		}
		if col > 0 && len(cells) == width {
			cells[col] = "t"
			l = strings.Join(cells, "|")
		}
		if !strings.HasPrefix(l, "wrote ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

func tuneFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func tuneHidden(h []int) string {
	parts := make([]string, len(h))
	for i, n := range h {
		parts[i] = strconv.Itoa(n)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
