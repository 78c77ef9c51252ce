package continuous

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/publisher"
)

// start runs a stage with a short FreshWait until the test ends.
func (h *harness) start(checkpointEvery time.Duration) *Stage {
	h.t.Helper()
	pub, err := publisher.New(h.store, publisher.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	st, err := New(Config{Spec: h.sp, Model: "m", Store: h.store, Publisher: pub, Brokers: h.brokers, Topic: h.topic,
		TrainedLog: true, Bootstrap: 1000, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		CheckpointEvery: checkpointEvery, BatchWait: 100 * time.Millisecond, FreshWait: 500 * time.Millisecond, Workers: 2})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- st.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			h.t.Error(err)
		}
		_ = pub.Close(context.Background())
	})
	return st
}

// waitCheckpoint waits until the newest checkpoint covers want examples.
func (h *harness) waitCheckpoint(want int64) Progress {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cps, err := Checkpoints(context.Background(), h.store, "m")
		if err != nil {
			h.t.Fatal(err)
		}
		if n := len(cps); n > 0 && cps[n-1].Examples >= want {
			return cps[n-1]
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no checkpoint covers %d examples after 60s: %d checkpoints", want, len(cps))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStageIdleStreamIsCheckpointed: when the stream stops while a publish
// waits for its fresh set, the running stage still checkpoints what it
// trained, then (after FreshWait) trains the held examples and checkpoints
// everything, without being stopped. It also starts before its topic
// exists (the join stage of the same process creates it).
func TestStageIdleStreamIsCheckpointed(t *testing.T) {
	brokers := testenv.Brokers(t)
	topic := testenv.UniqueName(t, "ex")
	store, err := publisher.OpenStore(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() }) // after the stage's (cleanups run last first)
	h := &harness{t: t, brokers: brokers, topic: topic, store: store, sp: testSpec(t)}
	st := h.start(300 * time.Millisecond)
	time.Sleep(500 * time.Millisecond) // the stage waits for the topic
	if st.Status().Ready {
		t.Fatal("ready without its topic")
	}
	testenv.CreateTopic(t, brokers, topic, 2)

	// 3000 examples make a publish due (every_examples 3000), at the end of
	// the batch that crosses 3000 (up to a batch of 64 later, and batches
	// are cut by time too); the 300 or so after it are fewer than
	// validation.examples (600) but at least the 200 a partial fresh set
	// needs, so the candidate is gated when FreshWait ends.
	exs := worldExamples(t, 9, 1, 3400)[:3400]
	produce(t, brokers, topic, exs)
	last := h.waitCheckpoint(int64(len(exs)))
	seen, err := TrainedSet(context.Background(), store, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(exs) {
		t.Fatalf("trained %d distinct examples, want %d", len(seen), len(exs))
	}
	for _, ex := range exs {
		if k := fmt.Sprintf("%s,%d", ex.ImpressionID, ex.Label); seen[k] != 1 {
			t.Fatalf("example %s trained %d times", k, seen[k])
		}
	}
	if n := last.Offsets[0] + last.Offsets[1]; n != int64(len(exs)) {
		t.Fatalf("last checkpoint offsets %v: want them to sum to %d", last.Offsets, len(exs))
	}

}

// TestStageCheckpointsBeforeFirstPublish: with checkpoints far apart, the
// stage still writes one before its first publish, at the offsets the
// version covers, so that a restart resumes from a checkpoint and the
// trained logs cover what every version was trained on.
func TestStageCheckpointsBeforeFirstPublish(t *testing.T) {
	h := newHarness(t, 2, testSpec(t))
	brokers, topic, store := h.brokers, h.topic, h.store
	h.start(time.Hour)
	produce(t, brokers, topic, worldExamples(t, 9, 1, 4000)[:4000])
	ctx := context.Background()
	var vs []string
	var err error
	deadline := time.Now().Add(60 * time.Second)
	for len(vs) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no version after 60s")
		}
		time.Sleep(50 * time.Millisecond)
		vs, err = store.Versions(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
	}
	man, err := store.Manifest(ctx, "m", vs[0])
	if err != nil {
		t.Fatal(err)
	}
	cps, err := Checkpoints(ctx, store, "m")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cp := range cps {
		offs := map[string]int64{}
		for p, o := range cp.Offsets {
			offs[fmt.Sprintf("%s/%d", topic, p)] = o
		}
		found = found || (maps.Equal(offs, man.Data.Offsets) && cp.Examples == man.Data.Examples)
	}
	if !found {
		t.Fatalf("version %s covers %v (%d examples); no checkpoint matches it", vs[0], man.Data.Offsets, man.Data.Examples)
	}
}
