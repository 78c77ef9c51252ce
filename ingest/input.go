package ingest

import (
	"math"
	"time"

	"github.com/wdstream/wdstream/kafka"
)

// input is one of the two inputs of a partition's merge: the records
// fetched from one topic partition and not yet merged.
type input struct {
	topic     string
	ch        chan kafka.Fetched
	status    *kafka.FetchStatus // the fetcher's word on the partition's end (fresh within kafka.ConfirmFresh)
	buf       []kafka.Message
	pos       int
	next      int64 // offset after the last record merged or skipped
	fetchNext int64 // offset after the last record fetched

	// live: the last record read was appended to Kafka within the idle
	// bound of its event time (see emptyUntil).
	live bool

	// The head (buf[pos]) once decoded and valid.
	hasHead bool
	headTS  int64
}

func (in *input) drained() bool { return in.pos == len(in.buf) }

// set replaces a drained buffer with a fetched batch.
func (in *input) set(b kafka.Fetched) {
	in.buf, in.pos = b.Msgs, 0
	in.hasHead = false
	in.fetchNext = b.Next
}

// advance moves past the head.
func (in *input) advance() {
	in.next = in.buf[in.pos].Offset + 1
	in.buf[in.pos] = kafka.Message{} // release the bytes: the joiner keeps its own reference
	in.pos++
	in.hasHead = false
	if in.drained() {
		in.buf, in.pos = nil, 0
		in.next = max(in.next, in.fetchNext)
	}
}

// noteHead records the head's event time ts and whether it came from a
// live producer: one that appended it (Kafka timestamp appended, Unix ms;
// <= 0 when the producer set none) within idle of ts.
func (in *input) noteHead(ts, appended int64, idle time.Duration) {
	in.headTS = ts
	in.live = appended > 0 && appended-ts <= idle.Milliseconds()
}

// quiet reports whether the input has nothing to merge, its fetcher has
// fetched every record of the partition, and no record has been appended
// for idle, by the broker's recent word (kafka.FetchStatus).
func (in *input) quiet(now time.Time, idle time.Duration) bool {
	return in.drained() && len(in.ch) == 0 && in.status.CaughtUp() && in.status.Still(now, idle)
}

// emptyUntil returns the event time up to which the input counts as empty,
// other being the merge's other input: wall clock minus idle when the
// input is quiet and either
//   - it is live (its producer logs in real time, so a record it has yet
//     to send carries an event time after wall clock minus idle), or
//   - no record has been appended to the other input for idle either (the
//     end of the data: a replay that finished, or traffic that stopped),
//     whether or not the merge has read it all;
//
// else math.MinInt64, and the merge waits for the input's records. A quiet
// input that is not live (a replay's old event times, or an input that has
// delivered nothing yet) while the other input still delivers is waited
// for: its producer may be behind.
func (in *input) emptyUntil(now time.Time, idle time.Duration, other *input) int64 {
	if !in.quiet(now, idle) || !(in.live || other.status.Still(now, idle)) {
		return math.MinInt64
	}
	return now.Add(-idle).UnixMilli()
}
