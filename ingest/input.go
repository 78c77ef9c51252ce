package ingest

import (
	"math"
	"time"
)

// input is one of the two inputs of a partition's merge: the records
// fetched from one topic partition and not yet merged.
type input struct {
	topic     string
	ch        chan fetched
	buf       []msg
	pos       int
	next      int64     // offset after the last record merged or skipped
	fetchNext int64     // offset after the last record fetched
	hwm       int64     // high watermark of the last fetch; -1 before any
	last      time.Time // when a fetch last delivered records (or the start)

	// The head (buf[pos]) once decoded and valid.
	hasHead bool
	headTS  int64
}

func (in *input) drained() bool { return in.pos == len(in.buf) }

// set replaces a drained buffer with a fetched batch.
func (in *input) set(b fetched, now time.Time) {
	in.buf, in.pos = b.msgs, 0
	in.hasHead = false
	if b.hwm >= 0 {
		in.hwm = b.hwm
	}
	in.fetchNext = b.next
	if len(b.msgs) > 0 {
		in.last = now
	}
}

// advance moves past the head.
func (in *input) advance() {
	in.next = in.buf[in.pos].offset + 1
	in.buf[in.pos] = msg{} // release the bytes: the joiner keeps its own reference
	in.pos++
	in.hasHead = false
	if in.drained() {
		in.buf, in.pos = nil, 0
		in.next = max(in.next, in.fetchNext)
	}
}

// emptyUntil returns the event time up to which a quiet input counts as
// empty: wall clock minus idle when the input is caught up (nothing
// buffered, fetched up to the high watermark) and has delivered nothing for
// idle; else math.MinInt64.
func (in *input) emptyUntil(now time.Time, idle time.Duration) int64 {
	if !in.drained() || in.hwm < 0 || in.fetchNext < in.hwm || now.Sub(in.last) < idle {
		return math.MinInt64
	}
	return now.Add(-idle).UnixMilli()
}
