package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// testSpec has every kind of input: a wide-and-deep categorical, a deep
// list with each combiner, a wide cross, and numerics (one also wide).
func testSpec(t testing.TB, mode, combiner string, hidden string) *spec.Spec {
	t.Helper()
	sp, err := spec.Parse("test.yaml", []byte(testSpecYAML(mode, combiner, hidden)))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// testSpecYAML is testSpec's YAML.
func testSpecYAML(mode, combiner string, hidden string) string {
	return fmt.Sprintf(`version: 1
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 3}
  - {name: country, type: categorical, embedding_dim: 2}
  - {name: installed_apps, type: categorical_list, combiner: %s, embedding_dim: 3}
  - {name: app_rating, type: numeric, wide: true, quantiles: 5}
  - {name: position, type: numeric, quantiles: 4}
crosses:
  - {columns: [installed_apps, app_id], hash_buckets: 64}
model:
  mode: %s
  hidden: %s
  batch_size: 16
  adagrad: {learning_rate: 0.1}
  ftrl: {alpha: 0.1, l1: 0}
`, combiner, mode, hidden)
}

func testExamples(rng *rand.Rand, n int) []schemas.Example {
	apps := []string{"a1", "a2", "a3", "a4", "a5"}
	exs := make([]schemas.Example, n)
	for i := range exs {
		var inst []string
		for range rng.IntN(4) { // some empty lists
			inst = append(inst, apps[rng.IntN(len(apps))])
		}
		app := apps[rng.IntN(len(apps))]
		exs[i] = schemas.Example{
			Impression: schemas.Impression{
				ImpressionID: fmt.Sprint("i", i), TS: int64(i), UserID: "u", AppID: app,
				Features: map[string]schemas.Value{
					"country":        schemas.String([]string{"de", "fr", "us"}[rng.IntN(3)]),
					"installed_apps": schemas.Strings(inst),
					"app_rating":     schemas.Number(1 + 4*rng.Float64()),
					"position":       schemas.Number(float64(1 + rng.IntN(10))),
				},
			},
			Label: int32(rng.IntN(2)),
		}
	}
	return exs
}

func newTestModel(t testing.TB, sp *spec.Spec, exs []schemas.Example) (*Trainer, *featurize.Batch) {
	t.Helper()
	st, err := featurize.New(sp, featurize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Fit(exs); err != nil {
		t.Fatal(err)
	}
	st.RefreshBoundaries()
	var b featurize.Batch
	if err := st.Transform(&b, exs); err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(sp, st.Layout())
	if err != nil {
		t.Fatal(err)
	}
	m.Bias = 0.1
	return NewTrainer(m, 2), &b
}

// meanLoss is the batch's mean log loss under the current parameters.
func meanLoss(tr *Trainer, b *featurize.Batch) float64 {
	p := tr.Predict(nil, b)
	var s float64
	for i, v := range p {
		y := float64(b.Labels[i])
		v64 := math.Min(math.Max(float64(v), 1e-12), 1-1e-12)
		s -= y*math.Log(v64) + (1-y)*math.Log(1-v64)
	}
	return s / float64(len(p))
}

// TestModelGradientsFiniteDifferences checks every parameter kind's
// analytic gradient (wide FTRL weights, embedding rows of single and list
// fields under each combiner, tower weights and biases, the shared bias,
// and with an interaction (interact.go) the dot products' share of the
// embeddings' gradients and the cross layers' weights and biases) against
// central differences of the batch's mean log loss, with two workers so
// that the gradient reduction is checked too.
func TestModelGradientsFiniteDifferences(t *testing.T) {
	for _, tc := range []struct {
		mode, combiner string
		interaction    string // "": none (testSpec), else ixSpec's
		layers         int
	}{
		{"wide_deep", "mean", "", 0}, {"wide_deep", "sum", "", 0}, {"wide_deep", "sqrtn", "", 0}, {"wide", "mean", "", 0}, {"deep", "sum", "", 0},
		{"wide_deep", "mean", "dot", 0}, {"deep", "sqrtn", "dot", 0}, {"wide_deep", "sum", "dot-mixed", 0},
		{"wide_deep", "sum", "cross", 0}, {"deep", "mean", "cross", 3}, {"wide_deep", "sqrtn", "cross", 1},
	} {
		t.Run(fmt.Sprintf("%s/%s/%s/%d", tc.mode, tc.combiner, tc.interaction, tc.layers), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			sp := testSpec(t, tc.mode, tc.combiner, "[6, 4]")
			if tc.interaction != "" {
				sp = ixSpec(t, tc.mode, tc.combiner, "[6, 4]", tc.interaction, tc.layers)
			}
			tr, b := newTestModel(t, sp, testExamples(rng, 150))
			m := tr.M
			if tr.wholeTower {
				t.Fatal("the small tower runs on the whole batch: the test wants the per-shard path")
			}
			// Give the wide weights and cross biases non-zero values so
			// their products matter.
			for k := range m.Wide {
				for i := range m.Wide[k].W {
					m.Wide[k].W[i] = float32(rng.Float64()*0.4 - 0.2)
				}
			}
			if c := m.cross; c != nil {
				for l := range c.b {
					for i := range c.b[l] {
						c.b[l][i] = float32(rng.Float64()*0.4 - 0.2)
					}
				}
			}
			ws := tr.shard(b.N)
			if len(ws) != 2 {
				t.Fatalf("%d workers for %d rows; the test wants the reduction exercised", len(ws), b.N)
			}
			inv := 1 / float32(b.N)
			parallel(ws, func(w *worker) { tr.forward(w, b); tr.backward(w, b, inv) })
			tr.reduce(ws)
			w0 := ws[0]

			const h = 3e-3
			var checked, failed int
			check := func(what string, p *float32, analytic float64) {
				old := *p
				*p = old + h
				up := meanLoss(tr, b)
				*p = old - h
				down := meanLoss(tr, b)
				*p = old
				num := (up - down) / (2 * h)
				checked++
				if math.Abs(num-analytic) > 2e-3*math.Max(1, math.Abs(num))+2e-4 {
					failed++
					t.Logf("%s: analytic %.6g, finite difference %.6g", what, analytic, num)
				}
			}
			check("bias", &m.Bias, float64(w0.bias))
			kinds := map[string]int{"bias": 1}
			if m.usesWide() {
				for k := range m.Wide {
					sg := &w0.wide[k]
					for i, id := range sg.touched {
						check(fmt.Sprintf("wide[%s][%d]", m.Layout.Wide[k].Name, id), &m.Wide[k].W[id], float64(sg.g[i]))
						kinds["wide:"+m.Layout.Wide[k].Name]++
					}
				}
			}
			if m.usesDeep() {
				for f := range m.Emb {
					e := &m.Emb[f]
					sg := &w0.emb[f]
					for i, id := range sg.touched {
						for j := range e.Dim {
							check(fmt.Sprintf("emb[%s][%d][%d]", m.Layout.Deep[f].Name, id, j), &e.W[int(id)*e.Dim+j], float64(sg.g[i*e.Dim+j]))
						}
						kinds["emb:"+m.Layout.Deep[f].Name]++
					}
				}
				for l := range m.tower.w {
					for i := range f32(m.tower.w[l]) {
						check(fmt.Sprintf("tower.w[%d][%d]", l, i), &f32(m.tower.w[l])[i], float64(w0.wk.dW[l][i]))
					}
					for i := range f32(m.tower.b[l]) {
						check(fmt.Sprintf("tower.b[%d][%d]", l, i), &f32(m.tower.b[l])[i], float64(w0.wk.dB[l][i]))
					}
					kinds[fmt.Sprint("tower", l)]++
				}
			}
			switch c := m.cross; {
			case c != nil:
				if tc.layers > 0 && len(c.w) != tc.layers || tc.layers == 0 && len(c.w) != spec.DefaultCrossLayers {
					t.Fatalf("%d cross layers", len(c.w))
				}
				for l := range c.w {
					for i := range c.w[l] {
						check(fmt.Sprintf("cross.w[%d][%d]", l, i), &c.w[l][i], float64(w0.cw.dW[l][i]))
					}
					for i := range c.b[l] {
						check(fmt.Sprintf("cross.b[%d][%d]", l, i), &c.b[l][i], float64(w0.cw.dB[l][i]))
					}
					kinds[fmt.Sprint("cross", l)]++
				}
			case strings.HasPrefix(tc.interaction, "dot"):
				if pairs := map[string]int{"dot": 3, "dot-mixed": 1}[tc.interaction]; m.pairs != pairs || m.xDim != m.inDim+pairs {
					t.Fatalf("%s: %d pairs, tower input %d for x0 of %d; want %d pairs", tc.interaction, m.pairs, m.xDim, m.inDim, pairs)
				}
			}
			// ReLU kinks make a few coordinates disagree; allow 2%.
			if failed*50 > checked {
				t.Fatalf("%d of %d coordinates disagree", failed, checked)
			}
			want := 1
			if m.usesWide() {
				want += len(m.Wide)
			}
			if m.usesDeep() {
				want += len(m.Emb) + len(m.tower.w)
			}
			if m.cross != nil {
				want += len(m.cross.w)
			}
			if len(kinds) != want {
				t.Fatalf("checked parameter kinds %v, want %d kinds", kinds, want)
			}
		})
	}
}

// TestTrainingLearns trains each mode on a rule it can represent and checks
// the loss falls: a main effect (app a1 or a2) for the wide part, an
// interaction (app x country, which no raw wide feature or declared cross
// carries) for the deep part.
func TestTrainingLearns(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	exs := testExamples(rng, 2000)
	for _, tc := range []struct {
		mode, rule string
		maxFinal   float64
	}{
		{"wide", "main", 0.35}, {"deep", "interaction", 0.35}, {"wide_deep", "interaction", 0.35}, {"wide_deep", "main", 0.35},
	} {
		t.Run(tc.mode+"/"+tc.rule, func(t *testing.T) {
			for i := range exs {
				app := exs[i].AppID == "a1" || exs[i].AppID == "a2"
				de := exs[i].Features["country"].Str == "de"
				exs[i].Label = 0
				if (tc.rule == "main" && app) || (tc.rule == "interaction" && app == de) {
					exs[i].Label = 1
				}
			}
			sp := testSpec(t, tc.mode, "mean", "[8]")
			tr, _ := newTestModel(t, sp, exs)
			st, _ := featurize.New(sp, featurize.Options{})
			if err := st.Fit(exs); err != nil {
				t.Fatal(err)
			}
			st.RefreshBoundaries()
			var b featurize.Batch
			var first, last float64
			for epoch := range 30 {
				var sum float64
				for lo := 0; lo < len(exs); lo += 100 {
					if err := st.Transform(&b, exs[lo:lo+100]); err != nil {
						t.Fatal(err)
					}
					l, _ := tr.Step(&b, nil)
					sum += l
				}
				if epoch == 0 {
					first = sum / 20
				}
				last = sum / 20
			}
			if last > tc.maxFinal || last > first*0.8 {
				t.Fatalf("mean loss went from %.4f (first epoch) to %.4f (last): want below %.2f", first, last, tc.maxFinal)
			}
		})
	}
}
