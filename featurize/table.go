package featurize

// table is the index of a vocabulary: open addressing with linear probing
// over (XXH64 of the token, slot) pairs, load factor at most 1/2. A probe
// compares the 64-bit hash first and the token itself only on a hash match,
// so a lookup touches one slot line and, on a hit, the token's bytes. It
// replaces a Go map to reuse the XXH64 that OOV buckets and crosses need
// anyway and to keep slots small (16 bytes) for the cache.
type table struct {
	slots []tslot
	mask  uint64
	n     int
}

type tslot struct {
	h   uint64
	idx int32 // token index + 1; 0 marks an empty slot
}

const minTableSlots = 64

// find returns the index in tokens of s, whose hash is h, or -1.
func (t *table) find(h uint64, tokens []string, s string) int {
	if t.n == 0 {
		return -1
	}
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		sl := &t.slots[i]
		if sl.idx == 0 {
			return -1
		}
		if sl.h == h && tokens[sl.idx-1] == s {
			return int(sl.idx - 1)
		}
	}
}

// findBytes is find for a string held in a byte slice.
func (t *table) findBytes(h uint64, tokens []string, b []byte) int {
	if t.n == 0 {
		return -1
	}
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		sl := &t.slots[i]
		if sl.idx == 0 {
			return -1
		}
		if sl.h == h && tokens[sl.idx-1] == string(b) {
			return int(sl.idx - 1)
		}
	}
}

// insert records token index idx under hash h; the caller has checked that
// the token is absent.
func (t *table) insert(h uint64, idx int) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	t.place(h, int32(idx+1))
	t.n++
}

func (t *table) place(h uint64, idx1 int32) {
	i := h & t.mask
	for t.slots[i].idx != 0 {
		i = (i + 1) & t.mask
	}
	t.slots[i] = tslot{h: h, idx: idx1}
}

func (t *table) grow() {
	old := t.slots
	n := max(2*len(old), minTableSlots)
	t.slots = make([]tslot, n)
	t.mask = uint64(n - 1)
	for _, sl := range old {
		if sl.idx != 0 {
			t.place(sl.h, sl.idx)
		}
	}
}
