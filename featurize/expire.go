package featurize

import "time"

// expiry is a vocabulary's ttl (spec features[].ttl): the event time each
// admitted string was last fitted, and the clock that evicts those unseen
// for ttl.
//
// Time is the examples' ts (Unix milliseconds), not the wall clock: a
// backlog replayed in an hour expires what a day of live traffic would, and
// a stream that stops expires nothing. The clock is the latest ts fitted;
// an example with an older ts (a late or replayed one) refreshes its
// strings to its own ts, never backwards.
type expiry struct {
	ttl   int64 // milliseconds
	every int64 // milliseconds of clock between two scans (Expire)
	// lastSeen holds, per token index, the ts of the string's latest
	// occurrence fitted; 0 for a hole and for a string whose time is
	// unknown (decoded from a state written without a ttl: its first scan
	// gives it a full ttl from the clock).
	lastSeen []int64
	now      int64 // the ts of the example being fitted
	clock    int64 // the latest ts fitted
	next     int64 // the clock at or after which Expire scans again
}

// scansPerTTL is how often, in units of ttl, a vocabulary scans for strings
// to evict: a string leaves between ttl and ttl*(1+1/scansPerTTL) after its
// last occurrence, and a scan, which reads every token, runs once per
// ttl/scansPerTTL of event time.
const scansPerTTL = 64

func newExpiry(ttl time.Duration) *expiry {
	ms := max(ttl.Milliseconds(), 1)
	return &expiry{ttl: ms, every: max(ms/scansPerTTL, 1)}
}

// TTL is the vocabulary's ttl, 0 without one.
func (v *Vocab) TTL() time.Duration {
	if v.exp == nil {
		return 0
	}
	return time.Duration(v.exp.ttl) * time.Millisecond
}

// Evicted counts the strings the ttl evicted since the State was created
// (or decoded: the count is not persisted).
func (v *Vocab) Evicted() uint64 { return v.evicted }

// Free is the number of holes: ids of evicted strings that the next
// admissions reuse.
func (v *Vocab) Free() int { return len(v.free) }

func (v *Vocab) isHole(i int) bool {
	return i/64 < len(v.holes) && v.holes[i/64]&(1<<(i%64)) != 0
}

// setNow sets the event time of the example being fitted and advances the
// clock.
func (e *expiry) setNow(ts int64) {
	e.now = ts
	e.clock = max(e.clock, ts)
}

// touch records an occurrence of token index i at the current example's ts.
func (v *Vocab) touch(i int) {
	if e := v.exp; e != nil && e.now > e.lastSeen[i] {
		e.lastSeen[i] = e.now
	}
}

// stamp records the admission of token index i (a new index or a reused
// hole) at the current example's ts.
func (v *Vocab) stamp(i int) {
	e := v.exp
	if e == nil {
		return
	}
	if i == len(e.lastSeen) {
		e.lastSeen = append(e.lastSeen, e.now)
	} else {
		e.lastSeen[i] = e.now
	}
}

// expire evicts the strings last seen more than ttl before now (at most
// the clock; 0: the clock) and returns their ids and strings. Unless force,
// it scans only once per ttl/scansPerTTL of now and returns nil in
// between.
func (v *Vocab) expire(now int64, force bool) (ids []int32, toks []string) {
	e := v.exp
	if e == nil || e.clock == 0 {
		return nil, nil
	}
	if now <= 0 || now > e.clock {
		now = e.clock
	}
	if !force && now < e.next {
		return nil, nil
	}
	e.next = now + e.every
	cutoff := now - e.ttl
	for i := range v.tokens {
		if v.isHole(i) {
			continue
		}
		switch seen := e.lastSeen[i]; {
		case seen == 0:
			e.lastSeen[i] = now
		case seen < cutoff:
			ids = append(ids, int32(v.oov+i))
			toks = append(toks, v.tokens[i])
			v.evict(i)
		}
	}
	if len(ids) > 0 {
		v.reindex()
	}
	return ids, toks
}

// evict turns token index i into a hole; the caller rebuilds the index.
func (v *Vocab) evict(i int) {
	v.markHole(i)
	v.tokens[i] = ""
	if v.exp != nil {
		v.exp.lastSeen[i] = 0
	}
	v.free = append(v.free, int32(i))
	v.evicted++
}

func (v *Vocab) markHole(i int) {
	if need := (len(v.tokens) + 63) / 64; len(v.holes) < need {
		v.holes = append(v.holes, make([]uint64, need-len(v.holes))...)
	}
	v.holes[i/64] |= 1 << (i % 64)
}

// reindex rebuilds the index from the live tokens, which drops the evicted
// ones and their bytes.
func (v *Vocab) reindex() {
	v.index = table{}
	for i, t := range v.tokens {
		if !v.isHole(i) {
			v.index.insert(hashString(t), t, i)
		}
	}
}

// Expired lists the ids one vocabulary evicted: the rows a model keeps for
// them must go back to their initial values before the ids are reused (see
// trainer.Model.Forget).
type Expired struct {
	Feature string
	// WideSlot is the feature's slot in Layout.Wide, -1 when not wide;
	// DeepField its field in Layout.Deep, -1 when not deep.
	WideSlot, DeepField int
	// IDs are the evicted ids, now holes.
	IDs []int32
	// Tokens are the evicted strings, in the order of IDs.
	Tokens []string
}

// Expire evicts, from every vocabulary with a ttl, the strings not fitted
// for ttl of event time before now, and returns what it evicted (nil when
// nothing). now is the caller's event-time clock, Unix milliseconds: the
// streaming trainer passes the low watermark of its partitions (the
// oldest of their newest examples), so that a partition read ahead of the
// others in a backlog does not evict strings the others are about to
// bring; a now beyond the newest example fitted, or 0, means the newest
// example fitted. A vocabulary scans once per 1/64 of its ttl of now; in
// between Expire returns at once, so the trainer calls it after every
// batch. The caller must reset the model's rows of the returned ids
// before it trains on another batch (Fit may reuse them for new strings).
// Like Fit, it needs exclusive access.
func (s *State) Expire(now int64) []Expired { return s.expire(now, false) }

// ExpireNow is Expire at the newest example fitted, without the wait
// between scans: a backfill calls it once after fitting all its examples.
func (s *State) ExpireNow() []Expired { return s.expire(0, true) }

func (s *State) expire(now int64, force bool) []Expired {
	var out []Expired
	for _, c := range s.cats {
		ids, toks := c.vocab.expire(now, force)
		if len(ids) == 0 {
			continue
		}
		out = append(out, Expired{Feature: c.name, WideSlot: c.wideSlot, DeepField: c.deepField, IDs: ids, Tokens: toks})
	}
	return out
}
