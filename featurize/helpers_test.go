package featurize

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// playstoreSpec is the playstore-like spec of the tests and benchmarks,
// built as a Go value (the YAML loader is not this package's).
func playstoreSpec() *spec.Spec {
	cat := func(name string, wide bool, minCount, oov int) spec.Feature {
		return spec.Feature{Name: name, Type: spec.Categorical, Wide: wide, Deep: true, EmbeddingDim: 8, MinCount: minCount, OOVBuckets: oov}
	}
	num := func(name string, wide bool, nq int) spec.Feature {
		return spec.Feature{Name: name, Type: spec.Numeric, Wide: wide, Deep: true, Quantiles: nq}
	}
	return &spec.Spec{
		Version: 1,
		Name:    "playstore-test",
		Features: []spec.Feature{
			num("position", true, 10),
			cat("country", true, 1, 1),
			cat("language", false, 1, 1),
			cat("device", false, 2, 4),
			cat("age_bucket", false, 1, 1),
			{Name: "installed_apps", Type: spec.CategoricalList, Deep: true, EmbeddingDim: 16, Combiner: spec.CombinerMean, MinCount: 2, OOVBuckets: 10},
			cat("app_id", true, 2, 10),
			cat("app_category", false, 1, 2),
			cat("app_developer", false, 2, 10),
			num("app_rating", false, 20),
			num("app_size_mb", false, 20),
			num("app_price", false, 20),
			{Name: "user_id", Type: spec.Categorical, Deep: true, EmbeddingDim: 8, MinCount: 3, OOVBuckets: 100, MaxSize: 1 << 20},
		},
		Crosses: []spec.Cross{{Name: "installed_x_app", Columns: []string{"installed_apps", "app_id"}, HashBuckets: 100000}},
	}
}

// gen makes playstore-like examples from a seeded generator: a catalog of
// apps with Zipf popularity, users with 10-40 installed apps.
type gen struct {
	r       *rand.Rand
	apps    []string
	users   []string
	zipf    *rand.Zipf
	n       int
	devices []string
}

func newGen(seed uint64, nApps, nUsers int) *gen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &gen{r: r, zipf: rand.NewZipf(r, 1.1, 2, uint64(nApps-1))}
	for i := range nApps {
		g.apps = append(g.apps, fmt.Sprintf("com.app.%05d", i))
	}
	for i := range nUsers {
		g.users = append(g.users, fmt.Sprintf("user-%07d", i))
	}
	g.devices = []string{"pixel", "galaxy", "moto", "xperia", "oneplus", "redmi"}
	return g
}

var (
	countries = []string{"us", "de", "fr", "br", "in", "jp", "gb", "mx"}
	languages = []string{"en", "de", "fr", "pt", "hi", "ja", "es"}
	ages      = []string{"18-24", "25-34", "35-44", "45-54", "55+"}
	cats      = []string{"games", "social", "tools", "music", "news", "photo"}
)

func (g *gen) app() string { return g.apps[g.zipf.Uint64()] }

func (g *gen) example() schemas.Example {
	g.n++
	k := 10 + g.r.IntN(31)
	installed := make([]string, k)
	for i := range installed {
		installed[i] = g.app()
	}
	appIdx := int(g.zipf.Uint64())
	price := 0.0
	if g.r.IntN(5) == 0 {
		price = math.Round(g.r.ExpFloat64()*300) / 100
	}
	return schemas.Example{
		Impression: schemas.Impression{
			ImpressionID: fmt.Sprintf("imp-%d", g.n),
			TS:           1_700_000_000_000 + int64(g.n),
			UserID:       g.users[g.r.IntN(len(g.users))],
			AppID:        g.apps[appIdx],
			Features: map[string]schemas.Value{
				"position":       schemas.Number(float64(g.r.IntN(50))),
				"country":        schemas.String(countries[g.r.IntN(len(countries))]),
				"language":       schemas.String(languages[g.r.IntN(len(languages))]),
				"device":         schemas.String(g.devices[g.r.IntN(len(g.devices))]),
				"age_bucket":     schemas.String(ages[g.r.IntN(len(ages))]),
				"installed_apps": schemas.Strings(installed),
				"app_category":   schemas.String(cats[appIdx%len(cats)]),
				"app_developer":  schemas.String(fmt.Sprintf("dev-%d", appIdx/7)),
				"app_rating":     schemas.Number(1 + 4*g.r.Float64()),
				"app_size_mb":    schemas.Number(math.Exp(2 + 1.5*g.r.NormFloat64())),
				"app_price":      schemas.Number(price),
			},
		},
		Label: int32(g.r.IntN(10) / 9),
	}
}

func (g *gen) examples(n int) []schemas.Example {
	out := make([]schemas.Example, n)
	for i := range out {
		out[i] = g.example()
	}
	return out
}

// smallOpts keeps the tests' sketches small.
var smallOpts = Options{SketchBytes: 64 << 10}
