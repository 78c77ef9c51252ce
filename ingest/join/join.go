package join

import (
	"container/heap"
	"errors"
	"fmt"
	"time"
	"unsafe"
)

// Config configures a Joiner.
type Config struct {
	// Window is the label window: an install counts when it arrives within
	// Window after the impression's ts. Required, > 0.
	Window time.Duration
	// MaxPending caps the pending impressions; 0 means 2,000,000.
	MaxPending int
}

func (c *Config) validate() error {
	if c.Window <= 0 {
		return fmt.Errorf("join: label window must be > 0, got %v", c.Window)
	}
	if c.MaxPending < 0 {
		return fmt.Errorf("join: max pending must be >= 0, got %d", c.MaxPending)
	}
	if c.MaxPending == 0 {
		c.MaxPending = 2_000_000
	}
	return nil
}

// Key identifies an impression for the join.
type Key struct {
	ImpressionID string
	TS           int64 // Unix milliseconds
	UserID       string
	AppID        string
}

// Install is what the join needs of an install event.
type Install struct {
	TS           int64
	ImpressionID string // empty: attribute by user and app
	UserID       string
	AppID        string
}

// Result is one labeled impression.
type Result[P any] struct {
	Key
	Payload   P
	Label     int32
	InstallTS int64 // the matching install's ts when Label is 1
	// Forced is true when the impression was closed before its window ended
	// because the pending state was full.
	Forced bool
}

// Stats counts what the joiner did. Every install ends in exactly one of
// Matched, Duplicates, Late, Orphans and OutOfWindow (or is still Held).
type Stats struct {
	Impressions     int64 // impressions added
	DupImpressions  int64 // impressions whose id was already pending (ignored)
	LateImpressions int64 // impressions whose window had already closed on arrival
	Emitted         int64
	Positives       int64
	Forced          int64 // closed early because MaxPending was reached
	Installs        int64
	Matched         int64
	Duplicates      int64 // a second install for an impression already matched
	Late            int64 // the impression had already been emitted
	Orphans         int64 // no impression matched
	OutOfWindow     int64 // the impression exists but the install is outside its window
	Pending         int64 // impressions waiting for their window to close
	Held            int64 // installs waiting for their impression
}

// Joiner labels impressions; it is not safe for concurrent use (run one per
// partition). P is the impression's payload carried to the output (a decoded
// impression in backfill, the raw message in the streaming stage).
type Joiner[P any] struct {
	cfg    Config
	window int64 // ms
	wm     int64 // watermark: no event with ts < wm is expected

	pending map[string]*pendingImp[P]
	byUA    map[uaKey]*pendingImp[P] // the latest of each (user, app) list
	order   impOrder[P]              // by (close, ts, id)
	matches map[int64]match          // by pendingImp.seq: the matched ones

	early   map[string][]*heldInstall // by impression id
	earlyUA map[uaKey][]*heldInstall  // unattributed, by user and app
	expiry  installHeap               // held installs by ts

	recent   map[string]bool // emitted ids -> positive, until forgotten
	recentUA map[uaKey]bool  // (user, app) of emitted impressions -> positive
	forget   forgetQueue     // emitted impressions by forget time
	impQ     offsetQueue     // impression offsets in arrival order
	insQ     offsetQueue     // install offsets in arrival order
	stats    Stats

	keyBytes    int64 // heap bytes of the keys of pending and remembered impressions
	pendingSize int64 // heap bytes of one pendingImp[P]
}

type heldInstall struct {
	Install
	seq     int64 // entry in insQ
	heapIdx int
}

// New returns a Joiner whose watermark starts at the minimum int64.
func New[P any](cfg Config) (*Joiner[P], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Joiner[P]{
		pendingSize: allocSize(int64(unsafe.Sizeof(pendingImp[P]{}))),
		cfg:         cfg,
		window:      cfg.Window.Milliseconds(),
		wm:          -1 << 63,
		pending:     map[string]*pendingImp[P]{},
		byUA:        map[uaKey]*pendingImp[P]{},
		matches:     map[int64]match{},
		early:       map[string][]*heldInstall{},
		earlyUA:     map[uaKey][]*heldInstall{},
		recent:      map[string]bool{},
		recentUA:    map[uaKey]bool{},
	}, nil
}

// Stats returns the counters so far.
func (j *Joiner[P]) Stats() Stats {
	s := j.stats
	s.Pending = int64(len(j.pending))
	s.Held = int64(len(j.expiry))
	return s
}

// Watermark returns the current watermark.
func (j *Joiner[P]) Watermark() int64 { return j.wm }

// ErrFull is returned (wrapped) by AddImpression when the pending state is
// full and the emit callback of the forced close failed.
var ErrFull = errors.New("join: pending impressions at capacity")

