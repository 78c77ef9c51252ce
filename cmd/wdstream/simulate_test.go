package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/simulate"
)

func TestSimulateCommand(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"simulate", "--out", dir, "--seed", "3", "--users", "300", "--apps", "50",
		"--days", "2", "--impressions-per-day", "3000", "--report"}
	if code := runMain(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
	}
	for _, f := range []string{"impressions/day-001.parquet", "impressions/day-002.parquet", "installs/day-001.parquet", "installs/day-002.parquet"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v (size %v)", f, err, st)
		}
	}
	out := stdout.String()
	for _, want := range []string{"wrote ", "6000 impressions", "base rate", "oracle AUC of the last day", "without pairs"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

// TestSimulateCommandLatentTaste checks that --latent-taste builds the
// latent world (another stream than the default's) and that the report
// names the no-taste AUC as the ceiling of a model that cannot infer taste.
func TestSimulateCommandLatentTaste(t *testing.T) {
	run := func(extra ...string) (string, []byte) {
		t.Helper()
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		args := append([]string{"simulate", "--out", dir, "--format", "jsonl", "--seed", "3", "--users", "300", "--apps", "50",
			"--days", "2", "--impressions-per-day", "3000", "--report"}, extra...)
		if code := runMain(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit code %d, stderr:\n%s", extra, code, stderr.String())
		}
		b, err := os.ReadFile(filepath.Join(dir, "impressions", "day-002.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		return stdout.String() + stderr.String(), b
	}
	out, latent := run("--latent-taste")
	for _, want := range []string{"latent taste", "no-taste AUC", "ceiling of a model that cannot infer taste"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if out, def := run(); bytes.Equal(latent, def) || !strings.Contains(out, "observable taste") {
		t.Errorf("--latent-taste left the world as it was (or the default run does not say observable taste):\n%s", out)
	}
}

func TestSimulateCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no out", []string{"simulate"}, 2, "--out or --brokers is required"},
		{"bad format", []string{"simulate", "--out", "x", "--format", "csv"}, 2, `--format "csv": want parquet or jsonl`},
		{"zero users", []string{"simulate", "--out", "x", "--users", "0"}, 2, "--users 0: must be positive"},
		{"bad window", []string{"simulate", "--out", "x", "--label-window", "-1m"}, 2, "--label-window -1m0s: must be positive"},
		{"bad new apps", []string{"simulate", "--out", "x", "--new-apps-per-day", "-4"}, 2, "--new-apps-per-day -4"},
		{"config", []string{"simulate", "--out", "x", "--apps", "5"}, 1, "apps is 5, must be at least 10"},
		{"through day without brokers", []string{"simulate", "--out", "x", "--through-day", "2"}, 2, "--through-day 2 needs --brokers"},
		{"through day past the world", []string{"simulate", "--brokers", "127.0.0.1:1", "--days", "3", "--through-day", "4"}, 2, "--through-day 4: want 1 to --days (3)"},
		{"through day negative", []string{"simulate", "--brokers", "127.0.0.1:1", "--through-day", "-1"}, 2, "--through-day -1: want 1 to --days (7)"},
		{"help", []string{"simulate", "--help"}, 0, "-impressions-per-day int"},
		{"help latent", []string{"simulate", "--help"}, 0, "-latent-taste"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			msg := stderr.String()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, msg)
			}
			if tc.code != 0 && strings.Count(strings.TrimSpace(msg), "\n") > 0 {
				t.Errorf("error is not one line:\n%s", msg)
			}
		})
	}
}

// TestSimulateThroughDay streams the first day of a 3-day world into the
// real broker: the topics hold that day's impressions and exactly the
// installs World.RunDays delivers for it (those it caused, up to the
// label window after it), not the later days'.
func TestSimulateThroughDay(t *testing.T) {
	brokers := testenv.RealKafka(t)
	tp := newServiceTopics(t, "thru")
	run(t, "simulate", "--brokers", strings.Join(brokers, ","), "--topic-impressions", tp.imps, "--topic-installs", tp.ins,
		"--partitions", "1", "--seed", "7", "--users", "500", "--apps", "200", "--days", "3", "--impressions-per-day", "4000", "--through-day", "1")
	w, err := simulate.NewWorld(simulate.Config{Seed: 7, Users: 500, Apps: 200, Days: 3, ImpressionsPerDay: 4000})
	if err != nil {
		t.Fatal(err)
	}
	var installs int64
	if _, err := w.RunDays(context.Background(), 1, func(ev simulate.Event) error {
		if ev.Install != nil {
			installs++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	gotImps, gotIns := topicEnd(t, brokers, tp.imps), topicEnd(t, brokers, tp.ins)
	if gotImps != 4000 || gotIns != installs || installs == 0 {
		t.Fatalf("--through-day 1 of 3: %d impressions and %d installs in the topics, want day 1's 4000 and its %d installs", gotImps, gotIns, installs)
	}
}
