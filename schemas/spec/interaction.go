package spec

import (
	"fmt"
	"strings"
)

// Interaction selects the explicit feature interactions of the deep part
// (model.interaction), beyond the paper, whose ReLU layers see the
// concatenated embeddings and dense columns only.
type Interaction string

// The interactions:
//
//   - none: the paper's deep part;
//   - dot: the pairwise dot products of the deep categorical features'
//     pooled embeddings (PNN's inner-product layer, DeepFM's FM part),
//     appended to the ReLU layers' input after the embeddings and the
//     dense columns. Only features of one embedding_dim are paired (F of
//     one size give F(F-1)/2 scalars), and the spec needs at least one
//     such pair;
//   - cross: cross_layers DCN-V2 cross layers between the concatenated
//     input x0 (embeddings, then dense columns, d values) and the ReLU
//     layers: x_{l+1} = x0 ⊙ (x_l·W_l + b_l) + x_l, W_l a full d x d
//     matrix; the last x feeds the ReLU layers.
const (
	InteractionNone  Interaction = "none"
	InteractionDot   Interaction = "dot"
	InteractionCross Interaction = "cross"
)

// IsZero reports whether i is none (or unset), the default: Marshal then
// leaves model.interaction out, so that a spec without interactions is
// written byte for byte as before the key existed and builds that predate
// it still read the spec stored with a model.
func (i Interaction) IsZero() bool { return i == "" || i == InteractionNone }

// OrNone returns i, or none when it is unset (a Model built in Go rather than
// loaded).
func (i Interaction) OrNone() Interaction {
	if i == "" {
		return InteractionNone
	}
	return i
}

// DefaultCrossLayers is the default model.cross_layers of interaction
// cross; MaxCrossLayers is the most allowed.
const (
	DefaultCrossLayers = 2
	MaxCrossLayers     = 8
)

// CrossLayerCount returns the number of cross layers of interaction cross:
// CrossLayers, or DefaultCrossLayers when it is 0 (a Model built in Go). It
// is meaningless for other interactions.
func (m *Model) CrossLayerCount() int {
	if m.CrossLayers > 0 {
		return m.CrossLayers
	}
	return DefaultCrossLayers
}

// DotPairs returns the number of dot products interaction dot appends to
// the deep part's input for deep categorical features of these embedding
// dims (in spec order): one per pair of features of the same dim (a dot
// product takes two vectors of one size), f(f-1)/2 when all are equal.
func DotPairs(dims []int) int {
	n := 0
	for a := range dims {
		for b := a + 1; b < len(dims); b++ {
			if dims[a] == dims[b] {
				n++
			}
		}
	}
	return n
}

// embeddedDims returns the embedding dims of the features with an
// embedding, in spec order.
func (s *Spec) embeddedDims() []int {
	var dims []int
	for _, f := range s.embeddedFeatures() {
		dims = append(dims, f.EmbeddingDim)
	}
	return dims
}

// embeddedFeatures returns the features that have an embedding in the deep
// part (deep categorical and categorical_list features), in spec order: the
// fields interaction dot takes dot products of.
func (s *Spec) embeddedFeatures() []*Feature {
	return s.filter(func(f *Feature) bool {
		return f.Deep && (f.Type == Categorical || f.Type == CategoricalList)
	})
}

// interactionDefaults sets model.cross_layers to its default under
// interaction cross when the key is absent (it stays 0 otherwise).
func interactionDefaults(s *Spec, r *reporter) {
	if s.Model.Interaction == InteractionCross {
		setDefault(r, "model.cross_layers", &s.Model.CrossLayers, DefaultCrossLayers)
	}
}

// validateInteraction checks model.interaction and model.cross_layers. The
// checks hold in every mode, also in mode wide where the deep part (and so
// the interaction) is unused, so that a spec valid in one mode is valid in
// all.
func validateInteraction(s *Spec, r *reporter) {
	m := &s.Model
	if !oneOf(r, "model.interaction", "interaction", m.Interaction, InteractionNone, InteractionDot, InteractionCross) {
		return
	}
	if m.Interaction != InteractionCross {
		if r.has("model.cross_layers") {
			r.errorf("model.cross_layers", "applies only to interaction cross, and model.interaction is %s", m.Interaction)
		}
	} else if m.CrossLayers < 1 || m.CrossLayers > MaxCrossLayers {
		r.errorf("model.cross_layers", "must be in [1, %d], got %d", MaxCrossLayers, m.CrossLayers)
	}
	if m.Interaction != InteractionDot || len(s.Features) == 0 {
		return
	}
	emb := s.embeddedFeatures()
	if DotPairs(s.embeddedDims()) == 0 {
		var dims []string
		for _, g := range emb {
			dims = append(dims, fmt.Sprintf("%s %d", g.Name, g.EmbeddingDim))
		}
		r.errorf("model.interaction", "interaction dot takes dot products of pairs of deep categorical features with the same embedding_dim (a dot product takes two vectors of one size), and the spec has no such pair (%d feature(s): %s): use none or cross",
			len(emb), strings.Join(dims, ", "))
	}
}
