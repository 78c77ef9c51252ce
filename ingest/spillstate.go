package ingest

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/wdstream/wdstream/ingest/join"
)

// impPayload is what the joiner keeps of a pending impression: the raw
// message, nil when it is in the partition's spill (joinState.spilled
// says where), and its offset.
type impPayload struct {
	raw []byte
	off int64 // in impressions[p]
}

// spilledEntryBytes estimates the heap of an entry of joinState.spilled:
// a 24-byte slot in a map between half and seven eighths full.
const spilledEntryBytes = 40

// stateBudget is the join stage's memory budget (JoinConfig.MaxStateBytes)
// over the state of all the partitions it runs: their total of state bytes
// (joinState.bytes), and whether new messages go to the spill. Spilling
// starts when the total goes over the budget and stops when it is back
// under seven eighths of it, so that it does not flap at the edge.
type stateBudget struct {
	max      int64 // 0: no budget
	total    atomic.Int64
	spilling atomic.Bool
	logger   *slog.Logger
	root     *spillRoot // the stage's spill directory; nil without a budget
	seq      atomic.Int64
	segBytes int64
	c        spillCounters
}

// add adds d to the total and switches spilling on or off.
func (b *stateBudget) add(d int64) {
	t := b.total.Add(d)
	switch {
	case b.max <= 0:
	case t > b.max:
		if !b.spilling.Load() && b.spilling.CompareAndSwap(false, true) {
			b.logger.Info("join state over its memory budget: the messages of new pending impressions go to disk until it is back under 7/8 of it",
				"state_bytes", t, "max_state_bytes", b.max, "spill_dir", b.root.dir)
		}
	case t <= b.max-b.max/8:
		if b.spilling.Load() && b.spilling.CompareAndSwap(true, false) {
			b.logger.Info("join state back under its memory budget: new messages stay in memory",
				"state_bytes", t, "max_state_bytes", b.max, "spilled_total", b.c.written.Load(), "spilled_now", b.c.live.Load())
		}
	}
}

// joinState is the join state of one partition: the joiner, the messages
// of its pending impressions, in memory or in the partition's spill, and
// their part in the stage's budget. Its bytes are the messages in memory,
// the joiner's IndexBytes and spilledEntryBytes per spilled message.
type joinState struct {
	j       *join.Joiner[impPayload]
	budget  *stateBudget
	spill   *spillStore        // created with the first spilled message
	spilled map[int64]spillRef // by offset: the spilled messages of pending impressions
	part    int
	mem     int64  // bytes of the messages in memory
	noted   int64  // bytes last added to the budget's total
	slack   int64  // how far bytes may drift from noted before it is added
	buf     []byte // the last message read back from the spill
}

// newJoinState returns the state of partition p, one of the stage's
// partitions.
func newJoinState(j *join.Joiner[impPayload], b *stateBudget, p, partitions int) joinState {
	slack := int64(1 << 20) // the gauge only
	if b.max > 0 {
		slack = min(64<<10, max(b.max/int64(16*max(partitions, 1)), 1))
	}
	return joinState{j: j, budget: b, part: p, slack: slack, spilled: map[int64]spillRef{}}
}

// addImpression adds an impression with its message, kept as read or,
// while the stage is over its budget, written to the spill. A duplicate,
// which the joiner ignores, keeps nothing.
func (st *joinState) addImpression(k join.Key, raw []byte, off int64, emit func(join.Result[impPayload]) error) error {
	p := impPayload{raw: raw, off: off}
	if !st.j.Known(k.ImpressionID) {
		if st.budget.spilling.Load() {
			ref, err := st.spillPut(raw)
			if err != nil {
				return err
			}
			st.spilled[off] = ref
			p = impPayload{off: off}
		} else {
			st.mem += int64(len(raw))
		}
	}
	return st.j.AddImpression(k, p, off, emit)
}

func (st *joinState) spillPut(raw []byte) (spillRef, error) {
	if st.spill == nil {
		b := st.budget
		st.spill = newSpillStore(b.root.dir, fmt.Sprintf("p%d-%d", st.part, b.seq.Add(1)), b.segBytes, &b.c)
	}
	return st.spill.put(raw)
}

// take returns the message of an impression leaving the state (read back
// from the spill into a buffer valid until the next take) and drops it
// from the state; with read false it only drops it.
func (st *joinState) take(p impPayload, read bool) ([]byte, error) {
	if p.raw != nil {
		st.mem -= int64(len(p.raw))
		return p.raw, nil
	}
	ref, ok := st.spilled[p.off]
	if !ok {
		return nil, fmt.Errorf("join spill: no message at offset %d (internal error)", p.off)
	}
	delete(st.spilled, p.off)
	if !read {
		return nil, st.spill.drop(ref)
	}
	b, err := st.spill.take(ref, st.buf)
	if err != nil {
		return nil, err
	}
	st.buf = b
	return b, nil
}

// bytes estimates the heap the state takes.
func (st *joinState) bytes() int64 {
	return st.mem + st.j.IndexBytes() + int64(len(st.spilled))*spilledEntryBytes
}

// note adds the change of the state's bytes to the budget, once it is
// over the slack, or always with exact.
func (st *joinState) note(exact bool) {
	d := st.bytes() - st.noted
	if d == 0 || (!exact && d < st.slack && d > -st.slack) {
		return
	}
	st.noted += d
	st.budget.add(d)
}

// close takes the state out of the budget and deletes its spill.
func (st *joinState) close() error {
	st.budget.add(-st.noted)
	st.noted = 0
	if st.spill == nil {
		return nil
	}
	return st.spill.close()
}
