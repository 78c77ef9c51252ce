package main

import (
	"encoding/json"
	"maps"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/buildinfo"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/trainer"
)

// buildKeys are the keys of a manifest's build and of `wdstream version`,
// in the order the command prints them.
var buildKeys = []string{"module", "module_version", "vcs_revision", "vcs_time", "vcs_modified", "go", "blas"}

// parseVersion reads `wdstream version`'s "key: value" lines, checking
// that they are buildKeys in order.
func parseVersion(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	m := map[string]string{}
	var keys []string
	for _, l := range lines {
		k, v, ok := strings.Cut(l, ": ")
		if !ok || v == "" {
			t.Fatalf("version line %q: want key: value\n%s", l, out)
		}
		keys = append(keys, k)
		m[k] = v
	}
	if !slices.Equal(keys, buildKeys) {
		t.Fatalf("version keys %v, want %v", keys, buildKeys)
	}
	return m
}

// checkBuild checks a manifest's build: every key, this module, a value
// for each (unknown when the binary does not record it).
func checkBuild(t *testing.T, what string, build map[string]string) {
	t.Helper()
	if !slices.Equal(slices.Sorted(maps.Keys(build)), slices.Sorted(slices.Values(buildKeys))) ||
		build["module"] != "github.com/wdstream/wdstream" || build["go"] != runtime.Version() || build["blas"] == "" ||
		build["vcs_revision"] == "" || build["vcs_modified"] == "" {
		t.Fatalf("%s: manifest build %v: want the keys %v of this module's build", what, build, buildKeys)
	}
}

// TestVersionCommand: in a go test binary (no VCS stamp) the command
// prints what is known and "unknown" / "(devel)" for the rest; --json
// gives the same keys and values.
func TestVersionCommand(t *testing.T) {
	out, _ := run(t, "version")
	m := parseVersion(t, out)
	want := map[string]string{
		"module": "github.com/wdstream/wdstream", "module_version": "(devel)",
		"vcs_revision": "unknown", "vcs_time": "unknown", "vcs_modified": "unknown",
		"go": runtime.Version(), "blas": trainer.BLAS(),
	}
	if !maps.Equal(m, want) {
		t.Fatalf("version printed %v, want %v", m, want)
	}
	js, _ := run(t, "version", "--json")
	var j map[string]string
	if err := json.Unmarshal([]byte(js), &j); err != nil {
		t.Fatalf("version --json: %v\n%s", err, js)
	}
	if !maps.Equal(j, want) {
		t.Fatalf("version --json %v, want %v", j, want)
	}
	if code, _, errOut := runCode("version", "--help"); code != 0 || !strings.Contains(errOut, "usage: wdstream version") || !strings.Contains(errOut, "-json") {
		t.Fatalf("version --help: exit %d\n%s", code, errOut)
	}
	if code, _, _ := runCode("version", "extra"); code != 2 {
		t.Fatalf("version with an argument: exit %d, want 2", code)
	}
	if code, _, errOut := runCode("--help"); code != 0 || !strings.Contains(errOut, "version") {
		t.Fatalf("wdstream --help lists no version command:\n%s", errOut)
	}
}

// TestVersionOfStampedBuild builds wdstream with -buildvcs=true in this git
// checkout (the test binary of testenv.Wdstream follows GOFLAGS, and
// machines may set -buildvcs=false) and checks that `wdstream version`
// prints the checkout's commit, its time, and the module version Go
// derives from it; the binary testenv.Wdstream builds prints the revision
// `go version -m` finds in it, or unknown.
func TestVersionOfStampedBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wdstream")
	}
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", args...).Output()
		return strings.TrimSpace(string(out)), err
	}
	before, err := git("rev-parse", "HEAD")
	if err != nil {
		t.Skipf("not a git checkout with a commit (git rev-parse HEAD: %v): nothing to stamp", err)
	}
	bin := filepath.Join(t.TempDir(), "wdstream")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "github.com/wdstream/wdstream/cmd/wdstream").CombinedOutput(); err != nil {
		t.Fatalf("go build -buildvcs=true: %v\n%s", err, out)
	}
	after, err := git("rev-parse", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("wdstream version: %v", err)
	}
	m := parseVersion(t, string(out))
	rev := m["vcs_revision"]
	if rev != before && rev != after { // HEAD may move while the test builds
		t.Fatalf("vcs_revision %s, want git rev-parse HEAD %s\n%s", rev, after, out)
	}
	ct, err := git("show", "-s", "--format=%ct", rev)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(sec, 0).UTC().Format(time.RFC3339); m["vcs_time"] != want {
		t.Errorf("vcs_time %s, want the commit time %s", m["vcs_time"], want)
	}
	switch m["vcs_modified"] {
	case "true":
		if !strings.HasSuffix(m["module_version"], "+dirty") {
			t.Errorf("module_version %s of a modified tree lacks +dirty", m["module_version"])
		}
	case "false":
	default:
		t.Errorf("vcs_modified %q, want true or false", m["vcs_modified"])
	}
	if m["module_version"] == "(devel)" || m["module"] != "github.com/wdstream/wdstream" || m["go"] != runtime.Version() {
		t.Errorf("module %s %s, go %s: want a version derived from the commit", m["module"], m["module_version"], m["go"])
	}

	t.Logf("stamped build:\n%s", out)

	// The shared test binary: whatever its build recorded, or unknown.
	shared := testenv.Wdstream(t)
	out, err = exec.Command(shared, "version").Output()
	if err != nil {
		t.Fatalf("wdstream version: %v", err)
	}
	got := parseVersion(t, string(out))["vcs_revision"]
	mod, err := exec.Command("go", "version", "-m", shared).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := buildinfo.Unknown
	for _, l := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision=") {
			want = strings.TrimPrefix(f[1], "vcs.revision=")
		}
	}
	if got != want {
		t.Errorf("testenv's wdstream prints vcs_revision %s, its build records %s", got, want)
	}
	t.Logf("testenv's build: vcs_revision %s", got)
}
