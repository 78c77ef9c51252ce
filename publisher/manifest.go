package publisher

import (
	"time"

	"github.com/wdstream/wdstream/trainer"
)

// File names inside a version folder.
const (
	ManifestFile = "manifest.json"
	LatestFile   = "LATEST"
	WeightsFile  = "weights.safetensors"
	StateFile    = "features.wdfz"
	SpecFile     = "spec.yaml"
	// StatsFile holds the statistics of the examples the version trained
	// on (package drift), the reference of the gate's drift check. A
	// version published before they were kept has none.
	StatsFile = "stats.json"
)

// ManifestFormat is the version of the manifest's JSON layout.
const ManifestFormat = 1

// Manifest describes one published version; it is written last, so its
// presence means every file it lists is in place.
type Manifest struct {
	Format  int       `json:"format"`
	Model   string    `json:"model"`
	Version string    `json:"version"`
	Created time.Time `json:"created"`
	// Parent is the version this one was warm-started from ("" for a cold
	// start).
	Parent string `json:"parent,omitempty"`
	// Spec is the spec's name; the spec itself is the file spec.yaml.
	Spec   string `json:"spec"`
	Mode   string `json:"mode"`
	Params int    `json:"params"`
	// Files lists every other file of the version with its checksum.
	Files map[string]FileInfo `json:"files"`
	// Data is what the version was trained on.
	Data DataInfo `json:"data"`
	// Vocabularies are the sizes of its categorical features'
	// vocabularies and what their ttls evicted since the parent (absent
	// in versions published before they were recorded).
	Vocabularies []VocabInfo `json:"vocabularies,omitempty"`
	// Metrics are the candidate's metrics on held-out examples.
	Metrics *trainer.Metrics `json:"metrics,omitempty"`
	// Verdict is the gate's report on the version (nil when it was
	// published without the gate, by Publish).
	Verdict *Report `json:"verdict,omitempty"`
	// Forced is true when the version was published despite a failed gate;
	// ForceReason says why.
	Forced      bool   `json:"forced,omitempty"`
	ForceReason string `json:"force_reason,omitempty"`
	// Build describes the binary that trained the version, as
	// internal/buildinfo reads it (module and version, VCS revision, time
	// and modified, Go version, BLAS): `wdstream version` prints the same.
	Build map[string]string `json:"build,omitempty"`
}

// DataInfo records the data a version covers.
type DataInfo struct {
	// Examples trained on (counting every epoch once).
	Examples int64 `json:"examples"`
	// FromTS and ToTS bound the trained examples' event times (Unix ms).
	FromTS int64 `json:"from_ts"`
	ToTS   int64 `json:"to_ts"`
	// Inputs are the files (backfill) or topic partitions (service) read.
	Inputs []string `json:"inputs,omitempty"`
	// Offsets maps "topic/partition" to the next offset not trained on.
	Offsets map[string]int64 `json:"offsets,omitempty"`
}

// SetFiles records size and checksum of every file.
func (m *Manifest) SetFiles(files map[string][]byte) {
	m.Files = make(map[string]FileInfo, len(files))
	for n, b := range files {
		m.Files[n] = FileInfo{Size: int64(len(b)), SHA256: checksum(b)}
	}
}

// Ungated is the verdict of a version published without the gate
// (Publish, `backfill --no-gate`...): it has no gate report.
const Ungated = "ungated"

// GateVerdict says what the gate decided for the version: its report's
// verdict (passed, forced), or Ungated. Every listing (`wdstream models`,
// the status page) words versions with it.
func (m *Manifest) GateVerdict() string {
	if m.Verdict != nil {
		return m.Verdict.Verdict()
	}
	return Ungated
}
