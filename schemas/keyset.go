package schemas

import (
	"bytes"
	"hash/maphash"
)

// keySet finds duplicate member keys of one message without a map of
// strings: the keys are copied into one arena and indexed by an
// open-addressing table of their hashes, all reused across messages.
type keySet struct {
	seed  maphash.Seed
	arena []byte
	ends  []int32  // key i is arena[ends[i-1]:ends[i]] (from 0 for i = 0)
	table []uint32 // 0: empty, else 1 + the index of a key in ends
}

// reset empties the set for the next message.
func (k *keySet) reset() {
	k.arena, k.ends = k.arena[:0], k.ends[:0]
	clear(k.table)
}

// add inserts key and reports whether it was already in the set.
func (k *keySet) add(key []byte) (dup bool) {
	if len(k.table) == 0 {
		k.seed = maphash.MakeSeed()
		k.table = make([]uint32, 64)
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
