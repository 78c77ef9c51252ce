package drift

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// Options configure a Profiler.
type Options struct {
	// Sample is the share of the examples added that are counted, drawn
	// at random (seeded, so that a profile is reproducible): a train stage
	// that counts one example in ten spends a tenth of the time on its
	// statistics. Default 1: every example. In (0, 1].
	Sample float64
}

// Profiler accumulates a Profile in one pass over examples, with memory
// bounded per feature (see the package doc). It is not safe for
// concurrent use.
type Profiler struct {
	examples int64
	feats    []*sketch
	buf      [32]byte
	sample   float64
	rng      *rand.Rand // draws the sample
}

// sketch is the state of one feature.
type sketch struct {
	name    string
	typ     spec.FeatureType
	col     featurize.ColumnReader
	missing int64
	// Categorical types: Misra-Gries counters and the values counted.
	counts map[string]int64
	values int64
	// Numeric: the reservoir, the present values seen and its generator.
	sample []float64
	seen   int64
	rng    *rand.Rand
	seed   uint64
}

// NewProfiler returns a Profiler of sp's features.
func NewProfiler(sp *spec.Spec, opts Options) (*Profiler, error) {
	if opts.Sample == 0 {
		opts.Sample = 1
	}
	if !(opts.Sample > 0 && opts.Sample <= 1) {
		return nil, fmt.Errorf("drift profiler: sample %v not in (0, 1]", opts.Sample)
	}
	p := &Profiler{sample: opts.Sample, rng: rand.New(rand.NewPCG(1, 1))}
	for _, f := range sp.Features {
		col, err := featurize.NewColumnReader(f.Name)
		if err != nil {
			return nil, err
		}
		h := fnv.New64a()
		h.Write([]byte(f.Name))
		s := &sketch{name: f.Name, typ: f.Type, col: col, seed: h.Sum64()}
		p.feats = append(p.feats, s)
	}
	p.Reset()
	return p, nil
}

// Reset forgets every example added.
func (p *Profiler) Reset() {
	p.examples = 0
	for _, s := range p.feats {
		s.missing, s.values, s.seen = 0, 0, 0
		if s.typ == spec.Numeric {
			s.sample = make([]float64, 0, SampleSize)
			s.rng = rand.New(rand.NewPCG(s.seed, 0))
		} else {
			s.counts = make(map[string]int64, Counters)
		}
	}
}

// Add counts exs, or the sample of them Options.Sample asks for.
func (p *Profiler) Add(exs []schemas.Example) {
	for i := range exs {
		if p.sample < 1 && p.rng.Float64() >= p.sample {
			continue
		}
		p.examples++
		for _, s := range p.feats {
			v := s.col.Value(&exs[i])
			switch s.typ {
			case spec.Numeric:
				x, present, ok := featurize.NumericValue(&v)
				if !present || !ok {
					s.missing++
					continue
				}
				s.addNumber(x)
			case spec.CategoricalList:
				if v.Kind != schemas.KindStrings || len(v.Strs) == 0 {
					s.missing++
					continue
				}
				for _, e := range v.Strs {
					s.addString(e)
				}
			default:
				str, b, isBytes, ok := featurize.CategoricalText(&v, p.buf[:])
				switch {
				case !ok || v.Kind == schemas.KindNull || (!isBytes && str == ""):
					s.missing++
				case isBytes:
					s.addBytes(b)
				default:
					s.addString(str)
				}
			}
		}
	}
}

// addString counts one value in the Misra-Gries summary: a counted value
// goes up; a new one takes a free counter, or, with none free, every
// counter goes down by one (and the new value is not kept).
func (s *sketch) addString(v string) {
	s.values++
	if c, ok := s.counts[v]; ok {
		s.counts[v] = c + 1
		return
	}
	if len(s.counts) < Counters {
		s.counts[v] = 1
		return
	}
	s.decrement()
}

// addBytes is addString of a value in a buffer, which it copies only when
// the value is not counted yet.
func (s *sketch) addBytes(b []byte) {
	if c, ok := s.counts[string(b)]; ok {
		s.values++
		s.counts[string(b)] = c + 1
		return
	}
	s.addString(string(b))
}

func (s *sketch) decrement() {
	for k, c := range s.counts {
		if c == 1 {
			delete(s.counts, k)
		} else {
			s.counts[k] = c - 1
		}
	}
}

// addNumber adds a present value to the reservoir (algorithm R).
func (s *sketch) addNumber(x float64) {
	s.seen++
	if len(s.sample) < SampleSize {
		s.sample = append(s.sample, x)
		return
	}
	if j := s.rng.Int64N(s.seen); j < SampleSize {
		s.sample[j] = x
	}
}

// Profile returns the statistics of the examples counted since the last
// Reset; the Profiler goes on counting.
func (p *Profiler) Profile() *Profile {
	out := &Profile{Format: Format, Examples: p.examples, Features: make([]Feature, 0, len(p.feats))}
	for _, s := range p.feats {
		f := Feature{Name: s.name, Type: s.typ}
		if p.examples > 0 {
			f.Missing = float64(s.missing) / float64(p.examples)
		}
		if s.typ == spec.Numeric {
			f.Quantiles = quantiles(s.sample)
		} else if s.values > 0 {
			present := 1 - f.Missing
			for v, c := range s.counts {
				f.Top = append(f.Top, Share{Value: v, Share: present * float64(c) / float64(s.values)})
			}
			sortShares(f.Top)
			f.Top = f.Top[:min(len(f.Top), TopValues)]
			f.Other = present
			for _, t := range f.Top {
				f.Other -= t.Share
			}
			f.Other = max(f.Other, 0)
		}
		out.Features = append(out.Features, f)
	}
	return out
}

// quantiles returns the 0, 1/Quantiles, ..., 1 quantiles of xs (nearest
// rank), or nil for none.
func quantiles(xs []float64) []float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	q := make([]float64, Quantiles+1)
	for i := range q {
		q[i] = s[int(math.Round(float64(i)*float64(len(s)-1)/Quantiles))]
	}
	return q
}

// Of returns the profile of every example of exs for sp's features.
func Of(sp *spec.Spec, exs []schemas.Example) (*Profile, error) {
	p, err := NewProfiler(sp, Options{})
	if err != nil {
		return nil, err
	}
	p.Add(exs)
	return p.Profile(), nil
}
