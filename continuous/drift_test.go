package continuous

import (
	"context"
	"math"
	"testing"
)

// TestStageRecordsStatisticsSincePublish: every version the stage
// publishes records the statistics (package drift) of the examples
// trained since the version before it (all of them for the first, then
// the difference of the two manifests' trained examples), a random tenth
// of them counted.
func TestStageRecordsStatisticsSincePublish(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, 2, testSpec(t))
	exs := worldExamples(t, 7, 2, 5000)
	produce(t, h.brokers, h.topic, exs)
	h.run(int64(len(exs)))
	store := h.store

	vs, err := store.Versions(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 2 {
		t.Fatalf("%d versions published, want 2 or more", len(vs))
	}
	var before int64
	for _, v := range vs {
		m, err := store.Manifest(ctx, "m", v)
		if err != nil {
			t.Fatal(err)
		}
		prof, err := store.Profile(ctx, m)
		if err != nil || prof == nil {
			t.Fatalf("version %s: statistics %v (%v)", v, prof, err)
		}
		t.Logf("version %s: statistics of %d examples, %d trained in all", v, prof.Examples, m.Data.Examples)
		// Binomial(since, profileSample): within 4 standard deviations.
		since := float64(m.Data.Examples - before)
		if d := float64(prof.Examples) - since*profileSample; math.Abs(d) > 4*math.Sqrt(since*profileSample*(1-profileSample))+1 {
			t.Errorf("version %s: statistics of %d examples, want about a tenth of the %.0f trained since the version before", v, prof.Examples, since)
		}
		before = m.Data.Examples
	}
}
