package tune

import (
	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas/spec"
	"testing"
)

// TestFitCache: runs whose specs differ in the model section or in
// embedding_dim share one fit; hash_buckets and the rung get their own.
// Every run gets a State of its own, bound to its spec, with its
// embedding sizes.
func TestFitCache(t *testing.T) {
	base := synthSpec(t)
	exs := synth(1, 600)
	c := newFitCache(ModeBackfill, 10000)
	job := func(v Values, rung int) Job {
		sp, err := apply(base, v, spec.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return Job{Spec: sp, Values: v, Rung: rung, Train: exs[:500], Validation: exs[500:], Workers: 1}
	}
	bv := baseValues(base)
	wide := bv
	wide.Embedding, wide.Hidden, wide.Alpha = 2, []int{8, 4}, 0.5
	more := bv
	more.Buckets = 4
	jobs := []Job{job(bv, 0), job(wide, 0), job(more, 0), job(bv, 1)}
	states := map[*featurize.State]bool{}
	for _, j := range jobs {
		st, n, err := c.state(j)
		if err != nil {
			t.Fatal(err)
		}
		if st.Spec() != j.Spec || n != len(j.Train) {
			t.Fatalf("trial with %v: state bound to another spec, or fitted on %d examples", j.Values, n)
		}
		for _, d := range st.Layout().Deep {
			if want := scale(4, j.Values.Embedding); d.EmbeddingDim != want {
				t.Fatalf("field %s: embedding_dim %d, want %d", d.Name, d.EmbeddingDim, want)
			}
		}
		if st.Vocab("app_id").Len() != 40 {
			t.Fatalf("app_id vocabulary of %d, want the 40 apps", st.Vocab("app_id").Len())
		}
		states[st] = true
	}
	if len(c.m) != 3 {
		t.Fatalf("%d fits for base, wider embeddings, 4x buckets and rung 1: want 3", len(c.m))
	}
	if len(states) != len(jobs) {
		t.Fatalf("runs share a State")
	}
	c.drop(0)
	if len(c.m) != 1 {
		t.Fatalf("%d fits after dropping rung 0, want 1", len(c.m))
	}
}
