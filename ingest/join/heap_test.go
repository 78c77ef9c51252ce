package join

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestImpOrder pushes impressions mostly in (ts, id) order, some out of
// order, interleaved with taking out the least, and checks every removal
// against a sorted reference.
func TestImpOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var o impOrder[int]
	var ref []*pendingImp[int]
	ts := int64(0)
	inHeap := 0
	for i := range 200_000 {
		if r.IntN(3) > 0 || o.len() == 0 {
			ts += int64(r.IntN(3))
			at := ts
			if r.IntN(10) == 0 { // late
				at -= int64(r.IntN(50))
			}
			p := newPending(Key{ImpressionID: fmt.Sprintf("%x", r.Uint32()), TS: at}, 0, 0)
			before := len(o.heap)
			o.push(p)
			inHeap += len(o.heap) - before
			j, _ := slices.BinarySearchFunc(ref, p, func(a, b *pendingImp[int]) int {
				if less(a, b) {
					return -1
				}
				return 1
			})
			ref = slices.Insert(ref, j, p)
		} else {
			if got := o.min(); got != ref[0] {
				t.Fatalf("step %d: min %+v, want %+v", i, got.key(), ref[0].key())
			}
			o.popMin()
			ref = ref[1:]
		}
		if o.len() != len(ref) {
			t.Fatalf("step %d: len %d, want %d", i, o.len(), len(ref))
		}
	}
	for len(ref) > 0 {
		if got := o.min(); got != ref[0] {
			t.Fatalf("draining: min %+v, want %+v", got.key(), ref[0].key())
		}
		o.popMin()
		ref = ref[1:]
	}
	if inHeap == 0 || o.len() != 0 {
		t.Fatalf("%d went to the heap, %d left: the test does not cover both paths", inHeap, o.len())
	}
}
