package drift

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// testSpec declares a categorical, a list and a numeric feature.
var testSpec = &spec.Spec{Features: []spec.Feature{
	{Name: "country", Type: spec.Categorical},
	{Name: "apps", Type: spec.CategoricalList},
	{Name: "price", Type: spec.Numeric},
}}

// constant returns numeric quantiles all equal to x.
func constant(x float64) []float64 {
	q := make([]float64, Quantiles+1)
	for i := range q {
		q[i] = x
	}
	return q
}

// uniform returns the quantiles of the uniform distribution on [lo, hi].
func uniform(lo, hi float64) []float64 {
	q := make([]float64, Quantiles+1)
	for i := range q {
		q[i] = lo + (hi-lo)*float64(i)/Quantiles
	}
	return q
}

func TestDistancesKnownValues(t *testing.T) {
	cat := func(missing, other float64, top ...Share) *Feature {
		return &Feature{Type: spec.Categorical, Missing: missing, Other: other, Top: top}
	}
	num := func(q []float64) *Feature { return &Feature{Type: spec.Numeric, Quantiles: q} }
	// Two bins, P = (1, 0) and Q = (51/101, 50/101): the divergence in
	// bits, written out.
	p1, q1, q2 := 1.0, 51.0/101, 50.0/101
	m1, m2 := (p1+q1)/2, q2/2
	halfJS := (p1*math.Log(p1/m1)/2 + q1*math.Log(q1/m1)/2 + q2*math.Log(q2/m2)/2) / math.Ln2
	half := constant(0)
	for i := 51; i <= Quantiles; i++ {
		half[i] = 1
	}
	for _, tc := range []struct {
		name     string
		a, b     *Feature
		linf, js float64
	}{
		{"identical categorical", cat(0.1, 0.2, Share{"US", 0.5}, Share{"IN", 0.2}), cat(0.1, 0.2, Share{"US", 0.5}, Share{"IN", 0.2}), 0, math.NaN()},
		{"disjoint categorical", cat(0, 0, Share{"US", 1}), cat(0, 0, Share{"IN", 1}), 1, math.NaN()},
		{"all missing against none", cat(1, 0), cat(0, 0, Share{"US", 1}), 1, math.NaN()},
		{"a new value takes half", cat(0, 0.4, Share{"US", 0.6}), cat(0, 0.2, Share{"BR", 0.5}, Share{"US", 0.3}), 0.5, math.NaN()},
		{"identical numeric", num(uniform(0, 1)), num(uniform(0, 1)), math.NaN(), 0},
		{"identical constant", num(constant(3)), num(constant(3)), math.NaN(), 0},
		{"disjoint numeric", num(uniform(0, 1)), num(uniform(2, 3)), math.NaN(), 1},
		{"disjoint constants", num(constant(0)), num(constant(1)), math.NaN(), 1},
		{"half moved", num(constant(0)), num(half), math.NaN(), halfJS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !math.IsNaN(tc.linf) {
				for _, got := range []float64{LInf(tc.a, tc.b), LInf(tc.b, tc.a)} {
					if math.Abs(got-tc.linf) > 1e-12 {
						t.Errorf("LInf = %v, want %v", got, tc.linf)
					}
				}
			}
			if !math.IsNaN(tc.js) {
				for _, pair := range [][2]*Feature{{tc.a, tc.b}, {tc.b, tc.a}} {
					got, ok := JS(pair[0], pair[1])
					if !ok || math.Abs(got-tc.js) > 1e-12 {
						t.Errorf("JS = %v, %v; want %v", got, ok, tc.js)
					}
				}
			}
		})
	}
	if _, ok := JS(num(nil), num(uniform(0, 1))); ok {
		t.Error("JS of a side without values: ok")
	}
}

// example builds an example with the three columns of testSpec; nil
// leaves a column out.
func example(country any, apps []string, price any) schemas.Example {
	ex := schemas.Example{Impression: schemas.Impression{Features: map[string]schemas.Value{}}}
	switch c := country.(type) {
	case string:
		ex.Features["country"] = schemas.String(c)
	case float64:
		ex.Features["country"] = schemas.Number(c)
	}
	if apps != nil {
		ex.Features["apps"] = schemas.Strings(apps)
	}
	if p, ok := price.(float64); ok {
		ex.Features["price"] = schemas.Number(p)
	}
	return ex
}

