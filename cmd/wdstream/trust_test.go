package main

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/publisher"
)

// TestTrustTheStore (issue 14, items 7, 12, 13): one backfill into a
// file:// store, copied ungated under other model names and then damaged
// on disk, is shared by the subtests.
func TestTrustTheStore(t *testing.T) {
	bf := newBackfilled(t)
	storeDir, store, world := bf.dir, bf.url, bf.world
	publishAs := func(t *testing.T, model string, mutate func(*publisher.Bundle)) string {
		t.Helper()
		return bf.publishAs(t, model, mutate)
	}
	versionFile := bf.versionFile
	lineOf := func(t *testing.T, list, v string) string {
		t.Helper()
		for _, l := range strings.Split(list, "\n") {
			if strings.HasPrefix(l, v+" ") {
				return l
			}
		}
		t.Fatalf("no line for %s in:\n%s", v, list)
		return ""
	}

	// Item 7: a garbage manifest does not break the listing, and a LATEST
	// whose weights do not match the manifest is not listed as sound.
	t.Run("ModelsListsPastBadManifestsAndMarksCorruptLatest", func(t *testing.T) {
		v1 := publishAs(t, "mixed", nil)
		v2 := publishAs(t, "mixed", nil)
		v3 := publishAs(t, "mixed", nil)
		if err := os.WriteFile(versionFile("mixed", v1, publisher.ManifestFile), []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := os.ReadFile(versionFile("mixed", v3, publisher.WeightsFile))
		if err != nil {
			t.Fatal(err)
		}
		w[len(w)-3] ^= 0x40
		if err := os.WriteFile(versionFile("mixed", v3, publisher.WeightsFile), w, 0o644); err != nil {
			t.Fatal(err)
		}

		code, list, errOut := runCode("models", "--store", store, "--model", "mixed")
		t.Logf("\n%s%s", list, errOut)
		if code != 0 {
			t.Fatalf("models --model mixed: exit %d\n%s", code, errOut)
		}
		if l := lineOf(t, list, v1); !strings.Contains(l, "unreadable: ") || !strings.Contains(l, "not a valid manifest") {
			t.Errorf("garbage manifest's line: %q", l)
		}
		if l := lineOf(t, list, v2); strings.Contains(l, "corrupt") || strings.Contains(l, "unreadable") || strings.Contains(l, "verified") {
			t.Errorf("unchecked intact version's line: %q", l)
		}
		if l := lineOf(t, list, v3); !strings.Contains(l, "LATEST") || !strings.Contains(l, "corrupt: ") || !strings.Contains(l, publisher.WeightsFile) {
			t.Errorf("corrupt LATEST's line: %q", l)
		}
		if !strings.Contains(errOut, "LATEST names mixed@"+v3) {
			t.Errorf("stderr does not warn of the corrupt LATEST: %q", errOut)
		}

		// --verify checks every version; --json carries the status.
		code, js, errOut := runCode("models", "--store", store, "--model", "mixed", "--verify", "--json")
		if code != 0 {
			t.Fatalf("models --verify --json: exit %d\n%s", code, errOut)
		}
		var rows []struct{ Version, Status string }
		if err := json.Unmarshal([]byte(js), &rows); err != nil {
			t.Fatal(err)
		}
		status := map[string]string{}
		for _, r := range rows {
			status[r.Version] = r.Status
		}
		if !strings.HasPrefix(status[v1], "unreadable: ") || status[v2] != "verified" || !strings.HasPrefix(status[v3], "corrupt: ") {
			t.Errorf("statuses: %q", status)
		}

		// A model whose LATEST is garbage does not break the list of models.
		publishAs(t, "badlatest", nil)
		if err := os.WriteFile(filepath.Join(storeDir, "badlatest", publisher.LatestFile), []byte("../../etc\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, all, errOut := runCode("models", "--store", store)
		if code != 0 {
			t.Fatalf("models: exit %d\n%s", code, errOut)
		}
		if l := lineOf(t, all, "badlatest"); !strings.Contains(l, "unreadable LATEST") {
			t.Errorf("badlatest's line: %q", l)
		}
		if !strings.Contains(all, "mixed") || !strings.Contains(all, "ps ") {
			t.Errorf("models:\n%s", all)
		}
	})

	// Item 12: predict refuses a model whose scores are NaN, names it and
	// the first impression, and leaves --output alone.
	t.Run("PredictRefusesNonFiniteScores", func(t *testing.T) {
		v := publishAs(t, "nan", func(b *publisher.Bundle) { b.Model.Bias = float32(math.NaN()) })
		input := filepath.Join(world, "impressions", "day-002.parquet")
		outDir := t.TempDir()
		for _, out := range []string{"scores.csv", "scores.parquet"} {
			code, _, errOut := runCode("predict", "--store", store, "--model", "nan", "--input", input, "--output", filepath.Join(outDir, out))
			if code == 0 || !strings.Contains(errOut, "nan@"+v) || !strings.Contains(errOut, `gives impression "`) ||
				!strings.Contains(errOut, "not a finite number") {
				t.Fatalf("predict with NaN weights: exit %d\n%s", code, errOut)
			}
		}
		if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
			t.Fatalf("predict left %v in the output directory", ents)
		}
		// An existing output file keeps its bytes.
		old := filepath.Join(outDir, "old.csv")
		if err := os.WriteFile(old, []byte("impression_id,score\nx,0.5\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := runCode("predict", "--store", store, "--model", "nan@"+v, "--input", input, "--output", old); code == 0 {
			t.Fatal("predict with NaN weights exited 0")
		}
		if b, _ := os.ReadFile(old); string(b) != "impression_id,score\nx,0.5\n" {
			t.Fatalf("existing output changed: %q", b)
		}
		// Nothing goes to stdout either.
		if code, out, _ := runCode("predict", "--store", store, "--model", "nan", "--input", input, "--output", "-"); code == 0 || out != "" {
			t.Fatalf("predict --output -: exit %d, %d bytes on stdout", code, len(out))
		}
	})

	// Item 13: join refuses an --out that is one of its inputs.
	t.Run("JoinRefusesOutputThatIsAnInput", func(t *testing.T) {
		dir := t.TempDir()
		for _, sub := range []string{"impressions", "installs"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
			copyFile(t, filepath.Join(world, sub, "day-001.parquet"), filepath.Join(dir, sub, "day-001.parquet"))
		}
		imps := filepath.Join(dir, "impressions", "*.parquet")
		ins := "file://" + filepath.Join(dir, "installs", "day-001.parquet")
		insFile := filepath.Join(dir, "installs", "day-001.parquet")
		if err := os.Symlink(insFile, filepath.Join(dir, "link.parquet")); err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(insFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{
			filepath.Join(dir, "impressions", "day-001.parquet"),
			filepath.Join(dir, "impressions", "..", "installs", "day-001.parquet"),
			filepath.Join(dir, "link.parquet"),
		} {
			code, _, errOut := runCode("join", "--impressions", imps, "--installs", ins, "--out", out)
			if code != 2 || !strings.Contains(errOut, "is the input file") {
				t.Errorf("join --out %s: exit %d\n%s", out, code, errOut)
			}
		}
		if after, _ := os.ReadFile(insFile); string(after) != string(before) {
			t.Fatal("join overwrote its input")
		}
		run(t, "join", "--impressions", imps, "--installs", ins, "--out", filepath.Join(dir, "examples.parquet"))
	})
}

// TestModelNamesCheckedFirst (issue 14, item 13): every command that takes
// a model name refuses an unsafe one before any work, with exit 2.
func TestModelNamesCheckedFirst(t *testing.T) {
	store := "file://" + t.TempDir()
	missing := filepath.Join(t.TempDir(), "none-*.parquet")
	for _, name := range []string{"bad\nname", "-rf", "$(reboot)", "a b", ".hidden", strings.Repeat("a", 129), "ps;ls"} {
		cmds := [][]string{
			{"backfill", "--spec", "../../configs/playstore.yaml", "--store", store, "--model", name, "--examples", missing},
			{"predict", "--store", store, "--model", name, "--input", missing, "--output", "-"},
			{"eval", "--store", store, "--model", name, "--input", missing},
			{"models", "--store", store, "--model", name},
		}
		if !strings.HasPrefix(name, "-") { // a leading '-' is a flag to the parser
			cmds = append(cmds, []string{"models", "show", name + "@latest", "--store", store},
				[]string{"models", "history", name, "--store", store},
				[]string{"models", "pin", name + "@v1", "--store", store})
		}
		for _, args := range cmds {
			code, _, errOut := runCode(args...)
			if code != 2 || !strings.Contains(errOut, "invalid model name") {
				t.Errorf("%s %s --model %q: exit %d\n%s", args[0], args[1], name, code, errOut)
			}
		}
	}
}

// TestModelNameRule: the names in use pass the rule.
func TestModelNameRule(t *testing.T) {
	for _, ok := range []string{"ps", "playstore", "ps-2.v1_x", "A", strings.Repeat("a", 128), publisher.NewVersionName(time.Now())} {
		if err := checkModelName(ok); err != nil {
			t.Errorf("checkModelName(%q): %v", ok, err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
