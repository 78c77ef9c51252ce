package featurize

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrIncompatible marks a persisted feature whose ids would change meaning
// under the spec it is decoded with: rebuild the State and Remap instead.
var ErrIncompatible = errors.New("persisted state incompatible with spec")

func (s *State) decodeBody(d *dec, fit, expiry bool) error {
	cats := make(map[string]*catFeature, len(s.cats))
	for _, c := range s.cats {
		cats[c.name] = c
	}
	nums := make(map[string]*numFeature, len(s.nums))
	for _, n := range s.nums {
		nums[n.name] = n
	}
	seen := make(map[string]bool)
	d.at = "feature count"
	nf := d.count(2)
	for i := 0; i < nf && d.err == nil; i++ {
		d.at = fmt.Sprintf("feature %d", i)
		name := d.str()
		typ := d.byte()
		if d.err != nil {
			break
		}
		if seen[name] {
			d.fail(fmt.Errorf("feature %q appears twice: %w", name, ErrFormat))
			break
		}
		seen[name] = true
		d.at = fmt.Sprintf("feature %q", name)
		if _, ok := cats[name]; ok && typ == typeNumeric {
			return fmt.Errorf("feature %q: persisted as numeric, spec says categorical: %w", name, ErrIncompatible)
		}
		if _, ok := nums[name]; ok && (typ == typeCategorical || typ == typeCategoricalList) {
			return fmt.Errorf("feature %q: persisted as %s, spec says numeric: %w", name, typeName(typ), ErrIncompatible)
		}
		switch typ {
		case typeCategorical, typeCategoricalList:
			c := cats[name]
			if c != nil && c.list != (typ == typeCategoricalList) {
				return fmt.Errorf("feature %q: persisted as %s, spec says otherwise: %w", name, typeName(typ), ErrIncompatible)
			}
			if err := decodeVocab(d, c, fit, expiry); err != nil {
				return err
			}
		case typeNumeric:
			if err := decodeNumeric(d, nums[name], fit); err != nil {
				return err
			}
		default:
			d.fail(fmt.Errorf("unknown feature type %d: %w", typ, ErrFormat))
		}
	}
	if d.err == nil {
		if err := s.decodeCrosses(d); err != nil {
			return err
		}
	}
	if d.err == nil && d.left() != 0 {
		d.at = "end of body"
		d.fail(fmt.Errorf("%d trailing bytes", d.left()))
	}
	if d.err != nil {
		if errors.Is(d.err, ErrFormat) || errors.Is(d.err, ErrIncompatible) {
			return d.err
		}
		return fmt.Errorf("%w: %w", d.err, ErrFormat)
	}
	return nil
}

func typeName(t byte) string {
	switch t {
	case typeCategorical:
		return "categorical"
	case typeCategoricalList:
		return "categorical_list"
	case typeNumeric:
		return "numeric"
	}
	return fmt.Sprintf("type %d", t)
}

