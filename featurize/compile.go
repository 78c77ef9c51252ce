package featurize

import (
	"errors"
	"fmt"

	"github.com/wdstream/wdstream/schemas/spec"
)

// New builds an empty State (no admitted strings, no boundaries) for a
// spec. The spec must have passed spec validation; New checks again what it
// relies on and names the feature and key at fault.
func New(sp *spec.Spec, opts Options) (*State, error) {
	s, err := newState(sp, opts)
	if err != nil {
		return nil, fmt.Errorf("featurize: %w", err)
	}
	return s, nil
}

// newState is New with errors that do not name the package.
func newState(sp *spec.Spec, opts Options) (*State, error) {
	if sp == nil {
		return nil, errors.New("nil spec")
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &State{spec: sp, opts: opts}
	byName := make(map[string]*catFeature)
	seen := make(map[string]bool)
	for i := range sp.Features {
		f := &sp.Features[i]
		if seen[f.Name] {
			return nil, fmt.Errorf("features[%d] %q: duplicate name", i, f.Name)
		}
		seen[f.Name] = true
		col, err := resolveColumn(f.Name)
		if err != nil {
			return nil, fmt.Errorf("features[%d] %q: %w", i, f.Name, err)
		}
		switch f.Type {
		case spec.Categorical, spec.CategoricalList:
			if f.MinCount < 1 || f.MinCount > maxAdmitCount {
				return nil, fmt.Errorf("feature %q: min_count %d is outside [1, %d]", f.Name, f.MinCount, maxAdmitCount)
			}
			if f.OOVBuckets < 0 || f.MaxSize < 0 {
				return nil, fmt.Errorf("feature %q: oov_buckets %d and max_size %d must be >= 0", f.Name, f.OOVBuckets, f.MaxSize)
			}
			v, err := newVocab(f.Name, f.OOV(), f.MinCount, f.MaxSize, opts.SketchBytes, f.TTL.D())
			if err != nil {
				return nil, fmt.Errorf("feature %q: %w", f.Name, err)
			}
			c := &catFeature{name: f.Name, col: col, list: f.Type == spec.CategoricalList, vocab: v, wideSlot: -1, deepField: -1, index: len(s.cats)}
			if c.list {
				if f.MaxLength < 0 {
					return nil, fmt.Errorf("feature %q: max_length %d must be > 0 (0 for the default %d)", f.Name, f.MaxLength, spec.DefaultMaxLength)
				}
				c.maxLen = f.MaxListLength()
			}
			if f.Wide {
				c.wideSlot = len(s.wide)
				s.wide = append(s.wide, WideSlot{Name: f.Name, Kind: SlotCategorical, vocab: v})
			}
			if f.Deep {
				c.deepField = len(s.deep)
				s.deep = append(s.deep, DeepInput{Name: f.Name, Multi: c.list, Combiner: f.Combiner, EmbeddingDim: f.EmbeddingDim, vocab: v})
			}
			s.cats = append(s.cats, c)
			if v.exp != nil {
				s.expiring = append(s.expiring, v.exp)
			}
			byName[f.Name] = c
		case spec.Numeric:
			if f.Quantiles < 2 {
				return nil, fmt.Errorf("feature %q: quantiles %d must be >= 2", f.Name, f.Quantiles)
			}
			if !(f.Missing >= 0 && f.Missing <= 1) {
				return nil, fmt.Errorf("feature %q: missing %v is outside [0,1]", f.Name, f.Missing)
			}
			n := &numFeature{name: f.Name, col: col, nq: f.Quantiles, missing: float32(f.Missing), sketch: newKLL(opts.QuantileK), wideSlot: -1, denseCol: -1}
			if f.Wide {
				n.wideSlot = len(s.wide)
				s.wide = append(s.wide, WideSlot{Name: f.Name, Kind: SlotBucketized, size: 1 + f.Quantiles})
			}
			if f.Deep {
				n.denseCol = len(s.dense)
				s.dense = append(s.dense, f.Name)
			}
			s.nums = append(s.nums, n)
		default:
			return nil, fmt.Errorf("feature %q: unknown type %q", f.Name, f.Type)
		}
	}
	crossNames := make(map[string]bool)
	for i := range sp.Crosses {
		c := &sp.Crosses[i]
		name := c.Name
		if name == "" {
			name = joinNames(c.Columns)
		}
		if crossNames[name] {
			return nil, fmt.Errorf("crosses[%d] %q: duplicate name", i, name)
		}
		crossNames[name] = true
		if len(c.Columns) < 2 {
			return nil, fmt.Errorf("cross %q: columns: need at least 2, have %d", name, len(c.Columns))
		}
		if c.HashBuckets <= 0 {
			return nil, fmt.Errorf("cross %q: hash_buckets %d must be > 0", name, c.HashBuckets)
		}
		cf := &crossFeature{name: name, buckets: c.HashBuckets, slot: len(s.wide)}
		for _, colName := range c.Columns {
			f, ok := byName[colName]
			if !ok {
				return nil, fmt.Errorf("cross %q: column %q is not a categorical or categorical_list feature", name, colName)
			}
			f.inCross = true
			cf.cols = append(cf.cols, f)
		}
		s.wide = append(s.wide, WideSlot{Name: name, Kind: SlotCross, size: c.HashBuckets})
		s.crosses = append(s.crosses, cf)
	}
	return s, nil
}

func joinNames(cols []string) string {
	out := ""
	for i, c := range cols {
		if i > 0 {
			out += "_x_"
		}
		out += c
	}
	return out
}
