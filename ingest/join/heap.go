package join

// impOrder orders pending impressions by (ts, id): the order of their window
// closing, since every window has the same length. Impressions mostly
// arrive in that order (each partition's events are merged by event time),
// so those that extend the order go to a FIFO queue and only the others to
// a heap; the least of both heads comes out first. The joiner only ever
// takes out the least pending impression.
type impOrder[P any] struct {
	fifo []*pendingImp[P] // in (ts, id) order from head
	head int
	heap impHeap[P]
}

func (o *impOrder[P]) len() int { return len(o.fifo) - o.head + len(o.heap) }

func (o *impOrder[P]) push(p *pendingImp[P]) {
	if n := len(o.fifo); n == o.head || less(o.fifo[n-1], p) {
		o.fifo = append(o.fifo, p)
		return
	}
	o.heap.push(p)
}

// min returns the least pending impression; o must not be empty.
func (o *impOrder[P]) min() *pendingImp[P] {
	if o.head == len(o.fifo) || (len(o.heap) > 0 && less(o.heap[0], o.fifo[o.head])) {
		return o.heap[0]
	}
	return o.fifo[o.head]
}

// popMin takes out the least pending impression; o must not be empty.
func (o *impOrder[P]) popMin() {
	if o.head == len(o.fifo) || (len(o.heap) > 0 && less(o.heap[0], o.fifo[o.head])) {
		o.heap.pop()
		return
	}
	o.fifo[o.head] = nil
	o.head++
	switch {
	case o.head == len(o.fifo):
		o.fifo, o.head = o.fifo[:0], 0
	case o.head >= 1024 && 2*o.head >= len(o.fifo): // reuse the front
		n := copy(o.fifo, o.fifo[o.head:])
		clear(o.fifo[n:])
		o.fifo, o.head = o.fifo[:n], 0
	}
}

func less[P any](a, b *pendingImp[P]) bool {
	if a.ts != b.ts {
		return a.ts < b.ts
	}
	return a.id() < b.id()
}

// impHeap is a binary min-heap of pending impressions by (ts, id).
type impHeap[P any] []*pendingImp[P]

func (h *impHeap[P]) push(p *pendingImp[P]) {
	*h = append(*h, p)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !less(s[i], s[parent]) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

// pop takes out the least element.
func (h *impHeap[P]) pop() {
	s := *h
	n := len(s) - 1
	s[0] = s[n]
	s[n] = nil
	s = s[:n]
	*h = s
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && less(s[r], s[c]) {
			c = r
		}
		if !less(s[c], s[i]) {
			return
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
}

// installHeap orders held installs by ts, for expiry.
type installHeap []*heldInstall

func (h installHeap) Len() int           { return len(h) }
func (h installHeap) Less(i, j int) bool { return h[i].TS < h[j].TS }
func (h installHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *installHeap) Push(x any) {
	p := x.(*heldInstall)
	p.heapIdx = len(*h)
	*h = append(*h, p)
}
func (h *installHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	p.heapIdx = -1
	return p
}
