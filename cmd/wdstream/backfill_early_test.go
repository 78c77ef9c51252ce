package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/publisher"
)

// TestBackfillEarlyStopping: a backfill of more than one epoch holds out
// the newest share of its training examples (model.early_stopping
// .validation), reports each epoch on it, and publishes the best epoch's
// model; the manifest counts the examples of the epochs run.
func TestBackfillEarlyStopping(t *testing.T) {
	world := smallWorld(t)
	dir := t.TempDir()
	_, stderr := run(t, "backfill", "--spec", playstoreSpec(t), "--store", "file://"+dir, "--model", "es",
		"--impressions", filepath.Join(world, "impressions", "*.parquet"), "--installs", filepath.Join(world, "installs", "*.parquet"),
		"--holdout", "0.2", "--warm-start", "none", "--epochs", "6", "--force", "--force-reason", "test")
	m := regexp.MustCompile(`early stopping: at most 6 epochs on (\d+) examples, each evaluated on the newest (\d+) \(patience 1\)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no early stopping line:\n%s", stderr)
	}
	trainN, valN := atoi(t, m[1]), atoi(t, m[2])
	if share := float64(valN) / float64(trainN+valN); share < 0.09 || share > 0.11 {
		t.Fatalf("validation %d of %d training examples: want the spec's default 0.1", valN, trainN+valN)
	}
	epochs := len(regexp.MustCompile(`backfill: epoch \d+: training log loss`).FindAllString(stderr, -1))
	k := regexp.MustCompile(`ran (\d+) of at most 6 epochs, kept epoch (\d+)`).FindStringSubmatch(stderr)
	if k == nil || atoi(t, k[1]) != epochs || atoi(t, k[2]) > epochs || !strings.Contains(stderr, "(best so far)") {
		t.Fatalf("%d epoch lines; summary %v:\n%s", epochs, k, stderr)
	}
	st, err := publisher.OpenStore(context.Background(), "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	latest, err := st.Latest(context.Background(), "es")
	if err != nil {
		t.Fatal(err)
	}
	man, err := st.Manifest(context.Background(), "es", latest)
	if err != nil {
		t.Fatal(err)
	}
	if man.Data.Examples != int64(epochs*trainN) {
		t.Fatalf("manifest: %d examples trained, want %d epochs x %d", man.Data.Examples, epochs, trainN)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
