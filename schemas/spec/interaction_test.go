package spec

import (
	"bytes"
	"strings"
	"testing"
)

// ixBase has three deep categorical features of embedding_dim 4 (a list
// among them) and a deep numeric one; cases append model keys (line 8 on).
const ixBase = `version: 1
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 4}
  - {name: country, type: categorical, embedding_dim: 4}
  - {name: installed_apps, type: categorical_list, embedding_dim: 4}
  - {name: rating, type: numeric}
model:
`

func TestInteractionDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, model string
		ix          Interaction
		layers      int
	}{
		{"absent", "  hidden: [8]\n", InteractionNone, 0},
		{"none", "  interaction: none\n", InteractionNone, 0},
		{"dot", "  interaction: dot\n", InteractionDot, 0},
		{"cross default layers", "  interaction: cross\n", InteractionCross, DefaultCrossLayers},
		{"cross 3 layers", "  interaction: cross\n  cross_layers: 3\n", InteractionCross, 3},
		{"cross 8 layers", "  interaction: cross\n  cross_layers: 8\n", InteractionCross, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("x.yaml", []byte(ixBase+tc.model))
			if err != nil {
				t.Fatal(err)
			}
			if s.Model.Interaction != tc.ix || s.Model.CrossLayers != tc.layers {
				t.Errorf("interaction %q, cross_layers %d; want %q, %d", s.Model.Interaction, s.Model.CrossLayers, tc.ix, tc.layers)
			}
		})
	}
	// A Model built in Go: unset reads as none, 0 layers as the default.
	var m Model
	if m.Interaction.OrNone() != InteractionNone || m.CrossLayerCount() != DefaultCrossLayers {
		t.Errorf("zero Model: interaction %q, %d cross layers", m.Interaction.OrNone(), m.CrossLayerCount())
	}
}

func TestInteractionErrors(t *testing.T) {
	const file = "configs/x.yaml"
	mixed := strings.Replace(ixBase, "name: country, type: categorical, embedding_dim: 4", "name: country, type: categorical, embedding_dim: 8", 1)
	// No two features of one dim: no dot product to take.
	unpaired := strings.Replace(mixed, "name: installed_apps, type: categorical_list, embedding_dim: 4", "name: installed_apps, type: categorical_list, embedding_dim: 2", 1)
	for _, tc := range []struct {
		name, yaml string
		want       wantErr
	}{
		{"unknown", ixBase + "  interaction: crosss\n", wantErr{8, "model.interaction", `unknown interaction "crosss": want one of none, dot, cross; did you mean "cross"?`}},
		{"cross_layers without cross", ixBase + "  cross_layers: 3\n", wantErr{8, "model.cross_layers", "applies only to interaction cross, and model.interaction is none"}},
		{"cross_layers with dot", ixBase + "  interaction: dot\n  cross_layers: 3\n", wantErr{9, "model.cross_layers", "applies only to interaction cross, and model.interaction is dot"}},
		{"cross_layers 0", ixBase + "  interaction: cross\n  cross_layers: 0\n", wantErr{9, "model.cross_layers", "must be in [1, 8], got 0"}},
		{"cross_layers 9", ixBase + "  interaction: cross\n  cross_layers: 9\n", wantErr{9, "model.cross_layers", "must be in [1, 8], got 9"}},
		{"dot without two features of one dim", unpaired + "  interaction: dot\n", wantErr{8, "model.interaction",
			"interaction dot takes dot products of pairs of deep categorical features with the same embedding_dim (a dot product takes two vectors of one size), and the spec has no such pair (3 feature(s): app_id 4, country 8, installed_apps 2)"}},
		{"dot of one embedding", "version: 1\nfeatures:\n  - {name: app_id, type: categorical, wide: true}\n  - {name: rating, type: numeric}\nmodel:\n  interaction: dot\n",
			wantErr{6, "model.interaction", "and the spec has no such pair (1 feature(s): app_id 8)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(file, []byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse accepted %+v", s.Model)
			}
			got := specErrors(t, err)
			if len(got) != 1 || !hasError(got, file, tc.want) {
				t.Errorf("got %v\nwant one error %s:%d: %s: ...%s...", err, file, tc.want.line, tc.want.path, tc.want.msg)
			}
		})
	}
	// The checks hold in mode wide too (the deep part is then unused), so
	// that a spec valid in one mode is valid in all.
	if _, err := ParseWith(file, []byte(unpaired+"  interaction: dot\n"), LoadOptions{Mode: ModeWide}); err == nil {
		t.Error("dot without a pair accepted in mode wide")
	}
	// Mixed dims: the pairs of one dim (app_id, installed_apps) are taken.
	if s, err := Parse(file, []byte(mixed+"  interaction: dot\n")); err != nil || DotPairs(s.embeddedDims()) != 1 {
		t.Errorf("dot of mixed dims: %v", err)
	}
	// Features that are not deep, or numeric, take no part in dot.
	notDeep := strings.Replace(mixed, "embedding_dim: 8", "embedding_dim: 8, deep: false, wide: true", 1)
	if _, err := Parse(file, []byte(notDeep+"  interaction: dot\n")); err != nil {
		t.Errorf("dot over the deep features only: %v", err)
	}
}

