package featurize

import (
	"math"
	"strings"
	"sync/atomic"
	"time"
)

// Vocab maps the strings of one categorical feature to stable int32 ids.
//
// Ids 0..OOVBuckets()-1 are the hashed out-of-vocabulary ids; the i-th
// admitted string (from 0) has id OOVBuckets()+i. Ids are stable: an id
// once given keeps its meaning while its string lives, so an embedding table
// or a wide weight table grows by appending rows. With a ttl (spec
// features[].ttl, expire.go) a string not seen for that long is evicted: its
// id becomes a hole, which the next string admitted reuses, after the model
// reset the id's rows (State.Expire). A Vocab is owned by a State; its read
// methods may run concurrently with each other and with Transform, but not
// with Fit.
type Vocab struct {
	name     string
	oov      int
	minCount int
	maxSize  int
	index    table
	tokens   []string   // by token index (id - oov); "" at a hole
	admit    *admission // nil when minCount <= 1: every string is admitted at once

	holes []uint64 // bitset over token indices: evicted, free for reuse (nil before the first eviction)
	free  []int32  // token indices of the holes, reused last in, first out
	exp   *expiry  // nil without a ttl

	observed    uint64 // occurrences seen by Fit
	fullRejects uint64 // occurrences of unknown strings refused because the vocabulary is full
	evicted     uint64 // strings evicted by the ttl
	oovHits     atomic.Uint64
}

func newVocab(name string, oov, minCount, maxSize, sketchBytes int, ttl time.Duration) (*Vocab, error) {
	v := &Vocab{
		name:     name,
		oov:      max(oov, 1),
		minCount: max(minCount, 1),
		maxSize:  maxSize,
	}
	if ttl > 0 {
		v.exp = newExpiry(ttl)
	}
	if v.minCount > 1 {
		a, err := newAdmission(sketchBytes)
		if err != nil {
			return nil, err
		}
		v.admit = a
	}
	return v, nil
}

// Name is the feature's name.
func (v *Vocab) Name() string { return v.name }

// OOVBuckets is the number of hashed out-of-vocabulary ids (at least 1).
func (v *Vocab) OOVBuckets() int { return v.oov }

// Len is the number of admitted strings in use (evicted ones not counted).
func (v *Vocab) Len() int { return len(v.tokens) - len(v.free) }

// Size is the number of ids: OOVBuckets() plus the admitted strings and the
// holes evicted strings left (Len() without a ttl). An embedding table for
// this feature needs Size() rows.
func (v *Vocab) Size() int { return v.oov + len(v.tokens) }

// SizeLimit is the most ids the vocabulary can reach, OOVBuckets() plus
// max_size, or 0 when it has no max_size (it then stops at the int32 id
// space or 4 GiB of token bytes).
func (v *Vocab) SizeLimit() int {
	if v.maxSize <= 0 {
		return 0
	}
	return min(v.oov+v.maxSize, math.MaxInt32)
}

// Token returns the string of an admitted id, or false for an OOV id, a
// hole or an id out of range.
func (v *Vocab) Token(id int32) (string, bool) {
	i := int(id) - v.oov
	if id < 0 || i < 0 || i >= len(v.tokens) || v.isHole(i) {
		return "", false
	}
	return v.tokens[i], true
}

// Tokens returns a copy of the admitted strings in id order: the i-th has
// id OOVBuckets()+i (TF Transform's vocabulary file, in memory). A hole
// left by an evicted string is "" (Token tells it from an admitted "").
func (v *Vocab) Tokens() []string { return append([]string(nil), v.tokens...) }

// Lookup returns the id of s: its admitted id and true, or its OOV bucket
// and false. It counts nothing.
func (v *Vocab) Lookup(s string) (int32, bool) { return v.lookupHashed(hashString(s), s) }

// lookupHashed is Lookup given h = hashString(s).
func (v *Vocab) lookupHashed(h uint64, s string) (int32, bool) {
	if i := v.index.find(h, s); i >= 0 {
		return int32(v.oov + i), true
	}
	return oovBucket(h, v.oov), false
}

