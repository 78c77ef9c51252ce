package featurize

import (
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// The hashes below are part of the persisted contract: OOV bucket ids, cross
// ids and the admission sketch's cells all derive from them, so a model
// trained by one process must see the same ids in every other process, on any
// machine and any Go version. They are XXH64 (seed 0) of the UTF-8 bytes,
// combined and finalized with the MurmurHash3 64-bit finalizer, and reduced
// to a range by the multiply-high method. Never hash/maphash, never map
// iteration order. hash_test.go pins known values.

// hashString returns XXH64(s) with seed 0.
func hashString(s string) uint64 { return xxhash.Sum64String(s) }

// hashBytes returns XXH64(b) with seed 0.
func hashBytes(b []byte) uint64 { return xxhash.Sum64(b) }

// Fmix64 is MurmurHash3's 64-bit finalizer, the one of the hashes above: a
// bijection with full avalanche (package trainer's negative sampling mixes
// its FNV-1a hashes with it).
func Fmix64(h uint64) uint64 { return fmix64(h) }

// fmix64 is MurmurHash3's 64-bit finalizer: a bijection with full avalanche.
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// crossSeed starts every cross hash (the 64-bit golden ratio).
const crossSeed uint64 = 0x9e3779b97f4a7c15

// crossStep folds the hash of the next crossed value into the running cross
// hash acc. The rotation makes the result depend on the order of the columns.
func crossStep(acc, h uint64) uint64 {
	return fmix64(bits.RotateLeft64(acc, 27) ^ h)
}

// reduce maps h uniformly onto [0, n) using the high word of h*n. n > 0.
func reduce(h uint64, n int) int {
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}

// oovBucket returns the OOV id of a string with hash h among n buckets.
func oovBucket(h uint64, n int) int32 {
	if n <= 1 {
		return 0
	}
	return int32(reduce(fmix64(h), n))
}
