package featurize

import (
	"math"
	"testing"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

func TestStats(t *testing.T) {
	sp := &spec.Spec{Version: 1, Features: []spec.Feature{
		{Name: "country", Type: spec.Categorical, Deep: true, MinCount: 1, OOVBuckets: 1, MaxSize: 2},
		{Name: "price", Type: spec.Numeric, Deep: true, Quantiles: 4},
	}}
	s, err := New(sp, smallOpts)
	if err != nil {
		t.Fatal(err)
	}
	var exs []schemas.Example
	for _, c := range []string{"us", "de", "fr", "us", "jp", ""} {
		f := map[string]schemas.Value{"price": schemas.Number(1)}
		if c != "" {
			f["country"] = schemas.String(c)
		} else {
			f["price"] = schemas.Number(math.NaN())
		}
		exs = append(exs, ex("s", "a", f, 0))
	}
	var b Batch
	if err := s.Fit(exs); err != nil {
		t.Fatal(err)
	}
	s.RefreshBoundaries()
	if err := s.Transform(&b, exs); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	v := st.Vocabs[0]
	// us, de admitted; fr, jp and "" (missing) refused as full; Transform
	// maps fr, jp and "" to OOV.
	want := VocabStats{Feature: "country", Size: 3, Admitted: 2, Observed: 6, Missing: 1, OOV: 3, FullRejects: 3}
	if v != want {
		t.Errorf("vocab stats %+v, want %+v", v, want)
	}
	n := st.Numeric[0]
	if wantN := (NumericStats{Feature: "price", Values: 5, Missing: 1, Boundaries: 1, Fixed: true}); n != wantN {
		t.Errorf("numeric stats %+v, want %+v", n, wantN)
	}
}
