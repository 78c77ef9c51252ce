package featurize

import (
	"reflect"
	"sync"
	"testing"
)

// TestTransformConcurrent: Transform calls on one State with their own
// Batches give the same result as a single call (run with -race).
func TestTransformConcurrent(t *testing.T) {
	s := fitted(t, 8, 2000)
	exs := newGen(8, 3000, 800).examples(512)
	var want Batch
	if err := s.Transform(&want, exs); err != nil {
		t.Fatal(err)
	}
	oov0 := s.Stats().Vocabs[5].OOV
	if oov0 == 0 {
		t.Fatal("no OOV installed apps: the test would not check the counter")
	}
	const workers = 4
	got := make([]Batch, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			if err := s.Transform(&got[w], exs); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for w := range got {
		if !reflect.DeepEqual(got[w].WideIDs, want.WideIDs) || !reflect.DeepEqual(got[w].Deep, want.Deep) || !reflect.DeepEqual(got[w].Dense, want.Dense) {
			t.Fatalf("worker %d's batch differs from the sequential one", w)
		}
	}
	if oov := s.Stats().Vocabs[5].OOV; oov != oov0*(workers+1) {
		t.Errorf("installed_apps OOV count %d after %d identical transforms, want %d", oov, workers+1, oov0*(workers+1))
	}
}
