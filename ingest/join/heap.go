package join

// impHeap orders pending impressions by (ts, id): the order of their window
// closing, with the id as a deterministic tie-break.
type impHeap[P any] []*pendingImp[P]

func (h impHeap[P]) Len() int { return len(h) }
func (h impHeap[P]) Less(i, j int) bool {
	if h[i].TS != h[j].TS {
		return h[i].TS < h[j].TS
	}
	return h[i].ImpressionID < h[j].ImpressionID
}
func (h impHeap[P]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *impHeap[P]) Push(x any) {
	p := x.(*pendingImp[P])
	p.heapIdx = len(*h)
	*h = append(*h, p)
}
func (h *impHeap[P]) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	p.heapIdx = -1
	return p
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