func TestProfiler(t *testing.T) {
	p, err := NewProfiler(testSpec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 100000 examples: country US 50%, IN 30%, 2000 rare values 10% (each
	// 0.005%), missing 10% (absent, then empty); apps [a, b] or [a] or
	// empty; price uniform over 0..9999 except every 20th absent or NaN.
	const n = 100000
	var batch []schemas.Example
	for i := range n {
		var country any
		switch r := i % 10; {
		case r < 5:
			country = "US"
		case r < 8:
			country = "IN"
		case r == 8:
			country = fmt.Sprintf("rare-%d", (i/10)%2000)
		case i%20 == 9:
			country = ""
		}
		apps := []string{"a", "b"}
		switch i % 4 {
		case 1:
			apps = []string{"a"}
		case 2:
			apps = []string{}
		}
		var price any = float64(i % 10000)
		switch i % 40 {
		case 7:
			price = nil
		case 27:
			price = math.NaN()
		}
		batch = append(batch, example(country, apps, price))
		if len(batch) == 1000 {
			p.Add(batch)
			batch = batch[:0]
		}
	}
	prof := p.Profile()
	if prof.Examples != n || len(prof.Features) != 3 {
		t.Fatalf("profile of %d examples, %d features", prof.Examples, len(prof.Features))
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %v, want %v ± %v", what, got, want, tol)
		}
	}
	// Misra-Gries underestimates by at most 1/(Counters+1) of the values.
	tol := 1.0 / (Counters + 1)
	c := prof.Feature("country")
	near("country missing", c.Missing, 0.1, 1e-12)
	if len(c.Top) < 2 || c.Top[0].Value != "US" || c.Top[1].Value != "IN" {
		t.Fatalf("country top %v, want US, IN first", c.Top)
	}
	near("US", c.Top[0].Share, 0.5, tol)
	near("IN", c.Top[1].Share, 0.3, tol)
	if len(c.Top) > TopValues {
		t.Errorf("%d top values, at most %d", len(c.Top), TopValues)
	}
	sum := c.Missing + c.Other
	for _, s := range c.Top {
		sum += s.Share
	}
	near("country shares' sum", sum, 1, 1e-9)

	a := prof.Feature("apps")
	near("apps missing", a.Missing, 0.25, 1e-12)
	// Of every 4 examples, 3 lists hold a and 2 of them b too: of 5
	// elements, a 3, b 2; present share 0.75.
	if len(a.Top) != 2 {
		t.Fatalf("apps top %v", a.Top)
	}
	near("a", a.Top[0].Share, 0.75*3/5, 1e-12)
	near("b", a.Top[1].Share, 0.75*2/5, 1e-12)

	pr := prof.Feature("price")
	near("price missing", pr.Missing, 0.05, 1e-12)
	if len(pr.Quantiles) != Quantiles+1 {
		t.Fatalf("%d quantiles", len(pr.Quantiles))
	}
	// A reservoir of 4096: a quantile's rank is off by about
	// sqrt(q(1-q)/4096) <= 0.8%; allow 4 sigma.
	for i := 10; i < Quantiles; i += 10 {
		near(fmt.Sprintf("price quantile %d%%", i), pr.Quantiles[i], float64(i)*100, 0.032*10000)
	}
	for _, s := range p.feats {
		if len(s.counts) > Counters || len(s.sample) > SampleSize {
			t.Errorf("%s: %d counters, %d sampled: over the bounds", s.name, len(s.counts), len(s.sample))
		}
	}

	// A profile is reproducible, and Reset forgets.
	p.Reset()
	if got := p.Profile(); got.Examples != 0 || got.Feature("country").Top != nil || got.Feature("price").Quantiles != nil {
		t.Errorf("after Reset: %+v", got)
	}
}

// TestProfilerSample: with Options.Sample, a random share of the examples
// is counted, and the statistics stay those of the whole.
func TestProfilerSample(t *testing.T) {
	if _, err := NewProfiler(testSpec, Options{Sample: 1.5}); err == nil || !strings.Contains(err.Error(), "sample 1.5") {
		t.Errorf("sample 1.5: %v", err)
	}
	p, err := NewProfiler(testSpec, Options{Sample: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	var exs []schemas.Example
	for i := range 100000 {
		country := "US"
		if i%4 == 0 {
			country = "IN"
		}
		exs = append(exs, example(country, nil, float64(i%100)))
	}
	p.Add(exs)
	prof := p.Profile()
	// Binomial(100000, 0.1): sd 95.
	if n := prof.Examples; n < 10000-400 || n > 10000+400 {
		t.Errorf("%d examples counted of 100000 at 0.1", n)
	}
	if c := prof.Feature("country"); c.Top[0].Value != "US" || math.Abs(c.Top[0].Share-0.75) > 0.02 || prof.Feature("apps").Missing != 1 {
		t.Errorf("sampled country %+v", c)
	}
}

func TestProfileRoundTrip(t *testing.T) {
	exs := []schemas.Example{
		example("US", []string{"a"}, 1.5), example("IN", nil, nil), example(3.0, []string{"a", "b"}, 2.0),
		example(nil, []string{}, 7.0),
	}
	p, err := Of(testSpec, exs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", back, p)
	}
	if c := back.Feature("country"); len(c.Top) != 3 || c.Missing != 0.25 {
		t.Errorf("country: %+v (a number is read as its text, 3)", c)
	}
	// An empty profile round-trips too.
	empty, err := Of(testSpec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err = empty.Encode(); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(b); err != nil {
		t.Errorf("empty profile: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := Of(testSpec, []schemas.Example{example("US", []string{"a"}, 1.0)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := good.Encode()
	for _, tc := range []struct{ name, from, to, want string }{
		{"format", `"format": 1`, `"format": 2`, "format 2"},
		{"unknown key", `"examples": 1`, `"examples": 1, "extra": 0`, "unknown field"},
		{"share sum", `"share": 1`, `"share": 0.5`, `feature "country": other 0`},
		{"type", `"type": "numeric"`, `"type": "float"`, `unknown type "float"`},
		{"duplicate", `"name": "apps"`, `"name": "country"`, `duplicate name "country"`},
		{"quantiles", `"quantiles": [` + "\n        1,", `"quantiles": [` + "\n        2,", "below the one before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(b), tc.from, tc.to, 1)
			if bad == string(b) {
				t.Fatalf("%q not in the profile:\n%s", tc.from, b)
			}
			if _, err := Decode([]byte(bad)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	ref := &Profile{Format: Format, Examples: 1000, Features: []Feature{
		{Name: "country", Type: spec.Categorical, Top: []Share{{"US", 1}}},
		{Name: "apps", Type: spec.CategoricalList, Top: []Share{{"a", 1}}},
		{Name: "price", Type: spec.Numeric, Quantiles: uniform(0, 1)},
	}}
	cur := &Profile{Format: Format, Examples: 1000, Features: []Feature{
		{Name: "country", Type: spec.Categorical, Missing: 0.5, Top: []Share{{"US", 0.5}}},
		{Name: "apps", Type: spec.CategoricalList, Top: []Share{{"a", 1}}},
		{Name: "price", Type: spec.Numeric, Quantiles: uniform(0, 1)},
		{Name: "new", Type: spec.Numeric, Quantiles: uniform(0, 1)},
	}}
	d := spec.Drift{Action: spec.DriftFail, MaxLInf: 0.3, MaxJS: 0.1, MaxMissing: 0.1,
		Features: []spec.DriftFeature{{Name: "apps", Action: spec.DriftOff}}}
	ds, unmatched := Compare(ref, cur, d)
	want := []Distance{
		{Feature: "country", Statistic: StatMissing, Value: 0.5, Threshold: 0.1, Action: spec.DriftFail, Drifted: true},
		{Feature: "country", Statistic: StatLInf, Value: 0.5, Threshold: 0.3, Action: spec.DriftFail, Drifted: true},
		{Feature: "price", Statistic: StatMissing, Value: 0, Threshold: 0.1, Action: spec.DriftFail},
		{Feature: "price", Statistic: StatJS, Value: 0, Threshold: 0.1, Action: spec.DriftFail},
	}
	if !reflect.DeepEqual(ds, want) || !reflect.DeepEqual(unmatched, []string{"new"}) {
		t.Errorf("Compare:\ngot  %+v, unmatched %v\nwant %+v, unmatched [new]", ds, unmatched, want)
	}
}
