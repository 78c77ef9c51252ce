// Package buildinfo describes the running wdstream binary: the module and
// its version, the VCS revision it was built from, the Go toolchain and the
// BLAS behind the trainer. Every published manifest records it (`build`),
// and `wdstream version` prints it.
//
// The VCS keys come from runtime/debug.ReadBuildInfo, which has them only
// for a binary that `go build` (or `go install`) stamped from a checkout:
// -buildvcs=auto, the default, stamps when the main module is in a
// repository and its VCS tool is installed. `go run`, `go test` binaries
// and builds with -buildvcs=false carry none; their values are Unknown,
// and the module version is "(devel)".
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/wdstream/wdstream/trainer"
)

// Unknown is the value of a key the binary does not record.
const Unknown = "unknown"

// The keys of Info.Map, in the order Info.Pairs lists them.
const (
	KeyModule        = "module"
	KeyModuleVersion = "module_version"
	KeyRevision      = "vcs_revision"
	KeyTime          = "vcs_time"
	KeyModified      = "vcs_modified"
	KeyGo            = "go"
	KeyBLAS          = "blas"
)

// Info is the description of a build. Every field is set: Unknown (or
// "(devel)" for ModuleVersion) when the binary does not record it.
type Info struct {
	Module        string `json:"module"`
	ModuleVersion string `json:"module_version"`
	// Revision is the VCS commit (git: the full hash).
	Revision string `json:"vcs_revision"`
	// Time is the commit's time, RFC 3339 in UTC.
	Time string `json:"vcs_time"`
	// Modified is "true" when the working tree had uncommitted changes,
	// "false" when it had none.
	Modified string `json:"vcs_modified"`
	Go       string `json:"go"`
	BLAS     string `json:"blas"`
}

// Read describes the running binary.
func Read() Info { return read() }

var read = sync.OnceValue(func() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return fromBuildInfo(bi, trainer.BLAS())
})

// fromBuildInfo describes the build bi records (nil: none) with the BLAS
// blas.
func fromBuildInfo(bi *debug.BuildInfo, blas string) Info {
	in := Info{Module: Unknown, ModuleVersion: "(devel)", Revision: Unknown, Time: Unknown, Modified: Unknown,
		Go: runtime.Version(), BLAS: blas}
	if bi == nil {
		return in
	}
	if bi.Main.Path != "" {
		in.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		in.ModuleVersion = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Value == "" {
			continue
		}
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value
		}
	}
	return in
}

// Pairs lists the keys and values in a fixed order (that of the Key
// constants).
func (in Info) Pairs() [][2]string {
	return [][2]string{
		{KeyModule, in.Module},
		{KeyModuleVersion, in.ModuleVersion},
		{KeyRevision, in.Revision},
		{KeyTime, in.Time},
		{KeyModified, in.Modified},
		{KeyGo, in.Go},
		{KeyBLAS, in.BLAS},
	}
}

// Map returns the keys and values as a manifest's build records them.
func (in Info) Map() map[string]string {
	m := make(map[string]string, 7)
	for _, kv := range in.Pairs() {
		m[kv[0]] = kv[1]
	}
	return m
}

// Manifest is Read().Map(): the build of the running binary, for a
// manifest's Build.
func Manifest() map[string]string { return Read().Map() }