// decodeVocab reads one vocabulary into c, or skips it when c is nil (a
// feature the spec no longer declares). With expiry, the vocabulary's
// expiry section follows its tokens; a vocabulary whose spec has no ttl
// keeps the holes and drops the times, one that has a ttl but no times
// gives every string a full ttl from its first scan.
func decodeVocab(d *dec, c *catFeature, fit, expiry bool) error {
	oov := d.uvarint()
	nt := d.count(1)
	if d.err != nil {
		return nil
	}
	if oov < 1 || oov > math.MaxInt32 {
		d.fail(fmt.Errorf("oov_buckets %d: %w", oov, ErrFormat))
		return nil
	}
	var v *Vocab
	if c != nil {
		v = c.vocab
		if uint64(v.oov) != oov {
			return fmt.Errorf("vocabulary %q: persisted with %d oov buckets, spec says %d: %w", c.name, oov, v.oov, ErrIncompatible)
		}
		if uint64(nt)+oov > math.MaxInt32 {
			d.fail(fmt.Errorf("%d tokens overflow int32 ids: %w", nt, ErrFormat))
			return nil
		}
	}
	var toks []string
	if v != nil {
		toks = make([]string, 0, nt)
	}
	for range nt {
		t := d.str()
		if d.err == nil && v != nil {
			toks = append(toks, t)
		}
	}
	var ex decodedExpiry
	if expiry && d.err == nil {
		ex = decodeExpiry(d, nt)
	}
	if d.err != nil {
		return nil
	}
	if v != nil {
		if err := v.restore(toks, &ex); err != nil {
			d.fail(err)
			return nil
		}
	}
	if !fit {
		return nil
	}
	if !d.present("sketch") {
		return nil
	}
	width := d.uvarint()
	added := d.uvarint()
	ages := d.uvarint()
	if d.err != nil {
		return nil
	}
	if width < minAdmitWidth || width > uint64(d.left()/(2*admitDepth)) || added >= width {
		d.fail(fmt.Errorf("admission sketch width %d, added %d: %w", width, added, ErrFormat))
		return nil
	}
	a := newAdmissionWidth(int(width))
	if d.left() < 2*len(a.counts)+4*len(a.door) {
		d.fail(errShort)
		return nil
	}
	for i := range a.counts {
		a.counts[i] = binary.LittleEndian.Uint16(d.b[d.off:])
		d.off += 2
	}
	for i := range a.door {
		a.door[i] = binary.LittleEndian.Uint32(d.b[d.off:])
		d.off += 4
	}
	a.added, a.ages = int(added), ages
	if v != nil && v.minCount > 1 {
		v.admit = a
	}
	return nil
}

// decodedExpiry is a vocabulary's expiry section as read.
type decodedExpiry struct {
	free        []int32  // in reuse order: the next reused first
	times       bool     // the last-seen times are present
	clock, next int64    // with times
	rel         []uint64 // with times, per token: 0 unknown, else clock - last seen + 1
}

func decodeExpiry(d *dec, nt int) decodedExpiry {
	var x decodedExpiry
	nf := d.count(1)
	for range nf {
		i := d.uvarint()
		if d.err == nil && i >= uint64(nt) {
			d.fail(fmt.Errorf("hole %d outside the %d tokens: %w", i, nt, ErrFormat))
		}
		if d.err != nil {
			return x
		}
		x.free = append(x.free, int32(i))
	}
	if !d.present("expiry") {
		return x
	}
	clock, gap := d.uvarint(), d.uvarint()
	if d.err == nil && (clock > math.MaxInt64/2 || gap > math.MaxInt64/2) {
		d.fail(fmt.Errorf("expiry clock %d, next scan after %d: %w", clock, gap, ErrFormat))
	}
	if d.left() < nt {
		d.fail(errShort)
	}
	if d.err != nil {
		return x
	}
	x.times, x.clock, x.next = true, int64(clock), int64(clock+gap)
	x.rel = make([]uint64, nt)
	for i := range x.rel {
		x.rel[i] = d.uvarint()
		if d.err == nil && x.rel[i] > clock+1 {
			d.fail(fmt.Errorf("token %d last seen %d ms before a clock of %d: %w", i, x.rel[i]-1, clock, ErrFormat))
		}
		if d.err != nil {
			return x
		}
	}
	return x
}

// restore fills an empty vocabulary with decoded tokens, holes and times.
func (v *Vocab) restore(toks []string, x *decodedExpiry) error {
	v.tokens = toks
	for _, i := range x.free {
		if v.isHole(int(i)) {
			return fmt.Errorf("hole %d appears twice: %w", i, ErrFormat)
		}
		if toks[i] != "" {
			return fmt.Errorf("hole %d holds the token %q: %w", i, toks[i], ErrFormat)
		}
		v.markHole(int(i))
	}
	v.free = make([]int32, len(x.free))
	for k, i := range x.free {
		v.free[len(x.free)-1-k] = i // a stack: the next reused last
	}
	for i, t := range toks {
		if v.isHole(i) {
			continue
		}
		h := hashString(t)
		if v.index.find(h, t) >= 0 {
			return fmt.Errorf("token %q appears twice: %w", t, ErrFormat)
		}
		v.index.insert(h, t, i)
	}
	if e := v.exp; e != nil {
		e.lastSeen = make([]int64, len(toks))
		if x.times {
			e.clock, e.next = x.clock, x.next
			for i, r := range x.rel {
				if r > 0 && !v.isHole(i) {
					e.lastSeen[i] = x.clock - int64(r-1)
				}
			}
		}
	}
	return nil
}

