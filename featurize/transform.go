package featurize

import (
	"errors"
	"fmt"
	"math"

	"github.com/wdstream/wdstream/schemas"
)

// ErrNoBoundaries is returned by Transform when a numeric feature's
// boundaries have not been fixed yet (no RefreshBoundaries since New, and
// none decoded).
var ErrNoBoundaries = errors.New("quantile boundaries not fixed: call RefreshBoundaries after Fit")

// Transform turns exs into dst (which it resets first). It counts nothing
// towards admission and reads boundaries as fixed; it updates only the OOV
// counters, atomically, so Transform calls may run concurrently, each with
// its own Batch. A bad example stops it with an *ExampleError; dst's
// contents are then unspecified.
func (s *State) Transform(dst *Batch, exs []schemas.Example) error {
	return s.run(dst, exs, false)
}

// FitTransform fits and transforms exs in one pass, the streaming trainer's
// step: each example is counted, then turned into model inputs with the
// vocabularies as they stand after counting it, so an example sees the
// strings admitted by itself and every example before it, whatever the
// batch boundaries. Numeric values go into the sketches; the boundaries stay
// fixed. A bad example stops it with an *ExampleError before the example is
// counted; the examples before it have been counted.
func (s *State) FitTransform(dst *Batch, exs []schemas.Example) error {
	return s.run(dst, exs, true)
}

func (s *State) run(dst *Batch, exs []schemas.Example, fit bool) error {
	for _, n := range s.nums {
		if !n.fixed && (n.wideSlot >= 0 || n.denseCol >= 0) {
			return fmt.Errorf("featurize: numeric feature %q: %w", n.name, ErrNoBoundaries)
		}
	}
	s.shape(dst)
	dst.Reset()
	var err error
	for i := range exs {
		if err = s.transformOne(dst, i, &exs[i], fit); err != nil {
			break
		}
	}
	clear(dst.vals) // drop references to the examples' values
	for i, c := range s.cats {
		if n := dst.oovCounts[i]; n > 0 {
			c.vocab.oovHits.Add(n)
		}
		if n := dst.cutCounts[2*i]; n > 0 {
			c.truncated.Add(n)
			c.truncatedLists.Add(dst.cutCounts[2*i+1])
		}
	}
	if err != nil {
		return err
	}
	// Sizes after the batch: with fit, the batch's own admissions count.
	for _, w := range s.wide {
		dst.WideSizes = append(dst.WideSizes, int32(w.Size()))
	}
	for i, d := range s.deep {
		dst.Deep[i].Size = int32(d.Size())
	}
	return nil
}

// shape prepares dst for this State's layout.
func (s *State) shape(dst *Batch) {
	if len(dst.Deep) != len(s.deep) {
		dst.Deep = make([]DeepField, len(s.deep))
	}
	for i, d := range s.deep {
		f := &dst.Deep[i]
		if d.Multi && f.Offsets == nil {
			f.Offsets = make([]int32, 1, 256)
		} else if !d.Multi {
			f.Offsets = nil
		}
	}
	if len(dst.oovCounts) != len(s.cats) {
		dst.oovCounts = make([]uint64, len(s.cats))
	}
	if len(dst.cutCounts) != 2*len(s.cats) {
		dst.cutCounts = make([]uint64, 2*len(s.cats))
	}
	if len(dst.crossOff) != 2*len(s.cats) {
		dst.crossOff = make([]int, 2*len(s.cats))
	}
	dst.DenseDim = len(s.dense)
}

// gather reads the values of ex's feature columns into dst.vals, s.cats
// then s.nums, and checks their kinds.
func (s *State) gather(dst *Batch, i int, ex *schemas.Example) ([]schemas.Value, error) {
	vals := s.values(dst.vals[:0], ex)
	dst.vals = vals
	return vals, s.check(i, ex, vals)
}