// A spec without interaction marshals as before the key existed (no
// interaction key, so builds that predate it read it), also when it says
// none explicitly; dot and cross are written and read back unchanged.
func TestInteractionMarshal(t *testing.T) {
	for _, tc := range []struct {
		model string
		want  []string // lines Marshal must write, "" for none
	}{
		{"  hidden: [8]\n", nil},
		{"  interaction: none\n", nil},
		{"  interaction: dot\n", []string{"  interaction: dot\n"}},
		{"  interaction: cross\n", []string{"  interaction: cross\n  cross_layers: 2\n"}},
		{"  cross_layers: 5\n  interaction: cross\n", []string{"  hidden: [64, 32]\n  interaction: cross\n  cross_layers: 5\n  batch_size: 256\n"}},
	} {
		t.Run(strings.TrimSpace(tc.model), func(t *testing.T) {
			s, err := Parse("x.yaml", []byte(ixBase+tc.model))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := marshalRoundTrip(t, s)
			if tc.want == nil && (bytes.Contains(out, []byte("interaction")) || bytes.Contains(out, []byte("cross_layers"))) {
				t.Errorf("interaction none written:\n%s", out)
			}
			for _, w := range tc.want {
				if !bytes.Contains(out, []byte(w)) {
					t.Errorf("marshaled spec lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// The size counts interaction dot's wider first tower layer and the cross
// layers, charged to model.cross_layers (the trainer's size test checks
// both against a built model's allocation).
func TestInteractionModelSize(t *testing.T) {
	parse := func(model string) ModelSize {
		t.Helper()
		s, err := Parse("x.yaml", []byte(ixBase+"  hidden: [8]\n  batch_size: 16\n"+model))
		if err != nil {
			t.Fatal(err)
		}
		return s.ModelSize()
	}
	none, dot, cross := parse(""), parse("  interaction: dot\n"), parse("  interaction: cross\n  cross_layers: 3\n")
	const d = 3*4 + 1 // three embeddings of 4 and a dense column
	// dot: 3 pairs more inputs of the first layer (8 wide).
	if got, want := dot.Params-none.Params, int64(3*8); got != want {
		t.Errorf("dot adds %d params, want %d", got, want)
	}
	if got, want := dot.ParamBytes-none.ParamBytes, int64(3*8*8); got != want {
		t.Errorf("dot adds %d param bytes, want %d", got, want)
	}
	if got, want := cross.Params-none.Params, int64(3*(d*d+d)); got != want {
		t.Errorf("cross adds %d params, want %d", got, want)
	}
	if got, want := cross.ParamBytes-none.ParamBytes, int64(3*(d*d+d)*8); got != want {
		t.Errorf("cross adds %d param bytes, want %d", got, want)
	}
	// Batch buffers: one copy of the gradients, and per example each
	// layer's input and product and two gradients.
	if got, want := cross.BatchBytes-none.BatchBytes, int64(3*(d*d+d)*4+16*(2*3+2)*d*4); got != want {
		t.Errorf("cross adds %d batch bytes, want %d", got, want)
	}
	var charged int64
	for _, p := range cross.Parts {
		if p.Path == "model.cross_layers" {
			charged += p.Bytes
		}
	}
	if want := int64(3 * (d*d + d) * 12); charged != want {
		t.Errorf("model.cross_layers charged %d bytes, want %d", charged, want)
	}
	// Mode wide has no deep part: neither adds anything.
	wide := func(model string) ModelSize {
		s, err := ParseWith("x.yaml", []byte(ixBase+model), LoadOptions{Mode: ModeWide})
		if err != nil {
			t.Fatal(err)
		}
		return s.ModelSize()
	}
	if a, b := wide(""), wide("  interaction: cross\n"); a.Bytes != b.Bytes || a.Params != b.Params {
		t.Errorf("mode wide: cross changed the size from %d to %d bytes", a.Bytes, b.Bytes)
	}
}

// Large cross layers are refused by the budget, charged to
// model.cross_layers.
func TestInteractionBudget(t *testing.T) {
	y := `version: 1
features:
  - {name: a, type: categorical, wide: true, embedding_dim: 4096}
  - {name: b, type: categorical, embedding_dim: 4096}
  - {name: c, type: categorical, embedding_dim: 4096}
model:
  interaction: cross
  cross_layers: 8
`
	_, err := Parse("x.yaml", []byte(y))
	want := wantErr{8, "model.cross_layers", "above the --max-model-bytes budget of 4.0 GiB (4294967296 bytes); the largest share is this key's: 8 cross layers of 12288 x 12288 with AdaGrad state and the cross layers' gradients"}
	if got := specErrors(t, err); len(got) != 1 || !hasError(got, "x.yaml", want) {
		t.Errorf("got %v\nwant %s: ...%s...", err, want.path, want.msg)
	}
}

// LoadOptions.Interaction (a command's --interaction) overrides the file's
// model.interaction before defaults and validation: cross gets its default
// cross_layers, none drops the file's dot, and the rules apply to the
// override (dot without a pair is refused, naming the key).
func TestInteractionOverride(t *testing.T) {
	const file = "x.yaml"
	s, err := ParseWith(file, []byte(ixBase+"  interaction: dot\n"), LoadOptions{Interaction: InteractionCross})
	if err != nil || s.Model.Interaction != InteractionCross || s.Model.CrossLayers != DefaultCrossLayers {
		t.Fatalf("dot overridden by cross: %v, %+v", err, s)
	}
	s, err = ParseWith(file, []byte(ixBase+"  interaction: dot\n"), LoadOptions{Interaction: InteractionNone})
	if err != nil || s.Model.Interaction.OrNone() != InteractionNone {
		t.Fatalf("dot overridden by none: %v, %+v", err, s)
	}
	one := "version: 1\nfeatures:\n  - {name: app_id, type: categorical, wide: true}\n"
	_, err = ParseWith(file, []byte(one), LoadOptions{Interaction: InteractionDot})
	if err == nil || !strings.Contains(err.Error(), "model.interaction") || !strings.Contains(err.Error(), "no such pair") {
		t.Errorf("dot override without a pair: %v, want a model.interaction error", err)
	}
}
