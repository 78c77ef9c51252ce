package continuous

import (
	"context"
	"testing"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/publisher"
)

// TestStageRecordsStatisticsSincePublish: every version the stage
// publishes records the statistics (package drift) of exactly the examples
// trained since the version before it: all of them for the first, then
// the difference of the two manifests' trained examples.
func TestStageRecordsStatisticsSincePublish(t *testing.T) {
	brokers := testenv.Brokers(t)
	topic := testenv.Topic(t, brokers, 2)
	ctx := context.Background()
	store, err := publisher.OpenStore(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := &harness{t: t, brokers: brokers, topic: topic, store: store, sp: testSpec(t)}
	exs := worldExamples(t, 7, 2, 5000)
	produce(t, brokers, topic, exs)
	h.run(int64(len(exs)))

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
		if want := m.Data.Examples - before; prof.Examples != want {
			t.Errorf("version %s: statistics of %d examples, want the %d trained since the version before", v, prof.Examples, want)
		}
		before = m.Data.Examples
	}
}
