package publisher

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/wdstream/wdstream/drift"
	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer"
)

// Bundle is everything needed to score or continue training a model: the
// spec, the featurizer state (vocabularies, quantile boundaries) and the
// weights with their optimizer state; and the statistics of the examples
// it trained on.
type Bundle struct {
	Spec  *spec.Spec
	State *featurize.State
	Model *trainer.Model
	// Profile is the statistics of the examples the model trained on
	// (see package drift), written as StatsFile when set; nil for a
	// version published without them (before they were kept).
	Profile *drift.Profile
}

// Files serializes the bundle into a version's files.
func (b *Bundle) Files() (map[string][]byte, error) {
	sp, err := b.Spec.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding spec: %w", err)
	}
	var st bytes.Buffer
	if err := b.State.Encode(&st, featurize.EncodeOptions{FitState: true}); err != nil {
		return nil, fmt.Errorf("encoding featurizer state: %w", err)
	}
	w, err := b.Model.EncodeWeights()
	if err != nil {
		return nil, fmt.Errorf("encoding weights: %w", err)
	}
	files := map[string][]byte{SpecFile: sp, StateFile: st.Bytes(), WeightsFile: w}
	if b.Profile != nil {
		if files[StatsFile], err = b.Profile.Encode(); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// DecodeBundle rebuilds a bundle from a version's files.
func DecodeBundle(files map[string][]byte) (*Bundle, error) {
	for _, n := range []string{SpecFile, StateFile, WeightsFile} {
		if _, ok := files[n]; !ok {
			return nil, fmt.Errorf("missing file %s", n)
		}
	}
	// The process that trained the model checked its size against its own
	// budget (--max-model-bytes): a stored spec is held to the per-key
	// limits only.
	sp, err := spec.ParseWith(SpecFile, files[SpecFile], spec.LoadOptions{MaxModelBytes: -1})
	if err != nil {
		return nil, err
	}
	st, err := featurize.DecodeBytes(files[StateFile], sp, featurize.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", StateFile, err)
	}
	m, err := trainer.DecodeWeights(files[WeightsFile], sp, st.Layout())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", WeightsFile, err)
	}
	b := &Bundle{Spec: sp, State: st, Model: m}
	if raw, ok := files[StatsFile]; ok {
		if b.Profile, err = drift.Decode(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", StatsFile, err)
		}
	}
	return b, nil
}

// ParseRef splits "NAME" or "NAME@VERSION"; VERSION may be "latest".
func ParseRef(ref string) (model, version string, err error) {
	model, version, _ = strings.Cut(ref, "@")
	if err := validName("model", model); err != nil {
		return "", "", fmt.Errorf("model reference %q: %w", ref, err)
	}
	if version == "latest" {
		version = ""
	}
	return model, version, nil
}