// AddImpression adds one impression with its payload. offset is the
// caller's position of the record (for Committed); pass -1 when untracked.
// When MaxPending is reached, the oldest pending impression is emitted early
// through emit, marked Forced.
func (j *Joiner[P]) AddImpression(k Key, payload P, offset int64, emit func(Result[P]) error) error {
	j.stats.Impressions++
	seq := j.impQ.push(offset)
	if _, dup := j.pending[k.ImpressionID]; dup {
		j.stats.DupImpressions++
		j.impQ.done(seq)
		return nil
	}
	if _, was := j.recent[k.ImpressionID]; was {
		j.stats.DupImpressions++
		j.impQ.done(seq)
		return nil
	}
	if len(j.pending) >= j.cfg.MaxPending {
		oldest := j.order.min()
		if err := j.close(oldest, true, emit); err != nil {
			return fmt.Errorf("%w: %w", ErrFull, err)
		}
	}
	p := newPending(k, payload, seq)
	j.keyBytes += allocSize(int64(len(p.keys)))
	if k.TS+j.window < j.wm {
		j.stats.LateImpressions++
	}
	j.pending[p.id()] = p
	ua := p.ua()
	if last := j.byUA[ua]; last != nil {
		last.uaNext, p.uaPrev = p, last
	}
	j.byUA[ua] = p
	j.order.push(p)
	j.claimEarly(p)
	return nil
}

// claimEarly attaches held installs that arrived before impression p.
// Installs are rarely held, so the lookups are skipped when none is.
func (j *Joiner[P]) claimEarly(p *pendingImp[P]) {
	if len(j.early) > 0 {
		if held := j.early[p.id()]; len(held) > 0 {
			kept := held[:0]
			for _, h := range held {
				if h.TS < p.ts || h.TS > p.ts+j.window {
					kept = append(kept, h) // outside its window: an orphan when it expires
					continue
				}
				j.unhold(h)
				j.matchTo(p, h.TS, h.seq)
			}
			if len(kept) == 0 {
				delete(j.early, p.id())
			} else {
				j.early[p.id()] = kept
			}
		}
	}
	if len(j.earlyUA) == 0 {
		return
	}
	ua := p.ua()
	held := j.earlyUA[ua]
	if len(held) == 0 {
		return
	}
	kept := held[:0]
	for _, h := range held {
		if h.TS >= p.ts && h.TS <= p.ts+j.window {
			j.unhold(h)
			j.matchTo(p, h.TS, h.seq)
			continue
		}
		kept = append(kept, h)
	}
	j.setEarlyUA(ua, kept)
}

func (j *Joiner[P]) setEarlyUA(ua uaKey, held []*heldInstall) {
	if len(held) == 0 {
		delete(j.earlyUA, ua)
		return
	}
	j.earlyUA[ua] = held
}

// AddInstall adds one install; offset as for AddImpression.
func (j *Joiner[P]) AddInstall(in Install, offset int64) {
	j.stats.Installs++
	seq := j.insQ.push(offset)
	if in.ImpressionID != "" {
		if p, ok := j.pending[in.ImpressionID]; ok {
			if in.TS < p.ts || in.TS > p.ts+j.window {
				j.stats.OutOfWindow++
				j.insQ.done(seq)
				return
			}
			j.matchTo(p, in.TS, seq)
			return
		}
		if pos, ok := j.recent[in.ImpressionID]; ok {
			j.resolveEmitted(pos, seq)
			return
		}
		j.hold(in, seq)
		return
	}
	ua := installUA(&in)
	for p := j.byUA[ua]; p != nil; p = p.uaPrev { // latest impression first
		if in.TS >= p.ts && in.TS <= p.ts+j.window {
			j.matchTo(p, in.TS, seq)
			return
		}
	}
	if pos, ok := j.recentUA[ua]; ok {
		j.resolveEmitted(pos, seq)
		return
	}
	j.hold(in, seq)
}

// resolveEmitted counts an install whose impression was already emitted.
func (j *Joiner[P]) resolveEmitted(positive bool, seq int64) {
	if positive {
		j.stats.Duplicates++
	} else {
		j.stats.Late++
	}
	j.insQ.done(seq)
}

func (j *Joiner[P]) matchTo(p *pendingImp[P], ts int64, seq int64) {
	if _, dup := j.matches[p.seq]; dup {
		j.stats.Duplicates++
		j.insQ.done(seq)
		return
	}
	j.stats.Matched++
	j.matches[p.seq] = match{ts: ts, seq: seq}
}