func decodeNumeric(d *dec, n *numFeature, fit bool) error {
	nq := d.uvarint()
	fixed := d.byte()
	nb := d.count(8)
	if d.err != nil {
		return nil
	}
	if fixed > 1 || (fixed == 0 && nb != 0) || uint64(nb)+1 > max(nq, 1) {
		d.fail(fmt.Errorf("quantiles %d, fixed %d, %d boundaries: %w", nq, fixed, nb, ErrFormat))
		return nil
	}
	bounds := make([]float64, nb)
	for i := range bounds {
		bounds[i] = d.f64()
		if math.IsNaN(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i-1])) {
			d.fail(fmt.Errorf("boundary %d (%v) is NaN or not increasing: %w", i, bounds[i], ErrFormat))
			return nil
		}
	}
	if n != nil {
		if uint64(n.nq) != nq {
			return fmt.Errorf("numeric feature %q: persisted with %d quantiles, spec says %d: %w", n.name, nq, n.nq, ErrIncompatible)
		}
		n.bounds, n.fixed = bounds, fixed == 1
	}
	if !fit {
		return nil
	}
	k := d.uvarint()
	cnt := d.uvarint()
	rng := d.u64()
	lo, hi := d.f64(), d.f64()
	nl := d.count(1)
	if d.err != nil {
		return nil
	}
	if k < 8 || k > 1<<16 || nl < 1 || nl > maxKLLLevels || rng == 0 || math.IsNaN(lo) || math.IsNaN(hi) {
		d.fail(fmt.Errorf("quantile sketch k %d, %d levels: %w", k, nl, ErrFormat))
		return nil
	}
	sk := &kll{k: int(k), n: cnt, rng: rng, min: lo, max: hi, levels: make([][]float64, nl)}
	var weight uint64
	for h := range sk.levels {
		m := d.count(8)
		if d.err != nil {
			return nil
		}
		lv := make([]float64, m, max(m, sk.k))
		for i := range lv {
			lv[i] = d.f64()
			if math.IsNaN(lv[i]) {
				d.fail(fmt.Errorf("quantile sketch item is NaN: %w", ErrFormat))
				return nil
			}
		}
		sk.levels[h] = lv
		sk.size += m
		weight += uint64(m) << h
	}
	sk.recomputeMax()
	if weight != cnt {
		d.fail(fmt.Errorf("quantile sketch holds weight %d in %d items, header says n %d: %w", weight, sk.size, cnt, ErrFormat))
		return nil
	}
	if n != nil {
		n.sketch = sk
	}
	return nil
}

func (s *State) decodeCrosses(d *dec) error {
	byName := make(map[string]*crossFeature, len(s.crosses))
	for _, c := range s.crosses {
		byName[c.name] = c
	}
	d.at = "cross count"
	nc := d.count(3)
	for i := 0; i < nc && d.err == nil; i++ {
		d.at = fmt.Sprintf("cross %d", i)
		name := d.str()
		buckets := d.uvarint()
		ncols := d.count(1)
		for range ncols {
			d.str()
		}
		if d.err != nil {
			return nil
		}
		if c, ok := byName[name]; ok && uint64(c.buckets) != buckets {
			return fmt.Errorf("cross %q: persisted with %d hash_buckets, spec says %d: %w", name, buckets, c.buckets, ErrIncompatible)
		}
	}
	return nil
}
