package continuous

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/internal/buildinfo"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/simulate"
)

// worldExamples simulates a small world and labels it offline.
func worldExamples(t *testing.T, seed uint64, days, perDay int) []schemas.Example {
	t.Helper()
	exs, err := simulate.WorldExamples(context.Background(), simulate.Config{Seed: seed, Users: 300, Apps: 60, Days: days, ImpressionsPerDay: perDay}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return exs
}

func produce(t *testing.T, brokers []string, topic string, exs []schemas.Example) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{}, Transport: &kafka.Transport{}, BatchSize: 500, BatchTimeout: 10 * time.Millisecond}
	defer w.Close()
	var msgs []kafka.Message
	for i := range exs {
		msgs = append(msgs, kafka.Message{Key: []byte(exs[i].UserID), Value: schemas.AppendExampleJSON(nil, &exs[i])})
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

func testSpec(t *testing.T) *spec.Spec {
	t.Helper()
	raw, err := os.ReadFile("../configs/playstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := string(raw) + `
`
	sp, err := spec.Parse("playstore.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	sp.Model.BatchSize = 64
	sp.Crosses[0].HashBuckets = 1 << 14 // small checkpoints
	sp.Publish.Every = 0
	sp.Publish.EveryExamples = 3000
	sp.Validation.Examples = 600
	sp.Validation.MinAUC = 0.5
	sp.Validation.MaxLogLoss = 1
	sp.Validation.Calibration = []float64{0.1, 10} // 600 fresh examples at a ~1% base rate: a wide band
	sp.Validation.MaxAUCDrop = 0.2
	sp.Validation.MaxLogLossRise = 0.2
	sp.Validation.LatencyBudget = spec.Duration(time.Second)
	return sp
}

type harness struct {
	t       *testing.T
	brokers []string
	topic   string
	store   *publisher.Store
	sp      *spec.Spec
	reg     prometheus.Registerer // nil: no metrics
}

// newHarness returns a harness on the test's brokers, a new topic of the
// given partitions, a file:// store of its own (closed after the stage's
// cleanups) and testSpec.
func newHarness(t *testing.T, partitions int) *harness {
	t.Helper()
	brokers := testenv.Brokers(t)
	store, err := publisher.OpenStore(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &harness{t: t, brokers: brokers, topic: testenv.Topic(t, brokers, partitions), store: store, sp: testSpec(t)}
}

// run runs a stage until it trained want examples in all, then stops it
// gracefully and returns it.
func (h *harness) run(want int64) *Stage {
	h.t.Helper()
	pub, err := publisher.New(h.store, publisher.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	st, err := New(Config{Spec: h.sp, Model: "m", Store: h.store, Publisher: pub, Brokers: h.brokers, Topic: h.topic,
		TrainedLog: true, Bootstrap: 1000, Registerer: h.reg, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), CheckpointEvery: 500 * time.Millisecond, BatchWait: 100 * time.Millisecond, Workers: 2})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- st.Run(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for st.Status().Examples < want && time.Now().Before(deadline) {
		select {
		case err := <-errc:
			h.t.Fatalf("stage stopped early: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	if err := <-errc; err != nil {
		h.t.Fatal(err)
	}
	_ = pub.Close(context.Background())
	return st
}

// trainedSet reads every checkpoint's trained.txt.
func (h *harness) trainedSet() map[string]int {
	h.t.Helper()
	ctx := context.Background()
	seqs, err := listCheckpoints(ctx, h.store.Bucket(), "m")
	if err != nil {
		h.t.Fatal(err)
	}
	seen := map[string]int{}
	for _, seq := range seqs {
		files, _, err := readCheckpoint(ctx, h.store.Bucket(), "m", seq)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(files[trainedFile])), "\n") {
			if line != "" {
				seen[line]++
			}
		}
	}
	return seen
}

// TestStageTrainsEveryExampleOnceAcrossRestarts runs the stage on an
// in-process broker, stops it, adds data, restarts it from its checkpoint,
// and checks from the checkpoints' trained logs that every example was
// trained exactly once, and that versions were published with the data
// they cover.
func TestStageTrainsEveryExampleOnceAcrossRestarts(t *testing.T) {
	h := newHarness(t, 2)
	brokers, topic, store := h.brokers, h.topic, h.store

	exs := worldExamples(t, 5, 2, 4000)
	first, second := exs[:5000], exs[5000:]
	produce(t, brokers, topic, first)
	st := h.run(int64(len(first)))
	if s := st.Status(); !strings.HasPrefix(s.LastPublished, "v") || len(s.Publishes) == 0 {
		t.Fatalf("no version published: %+v", s.Publishes)
	}
	produce(t, brokers, topic, second)
	h.run(int64(len(exs)))

	seen := h.trainedSet()
	if len(seen) != len(exs) {
		t.Errorf("trained %d distinct examples, want %d", len(seen), len(exs))
	}
	for _, ex := range exs {
		k := fmt.Sprintf("%s,%d", ex.ImpressionID, ex.Label)
		if seen[k] != 1 {
			t.Fatalf("example %s trained %d times", k, seen[k])
		}
	}
	ctx := context.Background()
	v, err := store.Latest(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	man, err := store.Manifest(ctx, "m", v)
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Data.Offsets) != 2 || man.Data.ToTS <= man.Data.FromTS || man.Data.Examples == 0 {
		t.Fatalf("manifest data %+v: want offsets of both partitions and an event-time range", man.Data)
	}
	// The train stage's versions record the build that trained them.
	if want := buildinfo.Read().Map(); !maps.Equal(man.Build, want) || man.Build[buildinfo.KeyModule] != "github.com/wdstream/wdstream" {
		t.Fatalf("manifest build %v, want %v", man.Build, want)
	}
}
