package spec

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Marshal writes the spec as canonical YAML: every key in the order of the
// types, defaults written out (but model.interaction none and the
// cross_layers of other interactions, left out: see Interaction.IsZero;
// model.negative_sampling 1 too: see SamplingRate.IsZero), durations in
// their short form, lists of scalars on one line ([64, 32]),
// two-space indentation, no comments. Parse
// reads it back to an equal Spec; the trainer stores it with every model so
// that a model says exactly how its inputs were built.
func (s *Spec) Marshal() ([]byte, error) {
	var root yaml.Node
	if err := root.Encode(s); err != nil {
		return nil, fmt.Errorf("marshaling spec %q: %w", s.Name, err)
	}
	flowScalarLists(&root)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, fmt.Errorf("marshaling spec %q: %w", s.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshaling spec %q: %w", s.Name, err)
	}
	return buf.Bytes(), nil
}

// featureYAML is the written form of a Feature: the keys that apply to the
// feature's type are always written (pointers, so that an explicit 0 is
// kept), the others never (Parse rejects them).
type featureYAML struct {
	Name         string      `yaml:"name"`
	Type         FeatureType `yaml:"type"`
	Wide         bool        `yaml:"wide"`
	Deep         bool        `yaml:"deep"`
	EmbeddingDim *int        `yaml:"embedding_dim,omitempty"`
	Combiner     *Combiner   `yaml:"combiner,omitempty"`
	MaxLength    *int        `yaml:"max_length,omitempty"`
	MinCount     *int        `yaml:"min_count,omitempty"`
	OOVBuckets   *int        `yaml:"oov_buckets,omitempty"`
	MaxSize      *int        `yaml:"max_size,omitempty"`
	TTL          *Duration   `yaml:"ttl,omitempty"`
	Quantiles    *int        `yaml:"quantiles,omitempty"`
	Missing      *float64    `yaml:"missing,omitempty"`
}

// MarshalYAML writes only the keys that apply to the feature's type, so that
// a marshaled spec parses again.
func (f Feature) MarshalYAML() (any, error) {
	out := featureYAML{Name: f.Name, Type: f.Type, Wide: f.Wide, Deep: f.Deep}
	switch f.Type {
	case Categorical, CategoricalList:
		out.EmbeddingDim, out.MinCount, out.OOVBuckets, out.MaxSize = &f.EmbeddingDim, &f.MinCount, &f.OOVBuckets, &f.MaxSize
		if f.Type == CategoricalList {
			out.Combiner, out.MaxLength = &f.Combiner, &f.MaxLength
		}
		if f.TTL != 0 {
			out.TTL = &f.TTL // absent when 0, so that specs without it marshal as before
		}
	case Numeric:
		out.Quantiles, out.Missing = &f.Quantiles, &f.Missing
	}
	return out, nil
}

// flowScalarLists writes every list of scalars in flow style.
func flowScalarLists(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode {
		flow := true
		for _, c := range n.Content {
			flow = flow && c.Kind == yaml.ScalarNode
		}
		if flow {
			n.Style = yaml.FlowStyle
		}
	}
	for _, c := range n.Content {
		flowScalarLists(c)
	}
}
