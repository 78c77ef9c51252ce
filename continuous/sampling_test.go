package continuous

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wdstream/wdstream/trainer"
)

// TestStageDropsTheNegativesTheBackfillDrops runs the stage with
// negative_sampling 0.3 across a restart and checks from the checkpoints'
// trained logs that it trained exactly the examples the backfill trains
// (trainer.SampleNegatives, which Train uses), each once, and that its
// counters add up: trained plus dropped is every example.
func TestStageDropsTheNegativesTheBackfillDrops(t *testing.T) {
	sp := testSpec(t)
	sp.Model.NegativeSampling = 0.3
	h := newHarness(t, 2, sp)
	exs := worldExamples(t, 7, 2, 3000)
	kept, dropped, err := trainer.SampleNegatives(exs, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	first, second := exs[:4000], exs[4000:]
	produce(t, h.brokers, h.topic, first)
	h.run(int64(len(first)))
	reg := prometheus.NewRegistry()
	h.reg = reg
	produce(t, h.brokers, h.topic, second)
	h.run(int64(len(exs)))

	seen := h.trainedSet()
	if len(seen) != len(kept) {
		t.Errorf("the stage trained %d distinct examples, the backfill's rule keeps %d (of %d, %d dropped)", len(seen), len(kept), len(exs), dropped)
	}
	for _, ex := range kept {
		k := fmt.Sprintf("%s,%d", ex.ImpressionID, ex.Label)
		if seen[k] != 1 {
			t.Fatalf("example %s, which the backfill trains, was trained %d times by the stage", k, seen[k])
		}
	}
	// The second run's counters: its examples, trained or dropped.
	var wantDropped int
	for _, ex := range second {
		if !trainer.Keep(ex.ImpressionID, ex.Label == 1, 0.3) {
			wantDropped++
		}
	}
	got := gathered(t, reg)
	if got["wdstream_train_negatives_dropped_total"] != float64(wantDropped) || got["wdstream_train_examples_total"] != float64(len(second)-wantDropped) {
		t.Errorf("second run: %v trained, %v dropped; want %d and %d",
			got["wdstream_train_examples_total"], got["wdstream_train_negatives_dropped_total"], len(second)-wantDropped, wantDropped)
	}
}
