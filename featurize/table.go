package featurize

import "math"

// table is the index of a vocabulary: open addressing with linear probing,
// load factor at most 1/2, over 16-byte slots that hold a 32-bit tag of the
// token's XXH64, its index, and the offset and length of its bytes in an
// arena. A probe compares the tag first and then the token's bytes in the
// arena, so a hit touches one slot and one arena line: lookups are exact
// (no false matches) and cheap. It replaces a Go map to reuse the XXH64
// that OOV buckets and crosses need anyway.
type table struct {
	slots []tslot
	mask  uint64
	n     int
	arena []byte // the tokens' bytes, in admission order
}

type tslot struct {
	tag uint32
	idx int32 // token index + 1; 0 marks an empty slot
	off uint32
	len uint32
}

const minTableSlots = 64

// maxArena bounds the arena so that offsets fit in a slot.
const maxArena = math.MaxUint32

func tagOf(h uint64) uint32 { return uint32(h >> 32) }

// find returns the token index of s, whose hash is h, or -1.
func (t *table) find(h uint64, s string) int {
	if t.n == 0 {
		return -1
	}
	tag := tagOf(h)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		sl := &t.slots[i]
		if sl.idx == 0 {
			return -1
		}
		if sl.tag == tag && int(sl.len) == len(s) && string(t.arena[sl.off:sl.off+sl.len]) == s {
			return int(sl.idx - 1)
		}
	}
}

// findBytes is find for a string held in a byte slice.
func (t *table) findBytes(h uint64, b []byte) int {
	if t.n == 0 {
		return -1
	}
	tag := tagOf(h)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		sl := &t.slots[i]
		if sl.idx == 0 {
			return -1
		}
		if sl.tag == tag && int(sl.len) == len(b) && string(t.arena[sl.off:sl.off+sl.len]) == string(b) {
			return int(sl.idx - 1)
		}
	}
}

// fits reports whether a token of n more bytes fits in the arena.
func (t *table) fits(n int) bool { return uint64(len(t.arena))+uint64(n) <= maxArena }

// insert records s as token index idx under hash h; the caller has checked
// that s is absent and fits.
func (t *table) insert(h uint64, s string, idx int) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	sl := tslot{tag: tagOf(h), idx: int32(idx + 1), off: uint32(len(t.arena)), len: uint32(len(s))}
	t.arena = append(t.arena, s...)
	t.place(h, sl)
	t.n++
}

// place puts sl in the first free slot from h.
func (t *table) place(h uint64, sl tslot) {
	i := h & t.mask
	for t.slots[i].idx != 0 {
		i = (i + 1) & t.mask
	}
	t.slots[i] = sl
}

// grow doubles the slots; the hashes are recomputed from the arena.
func (t *table) grow() {
	old := t.slots
	n := max(2*len(old), minTableSlots)
	t.slots = make([]tslot, n)
	t.mask = uint64(n - 1)
	for _, sl := range old {
		if sl.idx != 0 {
			t.place(hashBytes(t.arena[sl.off:sl.off+sl.len]), sl)
		}
	}
}