func (s *State) transformOne(dst *Batch, i int, ex *schemas.Example, fit bool) error {
	vals, err := s.gather(dst, i, ex)
	if err != nil {
		return err
	}
	if fit {
		s.tick(ex.TS)
	}
	dst.N++
	dst.Labels = append(dst.Labels, float32(ex.Label))
	dst.ImpressionIDs = append(dst.ImpressionIDs, ex.ImpressionID)
	dst.TS = append(dst.TS, ex.TS)
	scratch := dst.scratch[:0]
	for ci, c := range s.cats {
		v := &vals[ci]
		start := len(scratch)
		if c.list {
			var deep *DeepField
			if c.deepField >= 0 {
				deep = &dst.Deep[c.deepField]
			}
			strs, cut := c.capped(v.Strs)
			if cut > 0 {
				dst.cutCounts[2*ci] += uint64(cut)
				dst.cutCounts[2*ci+1]++
			}
			for _, str := range strs {
				h := hashString(str)
				var id int32
				var ok bool
				if fit {
					id, ok = c.vocab.observeHashed(h, str)
				} else {
					id, ok = c.vocab.lookupHashed(h, str)
				}
				if !ok {
					dst.oovCounts[ci]++
				}
				if c.wideSlot >= 0 {
					dst.appendWide(c.wideSlot, id)
				}
				if deep != nil {
					deep.IDs = append(deep.IDs, id)
				}
				if c.inCross {
					scratch = append(scratch, h)
				}
			}
			if deep != nil {
				if len(deep.IDs) > math.MaxInt32 {
					return fmt.Errorf("featurize: example %d (impression %q): field %q exceeds 2^31 ids in one batch: use smaller batches", i, ex.ImpressionID, c.name)
				}
				deep.Offsets = append(deep.Offsets, int32(len(deep.IDs)))
			}
		} else {
			if fit && v.Kind == schemas.KindNull {
				c.missing++
			}
			str, b, isBytes, _ := CategoricalText(v, dst.numBuf[:])
			var id int32
			var known bool
			var h uint64
			switch {
			case isBytes && fit:
				h = hashBytes(b)
				id, known = c.vocab.observeBytesHashed(h, b)
			case isBytes:
				h = hashBytes(b)
				id, known = c.vocab.lookupBytes(h, b)
			case fit:
				h = hashString(str)
				id, known = c.vocab.observeHashed(h, str)
			default:
				h = hashString(str)
				id, known = c.vocab.lookupHashed(h, str)
			}
			if !known {
				dst.oovCounts[ci]++
			}
			if c.wideSlot >= 0 {
				dst.appendWide(c.wideSlot, id)
			}
			if c.deepField >= 0 {
				d := &dst.Deep[c.deepField]
				d.IDs = append(d.IDs, id)
			}
			if c.inCross {
				scratch = append(scratch, h)
			}
		}
		dst.crossOff[2*ci], dst.crossOff[2*ci+1] = start, len(scratch)
	}
	for k, n := range s.nums {
		x, present, _ := NumericValue(&vals[len(s.cats)+k])
		if fit {
			if present {
				n.sketch.add(x)
			} else {
				n.absent++
			}
		}
		norm := n.missing
		wideID := int32(0)
		if present {
			b := bucketOf(n.bounds, x)
			wideID = int32(1 + b)
			norm = 0
			if len(n.bounds) > 0 {
				norm = float32(b) / float32(len(n.bounds))
			}
		}
		if n.denseCol >= 0 {
			dst.Dense = append(dst.Dense, norm)
		}
		if n.wideSlot >= 0 {
			dst.appendWide(n.wideSlot, wideID)
		}
	}
	dst.scratch = scratch
	for _, cr := range s.crosses {
		if len(cr.cols) == 2 {
			dst.emitCross2(cr)
		} else {
			dst.emitCross(cr, 0, crossSeed)
		}
	}
	if len(dst.WideIDs) > math.MaxInt32 {
		return fmt.Errorf("featurize: example %d (impression %q): batch exceeds 2^31 wide entries: use smaller batches", i, ex.ImpressionID)
	}
	dst.WideOffsets = append(dst.WideOffsets, int32(len(dst.WideIDs)))
	return nil
}

// capped returns the elements of a list that the model reads, the first
// maxLen in input order, and how many it cuts.
func (c *catFeature) capped(strs []string) ([]string, int) {
	if len(strs) <= c.maxLen {
		return strs, 0
	}
	return strs[:c.maxLen], len(strs) - c.maxLen
}

func (b *Batch) appendWide(slot int, id int32) {
	b.WideSlots = append(b.WideSlots, int32(slot))
	b.WideIDs = append(b.WideIDs, id)
	b.WideValues = append(b.WideValues, 1)
}

// emitCross2 is emitCross for the common two-column cross, without
// recursion.
func (b *Batch) emitCross2(cr *crossFeature) {
	c0, c1 := cr.cols[0].index, cr.cols[1].index
	second := b.scratch[b.crossOff[2*c1]:b.crossOff[2*c1+1]]
	slot := int32(cr.slot)
	for _, h0 := range b.scratch[b.crossOff[2*c0]:b.crossOff[2*c0+1]] {
		acc := crossStep(crossSeed, h0)
		for _, h1 := range second {
			b.WideSlots = append(b.WideSlots, slot)
			b.WideIDs = append(b.WideIDs, int32(reduce(crossStep(acc, h1), cr.buckets)))
			b.WideValues = append(b.WideValues, 1)
		}
	}
}

// emitCross appends the cross's entries for every combination of the
// values of columns k.. given the running hash acc of columns ..k-1.
func (b *Batch) emitCross(cr *crossFeature, k int, acc uint64) {
	c := cr.cols[k]
	lo, hi := b.crossOff[2*c.index], b.crossOff[2*c.index+1]
	last := k == len(cr.cols)-1
	for _, h := range b.scratch[lo:hi] {
		next := crossStep(acc, h)
		if last {
			b.appendWide(cr.slot, int32(reduce(next, cr.buckets)))
		} else {
			b.emitCross(cr, k+1, next)
		}
	}
}
