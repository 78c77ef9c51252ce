package simulate

import "container/heap"

// pending is an install scheduled to arrive at ts.
type pending struct {
	ts     int64
	seq    uint64 // scheduling order: breaks ts ties deterministically
	user   int32
	app    int32
	impID  string // empty for an unattributed install
	impDay int32
	impIdx int32 // index of the impression's record in its day
	impTS  int64 // the impression's ts
	dup    bool  // a duplicate log line of an install already scheduled
}

// installQueue is a min-heap of pending installs by (ts, seq).
type installQueue []pending

func (q installQueue) Len() int { return len(q) }
func (q installQueue) Less(i, j int) bool {
	if q[i].ts != q[j].ts {
		return q[i].ts < q[j].ts
	}
	return q[i].seq < q[j].seq
}
func (q installQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *installQueue) Push(x any)   { *q = append(*q, x.(pending)) }
func (q *installQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

func (q *installQueue) push(p pending) { heap.Push(q, p) }
func (q *installQueue) pop() pending   { return heap.Pop(q).(pending) }

// peek returns the earliest install's ts; ok is false when q is empty.
func (q installQueue) peek() (ts int64, ok bool) {
	if len(q) == 0 {
		return 0, false
	}
	return q[0].ts, true
}