// lookupBytes is Lookup for a string held in a byte slice, given its hash.
func (v *Vocab) lookupBytes(h uint64, b []byte) (int32, bool) {
	if i := v.index.findBytes(h, b); i >= 0 {
		return int32(v.oov + i), true
	}
	return oovBucket(h, v.oov), false
}

// full reports whether the vocabulary has reached its maximum size (or,
// with no hole to reuse, the int32 id space; or its index's 4 GiB of token
// bytes).
func (v *Vocab) full() bool {
	return v.maxSize > 0 && v.Len() >= v.maxSize ||
		len(v.free) == 0 && v.oov+len(v.tokens) >= math.MaxInt32 || !v.index.fits(0)
}

// observe counts one occurrence of s and admits s once it has been seen
// minCount times, unless the vocabulary is full.
func (v *Vocab) observe(s string) { v.observeHashed(hashString(s), s) }

// observeHashed is observe given h = hashString(s); it returns the id of s
// after counting it, as Lookup.
func (v *Vocab) observeHashed(h uint64, s string) (int32, bool) {
	v.observed++
	if i := v.index.find(h, s); i >= 0 {
		v.touch(i)
		return int32(v.oov + i), true
	}
	if v.full() || !v.index.fits(len(s)) {
		v.fullRejects++
		return oovBucket(h, v.oov), false
	}
	if v.admit != nil && v.admit.observe(h) < v.minCount {
		return oovBucket(h, v.oov), false
	}
	return v.add(h, strings.Clone(s)), true
}

// observeBytes is observe for a string held in a byte slice.
func (v *Vocab) observeBytes(b []byte) { v.observeBytesHashed(hashBytes(b), b) }

// observeBytesHashed is observeHashed for a string held in a byte slice.
func (v *Vocab) observeBytesHashed(h uint64, b []byte) (int32, bool) {
	v.observed++
	if i := v.index.findBytes(h, b); i >= 0 {
		v.touch(i)
		return int32(v.oov + i), true
	}
	if v.full() || !v.index.fits(len(b)) {
		v.fullRejects++
		return oovBucket(h, v.oov), false
	}
	if v.admit != nil && v.admit.observe(h) < v.minCount {
		return oovBucket(h, v.oov), false
	}
	return v.add(h, string(b)), true
}

// add admits s (absent, with hash h) into the last hole freed, or as the
// next id when there is none, and returns its id.
func (v *Vocab) add(h uint64, s string) int32 {
	if n := len(v.free); n > 0 {
		i := int(v.free[n-1])
		v.free = v.free[:n-1]
		v.holes[i/64] &^= 1 << (i % 64)
		v.tokens[i] = s
		v.index.insert(h, s, i)
		v.stamp(i)
		return int32(v.oov + i)
	}
	i := len(v.tokens)
	v.index.insert(h, s, i)
	v.tokens = append(v.tokens, s)
	v.stamp(i)
	return int32(v.oov + i)
}

// Remap writes to dst, for every id of old (0..old.Size()-1), the id that
// the same string has in cur, or -1 when cur has no row for it, and returns
// dst (grown as needed). Warm start uses it when a vocabulary was rebuilt
// rather than grown: row old[i] of a table moves to row dst[i], and rows of
// cur that no old id maps to get the initializer. OOV ids map to themselves
// when both vocabularies have the same number of OOV buckets (the hash is the
// same), else to -1. Holes of old map to -1.
func Remap(dst []int32, old, cur *Vocab) []int32 {
	n := old.Size()
	if cap(dst) < n {
		dst = make([]int32, n)
	}
	dst = dst[:n]
	for i := range old.oov {
		if old.oov == cur.oov {
			dst[i] = int32(i)
		} else {
			dst[i] = -1
		}
	}
	for i, tok := range old.tokens {
		id, ok := cur.Lookup(tok)
		if !ok || old.isHole(i) {
			id = -1
		}
		dst[old.oov+i] = id
	}
	return dst
}
