package trainer

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer/metrics"
)

// latentProduct draws n examples of two categorical fields a and b of 100
// values each, every value with a hidden latent vector of 4 Gaussian
// numbers, and the label 1 exactly when the dot product of the two latents
// is positive: an interaction of the two fields that no main effect
// explains (each value's label rate is about one half), the target of
// matrix factorization. The latents are the same for every seed, which
// draws the examples.
func latentProduct(n int, seed uint64) []schemas.Example {
	const values, k = 100, 4
	latent := rand.New(rand.NewPCG(1, 1))
	la, lb := make([]float64, values*k), make([]float64, values*k)
	for i := range la {
		la[i], lb[i] = latent.NormFloat64(), latent.NormFloat64()
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	exs := make([]schemas.Example, n)
	for i := range exs {
		a, b := rng.IntN(values), rng.IntN(values)
		var dot float64
		for j := range k {
			dot += la[a*k+j] * lb[b*k+j]
		}
		var y int32
		if dot > 0 {
			y = 1
		}
		exs[i] = schemas.Example{
			Impression: schemas.Impression{
				ImpressionID: fmt.Sprint("i", i), TS: int64(i), UserID: "u", AppID: "x",
				Features: map[string]schemas.Value{
					"a": schemas.String(fmt.Sprint("a", a)),
					"b": schemas.String(fmt.Sprint("b", b)),
				},
			},
			Label: y,
		}
	}
	return exs
}

// TestInteractionsLearnProducts trains mode deep with each interaction on
// the latent-product problem under one budget (the same tower [8],
// embeddings of 8, optimizer, and 10,000 examples x 20 epochs in batches
// of 50) and evaluates on 4,000 fresh examples, for 4 draws of the data:
// dot and cross must beat none clearly on the mean over the draws. The
// ReLU tower has to carve the sign of a dot product out of the
// concatenated embeddings; interaction dot gives it that dot product once
// the embeddings hold the latents, and a cross layer's x0 ⊙ (x0·W) holds
// every product of an a coordinate with a b coordinate.
//
// Measured (deterministic; about 2.5 s on 2 shared cores), log loss and
// AUC per draw:
//
//	draw   none            dot             cross
//	7      0.3458 0.9280   0.0955 0.9960   0.1959 0.9885
//	11     0.3648 0.9198   0.0931 0.9963   0.3045 0.9691
//	23     0.3068 0.9436   0.0876 0.9973   0.1765 0.9902
//	42     0.2998 0.9454   0.1608 0.9881   0.2696 0.9798
//	mean   0.3293 0.9342   0.1093 0.9944   0.2366 0.9819
//
// so dot is 0.220 lower in log loss and 0.060 higher in AUC than none,
// cross 0.093 and 0.048. The test asks for 0.05 and 0.03 (cross's margins
// over about 1.6 to 1.9).
func TestInteractionsLearnProducts(t *testing.T) {
	draws := []uint64{7, 11, 23, 42}
	loss, auc := map[string]float64{}, map[string]float64{}
	for _, seed := range draws {
		train, test := latentProduct(10000, seed), latentProduct(4000, seed+100)
		for _, ix := range []string{"none", "dot", "cross"} {
			s := trainLatent(t, ix, train, test)
			t.Logf("draw %d, %-5s held-out log loss %.4f, AUC %.4f", seed, ix, s.LogLoss, s.AUC)
			loss[ix] += s.LogLoss / float64(len(draws))
			auc[ix] += s.AUC / float64(len(draws))
		}
	}
	for _, ix := range []string{"none", "dot", "cross"} {
		t.Logf("mean  %-5s held-out log loss %.4f, AUC %.4f", ix, loss[ix], auc[ix])
	}
	for _, ix := range []string{"dot", "cross"} {
		if loss[ix] > loss["none"]-0.05 || auc[ix] < auc["none"]+0.03 {
			t.Errorf("%s: mean log loss %.4f, AUC %.4f; want at least 0.05 below none's log loss %.4f and 0.03 above its AUC %.4f",
				ix, loss[ix], auc[ix], loss["none"], auc["none"])
		}
	}
}

// trainLatent trains a deep model of the interaction on train (20 epochs,
// batches of 50, 2 workers) and evaluates it on test.
func trainLatent(t *testing.T, interaction string, train, test []schemas.Example) metrics.Summary {
	t.Helper()
	sp, err := spec.Parse("latent.yaml", []byte(fmt.Sprintf(`version: 1
features:
  - {name: a, type: categorical, embedding_dim: 8}
  - {name: b, type: categorical, embedding_dim: 8}
model:
  mode: deep
  hidden: [8]
  interaction: %s
  adagrad: {learning_rate: 0.1, initial_accumulator: 0.0001}
`, interaction)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := featurize.New(sp, featurize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Fit(train); err != nil {
		t.Fatal(err)
	}
	st.RefreshBoundaries()
	m, err := NewModel(sp, st.Layout())
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTrainer(m, 2)
	var b featurize.Batch
	for range 20 {
		for lo := 0; lo < len(train); lo += 50 {
			if err := st.Transform(&b, train[lo:lo+50]); err != nil {
				t.Fatal(err)
			}
			tr.Step(&b, nil)
		}
	}
	s, _, err := tr.Evaluate(st, test)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
