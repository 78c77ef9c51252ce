package publisher

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of HTTP clients (the S3 SDK's, the
		// webhook's) and their transports outlive a test by design.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// gateSpecYAML has a learnable world (see world) and thresholds a good
// model meets; the latency budget is generous because tests run with -race
// on shared cores (TestGateLatencyBudget checks the latency check itself).
const gateSpecYAML = `version: 1
name: gate
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 4}
  - {name: country, type: categorical, wide: true, embedding_dim: 2}
  - {name: app_rating, type: numeric, quantiles: 8}
crosses:
  - {columns: [app_id, country], hash_buckets: 1000}
model:
  hidden: [8]
  batch_size: 64
  epochs: 4
validation:
  min_auc: 0.6
  max_logloss: 0.69
  calibration: [0.5, 2.0]
  max_auc_drop: 0.02
  max_logloss_rise: 0.02
  latency_budget: 10s
  examples: 3000
publish:
  retain: 3
`

func gateSpec(t testing.TB) *spec.Spec {
	t.Helper()
	sp, err := spec.Parse("gate.yaml", []byte(gateSpecYAML))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// world draws n examples of a world where the install probability depends
// on the app, the country and the rating, with time stamps from ts0.
func world(seed uint64, n int, ts0 int64) []schemas.Example {
	rng := rand.New(rand.NewPCG(seed, 7))
	countries := []string{"de", "us", "fr", "br"}
	exs := make([]schemas.Example, n)
	for i := range exs {
		app := rng.IntN(30)
		c := rng.IntN(len(countries))
		rating := 1 + 4*rng.Float64()
		z := -1.2 + 1.5*math.Sin(float64(app)) + 0.4*float64(c-1) + 0.5*(rating-3)
		label := int32(0)
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			label = 1
		}
		exs[i] = schemas.Example{Impression: schemas.Impression{
			ImpressionID: fmt.Sprintf("i%d-%d", seed, i), TS: ts0 + int64(i), UserID: fmt.Sprintf("u%d", rng.IntN(100)),
			AppID: fmt.Sprintf("a%d", app),
			Features: map[string]schemas.Value{
				"country":    schemas.String(countries[c]),
				"app_rating": schemas.Number(rating),
			},
		}, Label: label}
	}
	return exs
}

// flipAtRandom returns a copy of exs with every label replaced by a coin
// flip: a poisoned training set.
func flipAtRandom(exs []schemas.Example, seed uint64) []schemas.Example {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := append([]schemas.Example(nil), exs...)
	for i := range out {
		if rng.IntN(2) == 0 {
			out[i].Label = 1 - out[i].Label
		}
	}
	return out
}

// trainBundle fits a featurizer and trains a fresh model on train.
func trainBundle(t testing.TB, sp *spec.Spec, train []schemas.Example) *Bundle {
	return trainBundleSeed(t, sp, train, 1)
}

// trainBundleSeed is trainBundle with a chosen shuffle seed.
func trainBundleSeed(t testing.TB, sp *spec.Spec, train []schemas.Example, seed uint64) *Bundle {
	t.Helper()
	st, err := featurize.New(sp, featurize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Fit(train); err != nil {
		t.Fatal(err)
	}
	st.RefreshBoundaries()
	m, err := trainer.NewModel(sp, st.Layout())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trainer.NewTrainer(m, 1).Train(context.Background(), st, train, trainer.TrainOptions{
		Epochs: sp.Model.Epochs, BatchSize: sp.Model.BatchSize, Order: trainer.OrderShuffle, Seed: seed,
	}); err != nil {
		t.Fatal(err)
	}
	return &Bundle{Spec: sp, State: st, Model: m}
}

// fixture is a good model, a poisoned one, and fresh examples neither
// trained on; built once, shared read-only by the tests.
type fixture struct {
	good, good2, poisoned *Bundle // good2: same data, another order
	fresh                 []schemas.Example
}

var fx *fixture

func getFixture(t testing.TB) *fixture {
	t.Helper()
	if fx != nil {
		return fx
	}
	sp := gateSpec(t)
	train := world(1, 6000, 0)
	f := &fixture{
		good:     trainBundle(t, sp, train),
		good2:    trainBundleSeed(t, sp, train, 2),
		poisoned: trainBundle(t, sp, flipAtRandom(train, 3)),
		fresh:    world(9, 3000, 100000),
	}
	fx = f
	return f
}

// storeCase is one store the matrix tests run against.
type storeCase struct {
	name string
	url  string
}

// stores returns file:// and, when the environment has it, the real S3
// server's bucket under a prefix of the test's own.
func stores(t *testing.T) []storeCase {
	t.Helper()
	cs := []storeCase{{"file", "file://" + t.TempDir()}}
	if os.Getenv(testenv.EnvS3URL) != "" || testenv.InCI() {
		raw := testenv.S3Bucket(t)
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("prefix", testenv.UniqueName(t, "pub")+"/")
		u.RawQuery = q.Encode()
		cs = append(cs, storeCase{"s3", u.String()})
	} else {
		t.Logf("no S3 server (%s not set): file:// only", testenv.EnvS3URL)
	}
	return cs
}

func openStore(t *testing.T, raw string) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// flipBit flips one bit near the end of an object through the bucket.
func flipBit(t *testing.T, s *Store, key string) {
	t.Helper()
	ctx := context.Background()
	b, err := s.Bucket().ReadAll(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-5] ^= 0x10
	if err := s.Bucket().WriteAll(ctx, key, b, nil); err != nil {
		t.Fatal(err)
	}
}
