package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"help", []string{"simulate", "--help"}, 0, "-impressions-per-day int"},
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
