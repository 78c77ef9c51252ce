package tune

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer/metrics"
)

// TestMain checks that Search leaves no goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// synthYAML is a small spec over the columns of synth: a wide and deep
// app, a country, a numeric rating and the country x app cross.
const synthYAML = `
version: 1
name: synth
features:
  - name: app_id
    type: categorical
    wide: true
    embedding_dim: 4
  - name: country
    type: categorical
    embedding_dim: 4
  - name: rating
    type: numeric
    quantiles: 10
crosses:
  - columns: [country, app_id]
    hash_buckets: 1024
model:
  hidden: [16]
  batch_size: 64
  epochs: 2
  ftrl: {alpha: 0.1, beta: 0.01, l1: 0.001, l2: 0}
  adagrad: {learning_rate: 0.05, initial_accumulator: 0.001}
`

func synthSpec(t testing.TB) *spec.Spec {
	t.Helper()
	sp, err := spec.Parse("synth.yaml", []byte(synthYAML))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// synth returns n examples one second apart, labeled from a known model:
// an effect per app, a taste per (country, app) and the rating.
func synth(seed uint64, n int) []schemas.Example {
	r := rand.New(rand.NewPCG(seed, 1))
	const apps, countries = 40, 5
	appEff := make([]float64, apps)
	for i := range appEff {
		appEff[i] = r.NormFloat64()
	}
	taste := make([]float64, apps*countries)
	for i := range taste {
		taste[i] = 1.5 * r.NormFloat64()
	}
	exs := make([]schemas.Example, n)
	for i := range exs {
		a, c := r.IntN(apps), r.IntN(countries)
		rating := 1 + 4*r.Float64()
		z := -3 + appEff[a] + taste[a*countries+c] + (rating - 3)
		var label int32
		if r.Float64() < 1/(1+math.Exp(-z)) {
			label = 1
		}
		exs[i] = schemas.Example{Impression: schemas.Impression{
			ImpressionID: fmt.Sprintf("imp-%06d", i), TS: 1_700_000_000_000 + int64(i)*1000,
			UserID: fmt.Sprintf("u%d", r.IntN(100)), AppID: fmt.Sprintf("app-%02d", a),
			Features: map[string]schemas.Value{
				"country": schemas.String(fmt.Sprintf("c%d", c)),
				"rating":  schemas.Number(rating),
			},
		}, Label: label}
	}
	return exs
}

// fake is an injected objective: a known function of the values, lower
// as alpha nears 0.1 and the learning rate 0.05, the same ordering at
// every rung. It records the jobs it ran.
type fake struct {
	mu   sync.Mutex
	jobs []Job
	// wait, when set, is how long each run takes (cut by ctx).
	wait func(ctx context.Context) error
}

// f is the fake objective's loss of v, before the rung's offset.
func (*fake) f(v Values) float64 {
	a := math.Log10(v.Alpha) + 1
	l := math.Log10(v.LearningRate) - math.Log10(0.05)
	return a*a + l*l
}

func (fk *fake) objective(ctx context.Context, job Job) (Score, error) {
	if fk.wait != nil {
		if err := fk.wait(ctx); err != nil {
			return Score{}, err
		}
	}
	fk.mu.Lock()
	fk.jobs = append(fk.jobs, job)
	fk.mu.Unlock()
	loss := fk.f(job.Values) + 1/float64(1+job.Rung)
	return Score{Metrics: metrics.Summary{Count: len(job.Validation), AUC: 1 / (1 + loss), LogLoss: loss}, Trained: int64(len(job.Train))}, nil
}
