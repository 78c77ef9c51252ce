package featurize

import "github.com/wdstream/wdstream/schemas"

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
		vals = s.values(vals[:0], ex)
		if err := s.check(i, ex, vals); err != nil {
			return err
		}
		s.tick(ex.TS)
		for k, c := range s.cats {
			v := &vals[k]
			if c.list {
				strs, _ := c.capped(v.Strs)
				for _, str := range strs {
					c.vocab.observe(str)
				}
				continue
			}
			if v.Kind == schemas.KindNull {
				c.missing++
			}
			str, b, isBytes, _ := CategoricalText(v, buf[:])
			if isBytes {
				c.vocab.observeBytes(b)
			} else {
				c.vocab.observe(str)
			}
		}
		for k, n := range s.nums {
			x, present, _ := NumericValue(&vals[len(s.cats)+k])
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

// values appends to dst the values of ex's feature columns, s.cats then
// s.nums, and returns it.
func (s *State) values(dst []schemas.Value, ex *schemas.Example) []schemas.Value {
	for _, c := range s.cats {
		dst = append(dst, c.col.value(ex))
	}
	for _, n := range s.nums {
		dst = append(dst, n.col.value(ex))
	}
	return dst
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
		if _, _, ok := NumericValue(&vals[len(s.cats)+k]); !ok {
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
