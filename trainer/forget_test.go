package trainer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas/spec"
)

// TestForgetResetsEvictedRows: after training, the rows of the ids a ttl
// evicted equal a fresh model's (wide weight and FTRL state zero, embedding
// drawn again from its seed, accumulators initial) and every other row is
// untouched; a string admitted into the hole then trains from that start.
func TestForgetResetsEvictedRows(t *testing.T) {
	y := strings.Replace(testSpecYAML("wide_deep", "mean", "[8]"),
		"{name: app_id, type: categorical, wide: true, embedding_dim: 3}",
		"{name: app_id, type: categorical, wide: true, embedding_dim: 3, ttl: 1s}", 1)
	sp, err := spec.Parse("ttl.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	exs := testExamples(rng, 400) // ts 0..399 ms: a1..a5 all seen near the end
	st := fitState(t, sp, exs)
	m, err := NewModel(sp, st.Layout())
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := NewModel(sp, st.Layout())
	tr := NewTrainer(m, 1)
	var b featurize.Batch
	for i := 0; i < len(exs); i += 16 {
		if err := st.Transform(&b, exs[i:i+16]); err != nil {
			t.Fatal(err)
		}
		tr.Step(&b, nil)
	}
	// 2 s later only "a1" is seen: a2..a5 leave.
	late := exs[:1]
	late[0].AppID, late[0].TS = "a1", 2000
	if err := st.Fit(late); err != nil {
		t.Fatal(err)
	}
	before := struct{ w, emb []float32 }{slices.Clone(m.Wide[0].W), slices.Clone(m.Emb[0].W)}
	ev := st.ExpireNow()
	if len(ev) != 1 || ev[0].Feature != "app_id" || len(ev[0].IDs) != 4 {
		t.Fatalf("Expire = %+v, want a2..a5 of app_id", ev)
	}
	if n := m.Forget(ev); n != 8 {
		t.Errorf("Forget reset %d rows, want 8 (4 wide, 4 embedding)", n)
	}
	evicted := map[int]bool{}
	for _, id := range ev[0].IDs {
		evicted[int(id)] = true
	}
	dim := m.Emb[0].Dim
	changed := 0
	for r := range m.Emb[0].Rows() {
		w, emb := m.Wide[0], m.Emb[0]
		row, was, init := emb.W[r*dim:(r+1)*dim], before.emb[r*dim:(r+1)*dim], fresh.Emb[0].W[r*dim:(r+1)*dim]
		if evicted[r] {
			if w.W[r] != 0 || w.Z[r] != 0 || w.N[r] != 0 || !slices.Equal(row, init) || emb.Acc[r*dim] != fresh.Emb[0].Acc[r*dim] {
				t.Errorf("evicted row %d not reset: wide %v/%v/%v, emb %v want %v", r, w.W[r], w.Z[r], w.N[r], row, init)
			}
			if !slices.Equal(was, init) {
				changed++
			}
			continue
		}
		if w.W[r] != before.w[r] || !slices.Equal(row, was) {
			t.Errorf("live row %d changed by Forget", r)
		}
	}
	if changed == 0 {
		t.Fatal("training moved no evicted row: the test tests nothing")
	}
}
