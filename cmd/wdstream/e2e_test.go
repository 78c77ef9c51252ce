package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/internal/buildinfo"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
)

// run runs wdstream in-process and fails the test on a non-zero exit.
func run(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("wdstream %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, errb.String())
	}
	return out.String(), errb.String()
}

// smallWorld simulates a small world into a temporary directory.
func smallWorld(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	run(t, "simulate", "--out", dir, "--seed", "3", "--users", "400", "--apps", "80", "--days", "2", "--impressions-per-day", "6000")
	return dir
}

// TestBackfillPredictAndPythonReadsTheWeights runs the first user path end
// to end (simulate, backfill from raw events, predict) and then has Python
// (safetensors + numpy, no wdstream code) recompute predictions from the
// published weights file: the format is readable outside Go, with each
// model.interaction (format 1 without, format 2 with dot or cross) and
// with negative sampling (format 3: the logit offset).
func TestBackfillPredictAndPythonReadsTheWeights(t *testing.T) {
	world := smallWorld(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"none", []string{"--interaction", "none"}},
		{"dot", []string{"--interaction", "dot"}},
		{"cross", []string{"--interaction", "cross"}},
		{"dot, negative sampling 0.3", []string{"--interaction", "dot", "--negative-sampling", "0.3"}},
	} {
		t.Run(tc.name, func(t *testing.T) { pythonScoresLikeGo(t, world, tc.args) })
	}
}

func pythonScoresLikeGo(t *testing.T, world string, args []string) {
	storeDir := t.TempDir()
	store := "file://" + storeDir
	out, _ := run(t, append([]string{"backfill", "--spec", playstoreSpec(t), "--store", store, "--model", "ps",
		"--impressions", filepath.Join(world, "impressions", "*.parquet"),
		"--installs", filepath.Join(world, "installs", "*.parquet"), "--holdout", "0.2", "--warm-start", "none",
		"--epochs", "1"}, args...)...)
	if !strings.Contains(out, "published ps@v") || !strings.Contains(out, "AUC") {
		t.Fatalf("backfill output: %q", out)
	}

	input := filepath.Join(world, "impressions", "day-002.parquet")
	csvPath := filepath.Join(t.TempDir(), "scores.csv")
	run(t, "predict", "--store", store, "--model", "ps@latest", "--input", input, "--output", csvPath)
	goScores := readScores(t, csvPath)

	ctx := context.Background()
	st, err := publisher.OpenStore(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, man, err := publisher.Load(ctx, st, "ps", "")
	if err != nil {
		t.Fatal(err)
	}
	checkBuild(t, "backfill", man.Build)
	if want := buildinfo.Read().Map(); !maps.Equal(man.Build, want) {
		t.Fatalf("backfill's manifest build %v, want this binary's %v", man.Build, want)
	}
	imps := readImpressions(t, input)
	if len(goScores) != len(imps) {
		t.Fatalf("predict wrote %d scores for %d impressions", len(goScores), len(imps))
	}
	exs := make([]schemas.Example, 40)
	for i := range exs {
		exs[i].Impression = imps[i*len(imps)/len(exs)]
	}
	inputs := featurizedInputs(t, b.State, exs, goScores)
	py := testenv.Python(t)
	inPath := filepath.Join(t.TempDir(), "inputs.json")
	if err := os.WriteFile(inPath, inputs, 0o644); err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(storeDir, "ps", "versions", man.Version, publisher.WeightsFile)
	cmd := exec.Command(py, "testdata/score_safetensors.py", weights, inPath, "1e-5")
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python check failed: %v\n%s", err, res)
	}
	t.Logf("python: %s", bytes.TrimSpace(res))
}

func readScores(t *testing.T, path string) map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || strings.Join(rows[0], ",") != "impression_id,score" {
		t.Fatalf("CSV header %v", rows[:1])
	}
	m := map[string]float64{}
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil || v < 0 || v > 1 {
			t.Fatalf("score %q of %s: %v", r[1], r[0], err)
		}
		m[r[0]] = v
	}
	return m
}

// featurizedInputs writes, per example, the ids and values the featurizer
// gives it plus Go's score, in the shape score_safetensors.py reads.
func featurizedInputs(t *testing.T, st *featurize.State, exs []schemas.Example, scores map[string]float64) []byte {
	t.Helper()
	var b featurize.Batch
	if err := st.Transform(&b, exs); err != nil {
		t.Fatal(err)
	}
	lay := st.Layout()
	type example struct {
		Wide  [][3]any           `json:"wide"`
		Deep  map[string][]int32 `json:"deep"`
		Dense []float32          `json:"dense"`
		Score float64            `json:"score"`
	}
	var doc struct {
		Examples []example `json:"examples"`
	}
	for i := range b.N {
		e := example{Deep: map[string][]int32{}, Score: scores[b.ImpressionIDs[i]]}
		for k := b.WideOffsets[i]; k < b.WideOffsets[i+1]; k++ {
			e.Wide = append(e.Wide, [3]any{lay.Wide[b.WideSlots[k]].Name, b.WideIDs[k], b.WideValues[k]})
		}
		for f, d := range b.Deep {
			if d.Offsets == nil {
				e.Deep[lay.Deep[f].Name] = []int32{d.IDs[i]}
			} else {
				e.Deep[lay.Deep[f].Name] = append([]int32{}, d.IDs[d.Offsets[i]:d.Offsets[i+1]]...)
			}
		}
		e.Dense = b.Dense[i*b.DenseDim : (i+1)*b.DenseDim]
		doc.Examples = append(doc.Examples, e)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
