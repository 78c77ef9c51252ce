package join

// impHeap orders pending impressions by (ts, id): the order of their window
// closing, with the id as a deterministic tie-break. It is on the path of
// every impression, so it has its own sift code (no container/heap
// interface calls); each element records its index for remove.
type impHeap[P any] []*pendingImp[P]

func (h impHeap[P]) less(i, j int) bool {
	if h[i].TS != h[j].TS {
		return h[i].TS < h[j].TS
	}
	return h[i].ImpressionID < h[j].ImpressionID
}

func (h impHeap[P]) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}

func (h *impHeap[P]) push(p *pendingImp[P]) {
	p.heapIdx = len(*h)
	*h = append(*h, p)
	h.up(p.heapIdx)
}

// remove takes the element at index i out of the heap.
func (h *impHeap[P]) remove(i int) {
	old := *h
	n := len(old) - 1
	if i != n {
		old.swap(i, n)
		if !old[:n].down(i) {
			old[:n].up(i)
		}
	}
	old[n].heapIdx = -1
	old[n] = nil
	*h = old[:n]
}

func (h impHeap[P]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

// down moves the element at i towards the leaves and reports whether it
// moved.
func (h impHeap[P]) down(i int) bool {
	start := i
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if r := c + 1; r < len(h) && h.less(r, c) {
			c = r
		}
		if !h.less(c, i) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
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
