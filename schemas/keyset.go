package schemas

import (
	"bytes"
	"hash/maphash"
)

// keySet finds duplicate member keys of one message without a map of
// strings: the keys are copied into one arena and indexed by an
// open-addressing table of their hashes, all reused across messages.
//
// Clearing the table costs its length, and the three slices keep their
// capacity, so one huge message (a valid 1 MiB impression has room for
// over 100,000 keys) would slow every later message of its partition and
// pin megabytes. reset therefore replaces a slice of which the message just
// checked used less than 1/shrinkRatio by a small one: a run of messages of
// about the same size keeps its slices and allocates nothing, and a huge
// message costs one clear of its table and a few small allocations after
// the next message.
type keySet struct {
	seed  maphash.Seed
	arena []byte
	ends  []int32  // key i is arena[ends[i-1]:ends[i]] (from 0 for i = 0)
	table []uint32 // 0: empty, else 1 + the index of a key in ends
}

// Sizes of a keySet: the table's first length, and how far above what the
// last message needed a slice may stay.
const (
	minSlots    = 64
	shrinkRatio = 8
)

// reset empties the set for the next message, shrinking what the last
// message left far too large (see keySet).
func (k *keySet) reset() {
	if need := slotsFor(len(k.ends)); len(k.table) > shrinkRatio*need {
		k.table = make([]uint32, need)
	} else {
		clear(k.table)
	}
	k.arena = trim(k.arena, 16*minSlots)
	k.ends = trim(k.ends, minSlots)
}

// slotsFor returns the table length that add reaches for n keys.
func slotsFor(n int) int {
	slots := minSlots
	for slots < 2*n {
		slots *= 2
	}
	return slots
}

// trim returns s emptied, or nil (for append to grow again) when its
// capacity is over shrinkRatio times its length and small.
func trim[T any](s []T, small int) []T {
	if cap(s) > shrinkRatio*max(len(s), small) {
		return nil
	}
	return s[:0]
}

// add inserts key and reports whether it was already in the set.
func (k *keySet) add(key []byte) (dup bool) {
	if len(k.table) == 0 {
		k.seed = maphash.MakeSeed()
		k.table = make([]uint32, minSlots)
	}
	if 2*(len(k.ends)+1) > len(k.table) {
		k.grow()
	}
	mask := uint64(len(k.table) - 1)
	for i := maphash.Bytes(k.seed, key) & mask; ; i = (i + 1) & mask {
		slot := k.table[i]
		if slot == 0 {
			k.arena = append(k.arena, key...)
			k.ends = append(k.ends, int32(len(k.arena)))
			k.table[i] = uint32(len(k.ends))
			return false
		}
		if bytes.Equal(k.key(int(slot-1)), key) {
			return true
		}
	}
}

func (k *keySet) key(i int) []byte {
	start := int32(0)
	if i > 0 {
		start = k.ends[i-1]
	}
	return k.arena[start:k.ends[i]]
}

// grow doubles the table and re-inserts every key.
func (k *keySet) grow() {
	k.table = make([]uint32, 2*len(k.table))
	mask := uint64(len(k.table) - 1)
	for n := range k.ends {
		i := maphash.Bytes(k.seed, k.key(n)) & mask
		for k.table[i] != 0 {
			i = (i + 1) & mask
		}
		k.table[i] = uint32(n + 1)
	}
}
