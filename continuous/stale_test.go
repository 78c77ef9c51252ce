package continuous

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/simulate"
	"github.com/wdstream/wdstream/trainer"
)

// TestContinuousBeatsStale streams several simulated days whose tastes
// drift and whose catalog grows (simulate's TasteDrift and new apps) into
// the stage, holding back the newest hour, and compares the first version
// the stage published with the latest one on that hour: the model kept up
// to date must rank it better than the stale one.
func TestContinuousBeatsStale(t *testing.T) {
	days, perDay := 4, 30000
	if raceEnabled {
		perDay = 12000
	}
	truth := simulate.DefaultTruth()
	truth.TasteDrift = 1.2 // twice the default: a clear drift in four days
	w, err := simulate.NewWorld(simulate.Config{Seed: 13, Users: 3000, Apps: 300, Days: days, ImpressionsPerDay: perDay, Truth: &truth})
	if err != nil {
		t.Fatal(err)
	}
	exs, err := simulate.Examples(context.Background(), w, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	maxTS := int64(0)
	for i := range exs {
		maxTS = max(maxTS, exs[i].TS)
	}
	var stream, newest []schemas.Example
	for i := range exs {
		if exs[i].TS > maxTS-3600_000 {
			newest = append(newest, exs[i])
		} else {
			stream = append(stream, exs[i])
		}
	}

	brokers := testenv.Brokers(t)
	topic := testenv.Topic(t, brokers, 2)
	store, err := publisher.OpenStore(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sp := testSpec(t)
	sp.Publish.EveryExamples = len(stream) / 8
	sp.Validation.Examples = 2000
	h := &harness{t: t, brokers: brokers, topic: topic, store: store, sp: sp}
	produce(t, brokers, topic, stream)
	h.run(int64(len(stream)))

	ctx := context.Background()
	vs, err := store.Versions(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(vs) // v<UTC time>-<id>: in publishing order
	latest, err := store.Latest(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 2 || vs[0] == latest {
		t.Fatalf("versions %v, latest %s: want a first version and a later latest", vs, latest)
	}
	auc := func(v string) (float64, publisher.DataInfo) {
		b, man, err := publisher.Load(ctx, store, "m", v)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := trainer.NewTrainer(b.Model, 2).Evaluate(b.State, newest)
		if err != nil {
			t.Fatal(err)
		}
		return m.AUC, man.Data
	}
	first, fd := auc(vs[0])
	last, ld := auc(latest)
	t.Logf("newest hour: %d examples; first version %s (trained on %d examples up to %s): AUC %.4f; latest %s (%d examples up to %s): AUC %.4f; %d versions",
		len(newest), vs[0], fd.Examples, time.UnixMilli(fd.ToTS).UTC().Format(time.DateTime), first,
		latest, ld.Examples, time.UnixMilli(ld.ToTS).UTC().Format(time.DateTime), last, len(vs))
	if last <= first {
		t.Fatalf("the latest version (AUC %.4f on the newest hour) does not beat the first (%.4f)", last, first)
	}
}
