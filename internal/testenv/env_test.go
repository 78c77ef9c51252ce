package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestIsCI(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "0": false, "false": false, "FALSE": false, "no": false, " false ": false,
		"true": true, "1": true, "TRUE": true, "yes": true, "github": true,
	} {
		if got := isCI(v); got != want {
			t.Errorf("isCI(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestMissingMessage(t *testing.T) {
	msg, fail := missingMessage("real Kafka", EnvKafkaBrokers, false)
	if fail || !strings.Contains(msg, EnvKafkaBrokers) || !strings.Contains(msg, "not set") {
		t.Errorf("outside CI: fail=%v, %q; want a skip that names %s", fail, msg, EnvKafkaBrokers)
	}
	msg, fail = missingMessage("real Kafka", EnvKafkaBrokers, true)
	if !fail || !strings.Contains(msg, "required in CI") || !strings.Contains(msg, EnvKafkaBrokers) {
		t.Errorf("in CI: fail=%v, %q; want a failure that names %s", fail, msg, EnvKafkaBrokers)
	}
}

func TestSplitList(t *testing.T) {
	for in, want := range map[string][]string{
		"":                         nil,
		" , ,":                     nil,
		"127.0.0.1:19092":          {"127.0.0.1:19092"},
		" a:1 , b:2,,c:3 ":         {"a:1", "b:2", "c:3"},
		"localhost:9092,":          {"localhost:9092"},
		"[::1]:9092,127.0.0.1:909": {"[::1]:9092", "127.0.0.1:909"},
	} {
		if got := splitList(in); !slices.Equal(got, want) {
			t.Errorf("splitList(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckBucketURL(t *testing.T) {
	creds := func(k string) string {
		return map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"}[k]
	}
	none := func(string) string { return "" }
	tests := []struct {
		url    string
		getenv func(string) string
		errHas string // "" for no error
	}{
		{"s3://b?endpoint=http://127.0.0.1:19000&use_path_style=true&region=us-east-1", creds, ""},
		{"file:///tmp/bucket", none, ""},
		{"s3://b?endpoint=http://127.0.0.1:19000", none, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		{"/just/a/path", creds, "not a bucket URL"},
		{"s3://", creds, "not a bucket URL"},
		{"s3://b\x7f", creds, "invalid control character"},
	}
	for _, tt := range tests {
		err := checkBucketURL(tt.url, tt.getenv)
		switch {
		case tt.errHas == "" && err != nil:
			t.Errorf("checkBucketURL(%q): %v", tt.url, err)
		case tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)):
			t.Errorf("checkBucketURL(%q) = %v, want an error with %q", tt.url, err, tt.errHas)
		}
	}
}

func TestCheckExecutable(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	plain := filepath.Join(dir, "data")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkExecutable(exe); err != nil {
		t.Errorf("executable file: %v", err)
	}
	for _, p := range []string{plain, dir, filepath.Join(dir, "absent")} {
		if err := checkExecutable(p); err == nil {
			t.Errorf("checkExecutable(%s) = nil, want an error", p)
		}
	}
}

func TestUniqueName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	t.Run("sub/test with spaces:and*stars", func(t *testing.T) {
		a, b := UniqueName(t, "topic"), UniqueName(t, "topic")
		if a == b {
			t.Errorf("two calls gave the same name %q", a)
		}
		if !valid.MatchString(a) || !strings.HasPrefix(a, "topic-TestUniqueName_sub_test_with_spaces_and_stars-") {
			t.Errorf("UniqueName = %q: want the prefix and the test name with only [a-zA-Z0-9._-]", a)
		}
	})
	t.Run(strings.Repeat("x", 300), func(t *testing.T) {
		if n := UniqueName(t, "topic"); len(n) > 249 {
			t.Errorf("UniqueName is %d characters, over Kafka's 249", len(n))
		}
	})
}

// TestRealServiceRequiredInCI runs a test that asks for real Kafka in a
// child process without the variable: it must skip outside CI and fail in CI.
func TestRealServiceRequiredInCI(t *testing.T) {
	if os.Getenv("WDSTREAM_TESTENV_CHILD") == "1" {
		t.Skip("only the parent runs this")
	}
	for _, tt := range []struct {
		ci       string
		wantFail bool
		wantOut  string
	}{
		{"", false, "--- SKIP: TestChildNeedsRealKafka"},
		{"false", false, "--- SKIP: TestChildNeedsRealKafka"},
		{"true", true, "--- FAIL: TestChildNeedsRealKafka"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildNeedsRealKafka$", "-test.v")
		env := []string{"WDSTREAM_TESTENV_CHILD=1", "CI=" + tt.ci}
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			if k != EnvKafkaBrokers && k != EnvCI && k != "WDSTREAM_TESTENV_CHILD" {
				env = append(env, kv)
			}
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tt.wantFail {
			t.Errorf("CI=%q: child failed=%v (%v), want %v\n%s", tt.ci, failed, err, tt.wantFail, out)
		}
		if !strings.Contains(string(out), tt.wantOut) || !strings.Contains(string(out), EnvKafkaBrokers) {
			t.Errorf("CI=%q: child output lacks %q or the variable's name:\n%s", tt.ci, tt.wantOut, out)
		}
	}
}

func TestChildNeedsRealKafka(t *testing.T) {
	if os.Getenv("WDSTREAM_TESTENV_CHILD") != "1" {
		t.Skip("run by TestRealServiceRequiredInCI")
	}
	RealKafka(t)
	t.Fatal("RealKafka returned without the variable set")
}
