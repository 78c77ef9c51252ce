package join

// offsetQueue tracks the records of one input in arrival order, each with
// its caller offset and whether its work is finished; it answers the offset
// that is safe to commit. Entries are addressed by a sequence number (the
// count of records pushed before), so no pointer into the queue is kept.
type offsetQueue struct {
	base    int64 // sequence number of entries[0]
	entries []offsetEntry
	next    int64 // one past the last offset pushed; -1 before any
	tracked bool
}

// offsetEntry is a record's offset plus one (offsets are >= -1) in the low
// 63 bits and its done flag in the top bit: 8 bytes a record.
type offsetEntry uint64

const entryDone = offsetEntry(1) << 63

func (e offsetEntry) offset() int64 { return int64(e&^entryDone) - 1 }
func (e offsetEntry) done() bool    { return e&entryDone != 0 }

// push adds a record and returns its sequence number.
func (q *offsetQueue) push(offset int64) int64 {
	if offset >= 0 {
		q.tracked = true
		q.next = offset + 1
	}
	q.entries = append(q.entries, offsetEntry(max(offset, -1)+1))
	return q.base + int64(len(q.entries)) - 1
}

// done marks the record with sequence number seq finished.
func (q *offsetQueue) done(seq int64) {
	q.entries[seq-q.base] |= entryDone
}

// trim drops the finished prefix, releasing memory in large steps.
func (q *offsetQueue) trim() {
	i := 0
	for i < len(q.entries) && q.entries[i].done() {
		i++
	}
	if i == 0 {
		return
	}
	q.base += int64(i)
	if i == len(q.entries) {
		q.entries = q.entries[:0]
		return
	}
	if i > len(q.entries)/2 { // compact: keep memory proportional to the live part
		n := copy(q.entries, q.entries[i:])
		q.entries = q.entries[:n]
		return
	}
	q.entries = q.entries[i:]
}

// committed is the offset of the first unfinished record, or one past the
// last offset when all are finished, or -1 when no offset was tracked.
func (q *offsetQueue) committed() int64 {
	if !q.tracked {
		return -1
	}
	for _, e := range q.entries {
		if !e.done() {
			return e.offset()
		}
	}
	return q.next
}
