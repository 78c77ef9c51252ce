package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/wdstream/wdstream/trainer"
)

func TestFromBuildInfo(t *testing.T) {
	stamped := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Path:      "github.com/wdstream/wdstream/cmd/wdstream",
		Main:      debug.Module{Path: "github.com/wdstream/wdstream", Version: "v0.0.0-20261127115044-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "-buildmode", Value: "exe"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-27T11:50:44Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, c := range []struct {
		name string
		bi   *debug.BuildInfo
		want Info
	}{
		{"stamped", stamped, Info{Module: "github.com/wdstream/wdstream", ModuleVersion: "v0.0.0-20261127115044-0123456789ab+dirty",
			Revision: "0123456789abcdef0123456789abcdef01234567", Time: "2026-11-27T11:50:44Z", Modified: "true", Go: runtime.Version(), BLAS: "test BLAS"}},
		// go run, go test, -buildvcs=false: no vcs settings.
		{"unstamped", &debug.BuildInfo{Main: debug.Module{Path: "github.com/wdstream/wdstream", Version: "(devel)"}},
			Info{Module: "github.com/wdstream/wdstream", ModuleVersion: "(devel)", Revision: Unknown, Time: Unknown, Modified: Unknown, Go: runtime.Version(), BLAS: "test BLAS"}},
		{"no build info", nil, Info{Module: Unknown, ModuleVersion: "(devel)", Revision: Unknown, Time: Unknown, Modified: Unknown, Go: runtime.Version(), BLAS: "test BLAS"}},
	} {
		if got := fromBuildInfo(c.bi, "test BLAS"); got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestPairsAndMap(t *testing.T) {
	in := fromBuildInfo(nil, "b")
	in.Revision = "r"
	keys := []string{KeyModule, KeyModuleVersion, KeyRevision, KeyTime, KeyModified, KeyGo, KeyBLAS}
	pairs := in.Pairs()
	m := in.Map()
	if len(pairs) != len(keys) || len(m) != len(keys) {
		t.Fatalf("%d pairs, %d map entries, want %d", len(pairs), len(m), len(keys))
	}
	for i, k := range keys {
		if pairs[i][0] != k || m[k] != pairs[i][1] || m[k] == "" {
			t.Errorf("key %d: pair %v, map %q; want key %s with the same non-empty value", i, pairs[i], m[k], k)
		}
	}
	if m[KeyRevision] != "r" || m[KeyBLAS] != "b" {
		t.Errorf("map %v", m)
	}
	m[KeyGo] = "changed"
	if Manifest()[KeyGo] != runtime.Version() {
		t.Error("Manifest shares its map between calls")
	}
}

// TestReadInTestBinary: a go test binary has build info without VCS
// settings, so Read reports the module, "(devel)" and unknown revision.
func TestReadInTestBinary(t *testing.T) {
	in := Read()
	want := Info{Module: "github.com/wdstream/wdstream", ModuleVersion: "(devel)", Revision: Unknown, Time: Unknown, Modified: Unknown,
		Go: runtime.Version(), BLAS: trainer.BLAS()}
	if in != want {
		t.Fatalf("got %+v\nwant %+v", in, want)
	}
}
