package featurize

import (
	"math"
	"slices"
)

// kll is a KLL streaming quantile sketch (Karnin, Lang, Liberty 2016) with
// lazy compaction. Level h holds items of weight 2^h; level capacities shrink
// by 2/3 from the top level down, with at least 2 items per level. A full
// level is sorted and every other item (starting at a random offset) moves up
// one level with twice the weight.
//
// Rank error: with k = 200 the rank of any boundary is within about 1.7% of
// n of the true rank with 99% probability (Apache DataSketches' measured
// figure for k = 200); quantile_test.go checks 2% on several distributions.
// Memory is O(k log(n/k)) float64s, a few KB. The random offsets come from a
// xorshift generator whose state is part of the sketch, so a sketch restored
// from a checkpoint continues exactly as the original would.
type kll struct {
	k        int
	levels   [][]float64
	size     int // items held over all levels
	maxSize  int // sum of capacities
	n        uint64
	rng      uint64
	min, max float64
}

const defaultKLLK = 200

func newKLL(k int) *kll {
	s := &kll{k: k, rng: 0x853c49e6748fea9b, min: math.Inf(1), max: math.Inf(-1)}
	s.levels = [][]float64{make([]float64, 0, k)}
	s.maxSize = s.capacity(0)
	return s
}

// capacity of level h given the current number of levels.
func (s *kll) capacity(h int) int {
	depth := len(s.levels) - h - 1
	return max(int(math.Ceil(float64(s.k)*math.Pow(2.0/3.0, float64(depth)))), 2)
}

func (s *kll) recomputeMax() {
	s.maxSize = 0
	for h := range s.levels {
		s.maxSize += s.capacity(h)
	}
}

// add records x; x must not be NaN.
func (s *kll) add(x float64) {
	s.levels[0] = append(s.levels[0], x)
	s.size++
	s.n++
	s.min = min(s.min, x)
	s.max = max(s.max, x)
	if s.size >= s.maxSize {
		s.compress()
	}
}

func (s *kll) coin() int {
	s.rng ^= s.rng << 13
	s.rng ^= s.rng >> 7
	s.rng ^= s.rng << 17
	return int(s.rng & 1)
}

func (s *kll) compress() {
	for h := 0; h < len(s.levels); h++ {
		if len(s.levels[h]) < s.capacity(h) {
			continue
		}
		if h+1 == len(s.levels) {
			s.levels = append(s.levels, nil)
			s.recomputeMax()
		}
		lv := s.levels[h]
		slices.Sort(lv)
		var keep []float64
		if len(lv)%2 == 1 {
			keep = lv[len(lv)-1:]
			lv = lv[:len(lv)-1]
		}
		for i := s.coin(); i < len(lv); i += 2 {
			s.levels[h+1] = append(s.levels[h+1], lv[i])
		}
		s.size -= len(lv) / 2
		rest := s.levels[h][:0]
		rest = append(rest, keep...)
		s.levels[h] = rest
		if s.size < s.maxSize {
			break
		}
	}
}

// boundaries writes to dst the values at ranks j/nq of the stream,
// j = 1..nq-1, with duplicates removed, and returns it. It returns dst[:0]
// when the sketch is empty.
func (s *kll) boundaries(dst []float64, nq int) []float64 {
	dst = dst[:0]
	if s.n == 0 || nq < 2 {
		return dst
	}
	type item struct {
		v float64
		w uint64
	}
	items := make([]item, 0, s.size)
	var total uint64
	for h, lv := range s.levels {
		for _, v := range lv {
			items = append(items, item{v, 1 << h})
			total += 1 << h
		}
	}
	slices.SortFunc(items, func(a, b item) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	var cum uint64
	i := 0
	for j := 1; j < nq; j++ {
		target := float64(total) * float64(j) / float64(nq)
		for i < len(items)-1 && float64(cum+items[i].w) < target {
			cum += items[i].w
			i++
		}
		v := items[i].v
		if len(dst) == 0 || v > dst[len(dst)-1] {
			dst = append(dst, v)
		}
	}
	return dst
}

// bucketOf returns the number of boundaries strictly below x: values at or
// below the first boundary fall in bucket 0, values above the last in bucket
// len(b). Buckets are right-closed, (b[i-1], b[i]], so a point mass at the
// minimum (a price of 0, say) maps to 0.
func bucketOf(b []float64, x float64) int {
	lo, hi := 0, len(b)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if b[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
