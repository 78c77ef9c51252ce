package featurize

import "fmt"

// admission counts the occurrences of strings that are not (yet) in a
// vocabulary, in memory fixed at construction, so that a string is admitted
// once seen min_count times however many distinct strings stream past.
//
// The structure is TinyLFU's (Einziger, Friedman, Manes 2017):
//
//   - a doorkeeper records first sightings as 32-bit fingerprints in a
//     table of 4-slot buckets (one slot per insertion of the window; a full
//     bucket overwrites a slot chosen by the hash); only strings already in
//     it reach the counters, so a stream of strings seen once (junk) does
//     not touch the counters except through fingerprint collisions;
//   - a count-min sketch of depth admitDepth with conservative update and
//     16-bit saturating counters holds the further occurrences;
//   - aging: every window insertions all counters are halved and the
//     doorkeeper is cleared, so the mass in the sketch, and with it the
//     overestimate, stays bounded however long the stream.
//
// The estimate of a string is 1 + min over rows when the doorkeeper holds
// it, else 1. It never underestimates occurrences since the last aging,
// except when a full doorkeeper bucket forgot a first sighting (the string
// then needs one more occurrence).
//
// Error: per row the sketch holds at most 2*window increments in steady
// state, so by the count-min bound a string's overestimate exceeds
// 2e*window/width = 2e (window equals width) with probability at most
// e^-depth (1.8%). That bound assumes every occurrence reaches the
// counters; with the doorkeeper only repeats do, so a junk string is
// admitted only if its fingerprint collides in the doorkeeper (at most
// 4/2^31 per lookup, the low bit being forced to 1) and, for min_count > 2,
// the counters also overestimate. BenchmarkJunkAdmission measures 0 junk
// admitted out of 99 million at min_count 2 and 5 with the default 4 MiB.
// The price of aging is that min_count is counted over a decaying window:
// a string must recur at a rate of about min_count/(2*window) of the
// not-yet-admitted occurrences to be admitted (window = SketchBytes/12,
// about 350,000 with the default).
type admission struct {
	width  int      // counters per row
	counts []uint16 // admitDepth rows of width counters
	door   []uint32 // doorkeeper fingerprints, doorSlots per bucket; 0 is empty
	window int      // insertions between agings; equals width
	added  int      // insertions since the last aging
	ages   uint64   // agings so far
}

const (
	admitDepth     = 4
	doorSlots      = 4
	maxAdmitCount  = 1<<16 - 1
	minAdmitWidth  = 64
	bytesPerColumn = 2*admitDepth + 4 // counters plus one doorkeeper fingerprint per window slot
)

// newAdmission sizes an admission counter to use about budget bytes.
func newAdmission(budget int) (*admission, error) {
	width := budget / bytesPerColumn
	if width < minAdmitWidth {
		return nil, fmt.Errorf("admission sketch budget %d bytes is below the minimum %d", budget, minAdmitWidth*bytesPerColumn)
	}
	return newAdmissionWidth(width), nil
}

func newAdmissionWidth(width int) *admission {
	buckets := (width + doorSlots - 1) / doorSlots
	return &admission{
		width:  width,
		counts: make([]uint16, admitDepth*width),
		door:   make([]uint32, buckets*doorSlots),
		window: width,
	}
}

// bytes is the memory held by the sketch.
func (a *admission) bytes() int { return 2*len(a.counts) + 4*len(a.door) }

// observe records one occurrence of the string with hash h and returns its
// estimated count including this one.
func (a *admission) observe(h uint64) int {
	h1, h2 := uint32(h), uint32(h>>32)|1
	est := 1
	if a.doorSeen(h) {
		// Conservative update: raise only the counters at the minimum.
		m := uint16(maxAdmitCount)
		var idx [admitDepth]int
		for i := range admitDepth {
			j := i*a.width + reduce(uint64(h1+uint32(i)*h2)<<32|uint64(h2), a.width)
			idx[i] = j
			m = min(m, a.counts[j])
		}
		if m < maxAdmitCount {
			for _, j := range idx {
				if a.counts[j] == m {
					a.counts[j] = m + 1
				}
			}
			m++
		}
		est += int(m)
	}
	a.added++
	if a.added >= a.window {
		a.age()
	}
	return est
}

// doorSeen reports whether the doorkeeper holds the string of hash h, and
// adds it when not.
func (a *admission) doorSeen(h uint64) bool {
	nb := len(a.door) / doorSlots
	b := reduce(fmix64(h), nb) * doorSlots
	fp := uint32(h>>32) | 1
	slots := a.door[b : b+doorSlots]
	for i, f := range slots {
		switch f {
		case fp:
			return true
		case 0:
			slots[i] = fp
			return false
		}
	}
	slots[h&(doorSlots-1)] = fp
	return false
}

// age halves every counter and clears the doorkeeper.
func (a *admission) age() {
	for i, c := range a.counts {
		a.counts[i] = c >> 1
	}
	clear(a.door)
	a.added = 0
	a.ages++
}