// hold keeps an install that matches no pending impression until the
// watermark passes its ts + window: an impression that could match it has
// ts <= in.TS, and is accepted (not late) until the watermark passes its
// ts + window. In event-time order such an impression always comes first,
// so holding changes nothing there; held, an install survives an
// impression that arrives after it (a topic out of ts order, or one input
// read ahead of the other) as long as the impression is not late itself.
func (j *Joiner[P]) hold(in Install, seq int64) {
	if in.TS+j.window < j.wm { // no impression that could match it is accepted any more
		j.stats.Orphans++
		j.insQ.done(seq)
		return
	}
	h := &heldInstall{Install: in, seq: seq}
	heap.Push(&j.expiry, h)
	if in.ImpressionID != "" {
		j.early[in.ImpressionID] = append(j.early[in.ImpressionID], h)
	} else {
		ua := installUA(&in)
		j.earlyUA[ua] = append(j.earlyUA[ua], h)
	}
}

func (j *Joiner[P]) unhold(h *heldInstall) {
	if h.heapIdx >= 0 {
		heap.Remove(&j.expiry, h.heapIdx)
	}
}

// Advance moves the watermark to wm (it never moves back) and emits, in
// (ts, id) order, every impression whose window has closed: ts + window < wm.
// Held installs with ts + window < wm become orphans.
func (j *Joiner[P]) Advance(wm int64, emit func(Result[P]) error) error {
	if wm <= j.wm {
		return nil
	}
	j.wm = wm
	for len(j.expiry) > 0 && j.expiry[0].TS+j.window < wm {
		h := heap.Pop(&j.expiry).(*heldInstall)
		j.dropHeld(h)
		j.stats.Orphans++
		j.insQ.done(h.seq)
	}
	for j.order.len() > 0 && j.order.min().ts+j.window < wm {
		if err := j.close(j.order.min(), false, emit); err != nil {
			return err
		}
	}
	for j.forget.len() > 0 && j.forget.first().at < wm {
		f := j.forget.pop()
		delete(j.recent, f.id())
		delete(j.recentUA, f.ua())
		j.keyBytes -= allocSize(int64(len(f.keys)))
	}
	j.impQ.trim()
	j.insQ.trim()
	return nil
}

// Flush emits every pending impression and orphans every held install, as
// at the end of a finite input.
func (j *Joiner[P]) Flush(emit func(Result[P]) error) error {
	return j.Advance(1<<63-1, emit)
}

func (j *Joiner[P]) dropHeld(h *heldInstall) {
	if h.ImpressionID != "" {
		j.early[h.ImpressionID] = removePtr(j.early[h.ImpressionID], h)
		if len(j.early[h.ImpressionID]) == 0 {
			delete(j.early, h.ImpressionID)
		}
		return
	}
	ua := installUA(&h.Install)
	j.setEarlyUA(ua, removePtr(j.earlyUA[ua], h))
}

// close emits p, the least pending impression, and removes it from the
// pending state.
func (j *Joiner[P]) close(p *pendingImp[P], forced bool, emit func(Result[P]) error) error {
	m, matched := j.matches[p.seq]
	r := Result[P]{Key: p.key(), Payload: p.payload, Forced: forced}
	if matched {
		r.Label = 1
		r.InstallTS = m.ts
	}
	if err := emit(r); err != nil {
		return fmt.Errorf("join: emitting impression %q: %w", r.ImpressionID, err)
	}
	j.order.popMin() // p is the least: close is only called on it
	delete(j.pending, r.ImpressionID)
	ua := p.ua()
	switch {
	case p.uaNext != nil: // not the latest: byUA is unchanged
		p.uaNext.uaPrev = p.uaPrev
	case p.uaPrev != nil:
		j.byUA[ua] = p.uaPrev
	default:
		delete(j.byUA, ua)
	}
	if p.uaPrev != nil {
		p.uaPrev.uaNext = p.uaNext
	}
	p.uaPrev, p.uaNext = nil, nil
	j.impQ.done(p.seq)
	if matched {
		delete(j.matches, p.seq)
		j.insQ.done(m.seq)
	}
	j.stats.Emitted++
	if matched {
		j.stats.Positives++
	}
	if forced {
		j.stats.Forced++
	}
	j.recent[r.ImpressionID] = matched
	j.recentUA[ua] = matched
	j.forget.push(forgetEntry{at: p.ts + 2*j.window, keys: p.keys, idEnd: p.idEnd, userEnd: p.userEnd})
	return nil
}

// Committed returns, for impressions and installs, the offset of the first
// record whose work is not finished (every record before it has been fully
// accounted for: emitted, or resolved with its impression emitted), or one
// past the last offset added when all are finished, or -1 when no offset was
// ever tracked. Committing these offsets and replaying from them after a
// crash reproduces every example not yet emitted.
func (j *Joiner[P]) Committed() (impressions, installs int64) {
	j.impQ.trim()
	j.insQ.trim()
	return j.impQ.committed(), j.insQ.committed()
}

func removePtr[T any](s []*T, x *T) []*T {
	for i, v := range s {
		if v == x {
			copy(s[i:], s[i+1:])
			s[len(s)-1] = nil
			return s[:len(s)-1]
		}
	}
	return s
}
