package featurize

import (
	"errors"
	"fmt"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// Options tune a State. The zero value gives the defaults.
type Options struct {
	// SketchBytes is the memory of each vocabulary's admission sketch (the
	// counts of strings not yet admitted); vocabularies with min_count 1
	// have none. Default 4 MiB.
	SketchBytes int
	// QuantileK is the KLL sketch's k for numeric features (rank error
	// about 1.7% at k = 200, shrinking as 1/k). Default 200; >= 8.
	QuantileK int
}

const defaultSketchBytes = 4 << 20

func (o *Options) validate() error {
	if o.SketchBytes == 0 {
		o.SketchBytes = defaultSketchBytes
	}
	if o.QuantileK == 0 {
		o.QuantileK = defaultKLLK
	}
	var errs []error
	if o.SketchBytes < minAdmitWidth*bytesPerColumn {
		errs = append(errs, fmt.Errorf("options: SketchBytes %d is below the minimum %d", o.SketchBytes, minAdmitWidth*bytesPerColumn))
	}
	if o.QuantileK < 8 {
		errs = append(errs, fmt.Errorf("options: QuantileK %d is below the minimum 8", o.QuantileK))
	}
	return errors.Join(errs...)
}

// State bundles the spec, the vocabularies and the quantile boundaries: all
// that turns examples into batches. Fit, RefreshBoundaries and decoding need
// exclusive access; Transform calls may run concurrently with each other.
type State struct {
	spec    *spec.Spec
	opts    Options
	cats    []*catFeature // categorical and categorical_list, spec order
	nums    []*numFeature // numeric, spec order
	crosses []*crossFeature
	wide    []WideSlot
	deep    []DeepInput
	dense   []string
	fitVals []schemas.Value // Fit's scratch: one example's values
}

type catFeature struct {
	name      string
	col       column
	list      bool
	vocab     *Vocab
	wideSlot  int // -1 when not wide
	deepField int // -1 when not deep
	index     int // position in State.cats
	inCross   bool
	missing   uint64
}

type numFeature struct {
	name     string
	col      column
	nq       int
	missing  float32
	sketch   *kll
	bounds   []float64
	fixed    bool
	wideSlot int
	denseCol int
	absent   uint64 // missing or NaN values seen by Fit
}

type crossFeature struct {
	name    string
	cols    []*catFeature
	buckets int
	slot    int
}

// New builds an empty State (no admitted strings, no boundaries) for a
// spec. The spec must have passed spec validation; New checks again what it
// relies on and names the feature and key at fault.
func New(sp *spec.Spec, opts Options) (*State, error) {
	if sp == nil {
		return nil, errors.New("featurize: nil spec")
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("featurize: %w", err)
	}
	s := &State{spec: sp, opts: opts}
	byName := make(map[string]*catFeature)
	seen := make(map[string]bool)
	for i := range sp.Features {
		f := &sp.Features[i]
		if seen[f.Name] {
			return nil, fmt.Errorf("featurize: features[%d] %q: duplicate name", i, f.Name)
		}
		seen[f.Name] = true
		col, err := resolveColumn(f.Name)
		if err != nil {
			return nil, fmt.Errorf("featurize: features[%d] %q: %w", i, f.Name, err)
		}
		switch f.Type {
		case spec.Categorical, spec.CategoricalList:
			if f.MinCount < 1 || f.MinCount > maxAdmitCount {
				return nil, fmt.Errorf("featurize: feature %q: min_count %d is outside [1, %d]", f.Name, f.MinCount, maxAdmitCount)
			}
			if f.OOVBuckets < 0 || f.MaxSize < 0 {
				return nil, fmt.Errorf("featurize: feature %q: oov_buckets %d and max_size %d must be >= 0", f.Name, f.OOVBuckets, f.MaxSize)
			}
			v, err := newVocab(f.Name, f.OOV(), f.MinCount, f.MaxSize, opts.SketchBytes)
			if err != nil {
				return nil, fmt.Errorf("featurize: feature %q: %w", f.Name, err)
			}
			c := &catFeature{name: f.Name, col: col, list: f.Type == spec.CategoricalList, vocab: v, wideSlot: -1, deepField: -1, index: len(s.cats)}
			if f.Wide {
				c.wideSlot = len(s.wide)
				s.wide = append(s.wide, WideSlot{Name: f.Name, Kind: SlotCategorical, vocab: v})
			}
			if f.Deep {
				c.deepField = len(s.deep)
				s.deep = append(s.deep, DeepInput{Name: f.Name, Multi: c.list, Combiner: f.Combiner, EmbeddingDim: f.EmbeddingDim, vocab: v})
			}
			s.cats = append(s.cats, c)
			byName[f.Name] = c
		case spec.Numeric:
			if f.Quantiles < 2 {
				return nil, fmt.Errorf("featurize: feature %q: quantiles %d must be >= 2", f.Name, f.Quantiles)
			}
			if !(f.Missing >= 0 && f.Missing <= 1) {
				return nil, fmt.Errorf("featurize: feature %q: missing %v is outside [0,1]", f.Name, f.Missing)
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
			return nil, fmt.Errorf("featurize: feature %q: unknown type %q", f.Name, f.Type)
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
			return nil, fmt.Errorf("featurize: crosses[%d] %q: duplicate name", i, name)
		}
		crossNames[name] = true
		if len(c.Columns) < 2 {
			return nil, fmt.Errorf("featurize: cross %q: columns: need at least 2, have %d", name, len(c.Columns))
		}
		if c.HashBuckets <= 0 {
			return nil, fmt.Errorf("featurize: cross %q: hash_buckets %d must be > 0", name, c.HashBuckets)
		}
		cf := &crossFeature{name: name, buckets: c.HashBuckets, slot: len(s.wide)}
		for _, colName := range c.Columns {
			f, ok := byName[colName]
			if !ok {
				return nil, fmt.Errorf("featurize: cross %q: column %q is not a categorical or categorical_list feature", name, colName)
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

// Spec returns the spec the State was built for.
func (s *State) Spec() *spec.Spec { return s.spec }

// Vocab returns the vocabulary of a categorical feature, or nil.
func (s *State) Vocab(feature string) *Vocab {
	for _, c := range s.cats {
		if c.name == feature {
			return c.vocab
		}
	}
	return nil
}

// Boundaries returns a copy of a numeric feature's fixed quantile
// boundaries (strictly increasing) and whether they have been fixed.
func (s *State) Boundaries(feature string) ([]float64, bool) {
	for _, n := range s.nums {
		if n.name == feature {
			return append([]float64(nil), n.bounds...), n.fixed
		}
	}
	return nil, false
}

// Fit counts the categorical values of exs towards admission and adds the
// numeric values to the quantile sketches. Admitted strings take effect at
// once; boundaries do not move until RefreshBoundaries. Fit checks each
// example before counting it and stops at the first bad one with an
// *ExampleError: the examples before it have been counted.
func (s *State) Fit(exs []schemas.Example) error {
	var buf [32]byte
	vals := s.fitVals[:0]
	for i := range exs {
		ex := &exs[i]
		vals = vals[:0]
		for _, c := range s.cats {
			vals = append(vals, c.col.value(ex))
		}
		for _, n := range s.nums {
			vals = append(vals, n.col.value(ex))
		}
		if err := s.check(i, ex, vals); err != nil {
			return err
		}
		for k, c := range s.cats {
			v := &vals[k]
			if c.list {
				for _, str := range v.Strs {
					c.vocab.observe(str)
				}
				continue
			}
			if v.Kind == schemas.KindNull {
				c.missing++
			}
			str, b, isBytes, _ := categoricalText(v, buf[:])
			if isBytes {
				c.vocab.observeBytes(b)
			} else {
				c.vocab.observe(str)
			}
		}
		for k, n := range s.nums {
			x, present, _ := numericValue(&vals[len(s.cats)+k])
			if !present {
				n.absent++
				continue
			}
			n.sketch.add(x)
		}
	}
	clear(vals) // drop references to the examples' strings
	s.fitVals = vals
	return nil
}

// check reports the first column of ex whose kind its feature cannot read;
// vals holds the example's values of s.cats then s.nums.
func (s *State) check(i int, ex *schemas.Example, vals []schemas.Value) error {
	for k, c := range s.cats {
		v := &vals[k]
		if c.list {
			if v.Kind != schemas.KindStrings && v.Kind != schemas.KindNull {
				return kindError(i, ex, c.name, "list<string> or null", v.Kind)
			}
		} else if v.Kind == schemas.KindStrings {
			return kindError(i, ex, c.name, "string, number, bool or null", v.Kind)
		}
	}
	for k, n := range s.nums {
		if _, _, ok := numericValue(&vals[len(s.cats)+k]); !ok {
			return kindError(i, ex, n.name, "number, bool or null", vals[len(s.cats)+k].Kind)
		}
	}
	return nil
}

// RefreshBoundaries recomputes every numeric feature's boundaries from its
// sketch (all values fitted since the State was created or decoded with its
// fit state) and fixes them: Transform uses them unchanged until the next
// refresh. A feature with no values gets no boundaries: every value then
// normalizes to 0. Refreshing changes what a trained model's dense inputs
// and bucket ids mean: do it before training starts, or with a new model.
func (s *State) RefreshBoundaries() {
	for _, n := range s.nums {
		n.bounds = n.sketch.boundaries(n.bounds, n.nq)
		n.fixed = true
	}
}

// FitTransform fits exs then transforms them into dst: the streaming
// trainer's step, where the batch sees the strings admitted by its own
// examples.
func (s *State) FitTransform(dst *Batch, exs []schemas.Example) error {
	if err := s.Fit(exs); err != nil {
		return err
	}
	return s.Transform(dst, exs)
}
