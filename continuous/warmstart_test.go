package continuous

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/warmstart"
)

// TestRestoreAppliesTheWarmStartRule: the stage continues a checkpoint or
// published version trained with its spec (warmstart.Continue) and refuses
// one trained with another (warmstart.ErrSpecChanged, naming it), as the
// backfill decides through the same rule but rebuilds instead.
func TestRestoreAppliesTheWarmStartRule(t *testing.T) {
	ctx := context.Background()
	exs := worldExamples(t, 11, 1, 1500)
	sp := testSpec(t)
	other := testSpec(t)
	other.Model.Hidden = []int{16}
	start, err := warmstart.Prepare(nil, sp, exs, warmstart.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := &publisher.Bundle{Spec: sp, State: start.State, Model: start.Model}

	open := func(t *testing.T) *publisher.Store {
		t.Helper()
		store, err := publisher.OpenStore(ctx, "file://"+t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		return store
	}

	t.Run("published", func(t *testing.T) {
		store := open(t)
		man := &publisher.Manifest{Model: "m"}
		if err := store.PublishUngated(ctx, b, man); err != nil {
			t.Fatal(err)
		}
		s := restoreStage(t, store, testSpec(t)) // equal, not the same value
		if err := s.restore(ctx); err != nil {
			t.Fatal(err)
		}
		if s.model == nil || s.prog.Parent != man.Version || s.st.Vocab("app_id").Len() != b.State.Vocab("app_id").Len() {
			t.Fatalf("restored parent %q (want %s), model %v", s.prog.Parent, man.Version, s.model != nil)
		}
		err := restoreStage(t, store, other).restore(ctx)
		if !errors.Is(err, warmstart.ErrSpecChanged) || !strings.Contains(err.Error(), "train stage: m@"+man.Version+" was trained with another spec than") {
			t.Fatalf("another spec: %v", err)
		}
	})

	t.Run("checkpoint", func(t *testing.T) {
		store := open(t)
		files, err := b.Files()
		if err != nil {
			t.Fatal(err)
		}
		prog := &Progress{Seq: 1, Topic: "t", Offsets: map[int]int64{0: 42}, Examples: int64(len(exs)), Bootstrapped: true}
		if err := writeCheckpoint(ctx, store.Bucket(), "m", files, prog); err != nil {
			t.Fatal(err)
		}
		s := restoreStage(t, store, testSpec(t))
		if err := s.restore(ctx); err != nil {
			t.Fatal(err)
		}
		if s.model == nil || s.prog.Seq != 1 || s.read[0] != 42 {
			t.Fatalf("restored seq %d, offsets %v", s.prog.Seq, s.read)
		}
		err = restoreStage(t, store, other).restore(ctx)
		if !errors.Is(err, warmstart.ErrSpecChanged) || !strings.Contains(err.Error(), "train stage: checkpoint 1 was trained with another spec than") {
			t.Fatalf("another spec: %v", err)
		}
	})
}

// restoreStage returns a stage of model "m" whose brokers are never
// reached: enough to call restore.
func restoreStage(t *testing.T, store *publisher.Store, sp *spec.Spec) *Stage {
	t.Helper()
	pub, err := publisher.New(store, publisher.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Spec: sp, Model: "m", Store: store, Publisher: pub, Brokers: []string{"127.0.0.1:1"}, Topic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
