package join

// This file holds what the joiner keeps of each impression, laid out to be
// small: the pending state of one impression is one pendingImp (its three
// key strings in one allocation) plus its entries in the maps, the order
// and the offset queue, and, for the few that an install matched, an
// entry in matches (at most one install is matched to an impression); an
// emitted one is remembered for another window by an entry in recent,
// recentUA and the forget queue, which share its key allocation.
// IndexBytes estimates the total.

// uaKey is a user id and an app id: ua is both, one after the other (a
// substring of a pendingImp's keys), user the length of the first; 24
// bytes in the maps' slots instead of two strings' 32.
type uaKey struct {
	ua   string
	user uint32
}

// installUA is the key of an unattributed install's user and app.
func installUA(in *Install) uaKey { return uaKey{in.UserID + in.AppID, uint32(len(in.UserID))} }

type pendingImp[P any] struct {
	// keys is the impression id, the user id and the app id, in one
	// allocation of the joiner's own (never a substring of a caller's
	// buffer, so that a payload moved elsewhere is not kept alive by them):
	// keys[:idEnd], keys[idEnd:userEnd], keys[userEnd:].
	keys           string
	idEnd, userEnd uint32
	ts             int64
	payload        P
	seq            int64 // the impression's entry in impQ; its key in matches
	// The pending impressions of one (user, app) in arrival order, a
	// doubly linked list whose last element byUA holds.
	uaPrev, uaNext *pendingImp[P]
}

// newPending copies k's strings into one allocation. A message is far
// below 4 GiB, so the lengths fit in uint32.
func newPending[P any](k Key, payload P, seq int64) *pendingImp[P] {
	return &pendingImp[P]{
		keys:  k.ImpressionID + k.UserID + k.AppID,
		idEnd: uint32(len(k.ImpressionID)), userEnd: uint32(len(k.ImpressionID) + len(k.UserID)),
		ts: k.TS, payload: payload, seq: seq,
	}
}

// match is the install matched to a pending impression: its ts and its
// entry in insQ.
type match struct{ ts, seq int64 }

func (p *pendingImp[P]) id() string { return p.keys[:p.idEnd] }
func (p *pendingImp[P]) ua() uaKey  { return uaKey{p.keys[p.idEnd:], p.userEnd - p.idEnd} }

func (p *pendingImp[P]) key() Key {
	return Key{ImpressionID: p.id(), TS: p.ts, UserID: p.keys[p.idEnd:p.userEnd], AppID: p.keys[p.userEnd:]}
}

// forgetEntry is an emitted impression to forget at at, with its keys.
type forgetEntry struct {
	at             int64
	keys           string
	idEnd, userEnd uint32
}

func (f *forgetEntry) id() string { return f.keys[:f.idEnd] }
func (f *forgetEntry) ua() uaKey  { return uaKey{f.keys[f.idEnd:], f.userEnd - f.idEnd} }

// forgetQueue is a FIFO of emitted impressions in emission order. Taken
// entries are cleared (their keys not kept alive) and the front is reused
// once half the slice is taken.
type forgetQueue struct {
	q    []forgetEntry
	head int
}

func (f *forgetQueue) len() int            { return len(f.q) - f.head }
func (f *forgetQueue) first() *forgetEntry { return &f.q[f.head] }
func (f *forgetQueue) push(e forgetEntry)  { f.q = append(f.q, e) }

// pop takes out the first entry; f must not be empty.
func (f *forgetQueue) pop() forgetEntry {
	e := f.q[f.head]
	f.q[f.head] = forgetEntry{}
	f.head++
	switch {
	case f.head == len(f.q):
		f.q, f.head = f.q[:0], 0
	case f.head >= 1024 && 2*f.head >= len(f.q):
		n := copy(f.q, f.q[f.head:])
		clear(f.q[n:])
		f.q, f.head = f.q[:n], 0
	}
	return e
}

// Known reports whether AddImpression would ignore an impression with this
// id as a duplicate: one is pending, or was emitted and is still
// remembered.
func (j *Joiner[P]) Known(id string) bool {
	if _, ok := j.pending[id]; ok {
		return true
	}
	_, ok := j.recent[id]
	return ok
}

// The index estimate, per entry, besides the pendingImp itself and the
// key bytes: what BenchmarkStateBytes (package ingest) measures of the
// maps, the order and the offset queue with the simulator's impressions,
// whose maps are between half and seven eighths full (from 10,000 to
// 400,000 pending: 250 to 200 bytes in all, 232 estimated; remembered:
// 165 to 195 bytes, 174 estimated).
const (
	// pending (24-byte slots) and byUA (32-byte slots, one per (user,
	// app) among the pending), the order's slot, the impression's offset
	// entry, with the slack of slices that grow by doubling.
	pendingOverhead = 112
	// recent (24-byte slots), recentUA (32) and the forget queue (32),
	// and the churn of the pending maps that emitting leaves.
	recentOverhead = 150
	// a held install: its struct, its slots in early or earlyUA and in
	// the expiry heap.
	heldOverhead = 160
	// a matched pending impression's entry in matches (24-byte slots).
	matchOverhead = 40
)

// IndexBytes estimates the heap bytes of the joiner's state besides the
// payloads: per pending impression its pendingImp, its key bytes and
// pendingOverhead, and matchOverhead when an install matched it; per
// remembered emitted impression its key bytes and recentOverhead; per
// held install heldOverhead. BenchmarkStateBytes in
// package ingest measures the real figure; TestIndexBytesEstimate keeps
// the two within a quarter of each other.
func (j *Joiner[P]) IndexBytes() int64 {
	return int64(len(j.pending))*(j.pendingSize+pendingOverhead) + int64(j.forget.len())*recentOverhead +
		int64(len(j.expiry))*heldOverhead + int64(len(j.matches))*matchOverhead + j.keyBytes
}

// allocSize approximates the bytes the Go allocator takes for an object of
// n bytes (its size classes: multiples of 8 up to 32, then of 16 up to
// 128, then steps of at most an eighth).
func allocSize(n int64) int64 {
	switch {
	case n <= 0:
		return 0
	case n <= 32:
		return (n + 7) &^ 7
	case n <= 128:
		return (n + 15) &^ 15
	default:
		return n + n/16
	}
}
