package drift

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/wdstream/wdstream/schemas/spec"
)

// Sizes of a profile and of the Profiler's sketches.
const (
	// TopValues is the most values a categorical feature's profile lists.
	TopValues = 20
	// Counters is the size of the Misra-Gries summary of a categorical
	// feature.
	Counters = 100
	// SampleSize is the reservoir of a numeric feature.
	SampleSize = 4096
	// Quantiles: a numeric feature's profile holds its 0, 1/Quantiles,
	// ..., 1 quantiles.
	Quantiles = 100
)

// Format is the version of a Profile's JSON layout.
const Format = 1

// Profile is the statistics of a set of examples, feature by feature.
type Profile struct {
	Format int `json:"format"`
	// Examples counted (of those added, the sample Options.Sample drew).
	Examples int64 `json:"examples"`
	// Features in the order of the spec.
	Features []Feature `json:"features"`
}

// Feature is the statistics of one feature (see the package doc).
type Feature struct {
	Name string           `json:"name"`
	Type spec.FeatureType `json:"type"`
	// Missing is the share of examples without a value.
	Missing float64 `json:"missing"`
	// Top are a categorical feature's most frequent values, most frequent
	// first; Other is the share of the rest. Missing + Top + Other = 1.
	Top   []Share `json:"top,omitempty"`
	Other float64 `json:"other,omitempty"`
	// Quantiles of a numeric feature's present values: Quantiles+1 numbers
	// from the smallest to the largest, none when no value was present.
	Quantiles []float64 `json:"quantiles,omitempty"`
}

// Share is one value of a categorical feature and its share of examples.
type Share struct {
	Value string  `json:"value"`
	Share float64 `json:"share"`
}

// Feature returns the named feature's statistics, or nil.
func (p *Profile) Feature(name string) *Feature {
	for i := range p.Features {
		if p.Features[i].Name == name {
			return &p.Features[i]
		}
	}
	return nil
}

// Encode writes the profile as indented JSON.
func (p *Profile) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding drift profile: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode reads a profile that Encode wrote, strictly: unknown keys, another
// format, shares outside [0,1] or not summing to 1, and quantiles out of
// order are errors naming the feature.
func Decode(b []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decoding drift profile: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decoding drift profile: data after the profile")
	}
	if p.Format != Format {
		return nil, fmt.Errorf("drift profile: format %d, this build reads %d", p.Format, Format)
	}
	if p.Examples < 0 {
		return nil, fmt.Errorf("drift profile: %d examples", p.Examples)
	}
	seen := map[string]bool{}
	for i := range p.Features {
		f := &p.Features[i]
		if f.Name == "" || seen[f.Name] {
			return nil, fmt.Errorf("drift profile: feature %d: empty or duplicate name %q", i, f.Name)
		}
		seen[f.Name] = true
		if err := f.check(p.Examples > 0); err != nil {
			return nil, fmt.Errorf("drift profile: feature %q: %w", f.Name, err)
		}
	}
	return &p, nil
}

// shareTolerance is how far from 1 the shares of a decoded profile may sum
// (rounding of the JSON numbers).
const shareTolerance = 1e-6

// check validates f; the shares of a profile of no examples are all 0.
func (f *Feature) check(counted bool) error {
	if !unit(f.Missing) {
		return fmt.Errorf("missing share %v not in [0,1]", f.Missing)
	}
	switch f.Type {
	case spec.Categorical, spec.CategoricalList:
		if len(f.Top) > TopValues || len(f.Quantiles) > 0 {
			return fmt.Errorf("%d top values (at most %d) and %d quantiles (none)", len(f.Top), TopValues, len(f.Quantiles))
		}
		sum := f.Missing + f.Other
		for _, s := range f.Top {
			if !unit(s.Share) {
				return fmt.Errorf("value %q: share %v not in [0,1]", s.Value, s.Share)
			}
			sum += s.Share
		}
		if !unit(f.Other) || (counted && math.Abs(sum-1) > shareTolerance) {
			return fmt.Errorf("other %v: missing, top values and other sum to %v, not 1", f.Other, sum)
		}
	case spec.Numeric:
		if len(f.Top) > 0 || f.Other != 0 {
			return fmt.Errorf("a numeric feature has no top values")
		}
		if n := len(f.Quantiles); n != 0 && n != Quantiles+1 {
			return fmt.Errorf("%d quantiles, want %d or none", n, Quantiles+1)
		}
		for i, q := range f.Quantiles {
			if math.IsNaN(q) || math.IsInf(q, 0) || (i > 0 && q < f.Quantiles[i-1]) {
				return fmt.Errorf("quantile %d (%v) not finite or below the one before", i, q)
			}
		}
	default:
		return fmt.Errorf("unknown type %q", f.Type)
	}
	return nil
}

func unit(x float64) bool { return x >= 0 && x <= 1 }

// sortShares orders shares most frequent first, then by value.
func sortShares(s []Share) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].Share != s[j].Share {
			return s[i].Share > s[j].Share
		}
		return s[i].Value < s[j].Value
	})
}
