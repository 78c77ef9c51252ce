package featurize

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// tinySpec has one feature of each kind, a cross and a fixed column.
func tinySpec() *spec.Spec {
	return &spec.Spec{Version: 1, Features: []spec.Feature{
		{Name: "country", Type: spec.Categorical, Wide: true, Deep: true, MinCount: 1, OOVBuckets: 2},
		{Name: "installed_apps", Type: spec.CategoricalList, Deep: true, MinCount: 1, OOVBuckets: 1},
		{Name: "app_id", Type: spec.Categorical, Deep: true, MinCount: 1},
		{Name: "price", Type: spec.Numeric, Wide: true, Deep: true, Quantiles: 5, Missing: 0.5},
	}, Crosses: []spec.Cross{{Columns: []string{"installed_apps", "app_id"}, HashBuckets: 1000}}}
}

func ex(id, app string, feats map[string]schemas.Value, label int32) schemas.Example {
	return schemas.Example{Impression: schemas.Impression{ImpressionID: id, TS: 7, UserID: "u", AppID: app, Features: feats}, Label: label}
}

func TestTransformLayout(t *testing.T) {
	s, err := New(tinySpec(), smallOpts)
	if err != nil {
		t.Fatal(err)
	}
	train := []schemas.Example{}
	for i := range 100 {
		train = append(train, ex("t", "a1", map[string]schemas.Value{
			"country": schemas.String("us"), "installed_apps": schemas.Strings([]string{"a1", "a2"}),
			"price": schemas.Number(float64(i)),
		}, 0))
	}
	if err := s.Transform(&Batch{}, train[:1]); !errors.Is(err, ErrNoBoundaries) {
		t.Fatalf("Transform before RefreshBoundaries: %v, want ErrNoBoundaries", err)
	}
	if err := s.Fit(train); err != nil {
		t.Fatal(err)
	}
	s.RefreshBoundaries()
	b, _ := s.Boundaries("price")
	if len(b) != 4 {
		t.Fatalf("boundaries %v, want 4", b)
	}
	batch := []schemas.Example{
		ex("e0", "a1", map[string]schemas.Value{"country": schemas.String("us"), "installed_apps": schemas.Strings([]string{"a2", "zz"}), "price": schemas.Number(1e9)}, 1),
		ex("e1", "new", map[string]schemas.Value{"installed_apps": schemas.Strings(nil), "price": schemas.Number(math.NaN())}, 0),
		ex("e2", "a2", map[string]schemas.Value{"country": schemas.Number(3), "price": schemas.Number(-5)}, 0),
	}
	var out Batch
	if err := s.Transform(&out, batch); err != nil {
		t.Fatal(err)
	}
	lay := s.Layout()
	if got := []string{lay.Wide[0].Name, lay.Wide[1].Name, lay.Wide[2].Name}; !slices.Equal(got, []string{"country", "price", "installed_apps_x_app_id"}) {
		t.Fatalf("wide slots %v", got)
	}
	if out.N != 3 || !slices.Equal(out.Labels, []float32{1, 0, 0}) || !slices.Equal(out.ImpressionIDs, []string{"e0", "e1", "e2"}) || !slices.Equal(out.TS, []int64{7, 7, 7}) {
		t.Fatalf("N %d labels %v ids %v ts %v", out.N, out.Labels, out.ImpressionIDs, out.TS)
	}
	// Dense: price only; 1e9 is above every boundary, NaN is missing, -5 is below.
	if out.DenseDim != 1 || !slices.Equal(out.Dense, []float32{1, 0.5, 0}) {
		t.Errorf("dense %v (dim %d), want [1 0.5 0]", out.Dense, out.DenseDim)
	}
	country := s.Vocab("country")
	us, _ := country.Lookup("us")
	three, _ := country.Lookup("3")
	missing, _ := country.Lookup("")
	// Deep fields in spec order: country (single), installed_apps (multi), app_id (single).
	if d := out.Deep[0]; d.Offsets != nil || !slices.Equal(d.IDs, []int32{us, missing, three}) {
		t.Errorf("deep country %+v, want ids %v", d, []int32{us, missing, three})
	}
	apps := s.Vocab("installed_apps")
	a2, _ := apps.Lookup("a2")
	zz, _ := apps.Lookup("zz")
	if d := out.Deep[1]; !slices.Equal(d.Offsets, []int32{0, 2, 2, 2}) || !slices.Equal(d.IDs, []int32{a2, zz}) || zz != 0 {
		t.Errorf("deep installed_apps %+v, want offsets [0 2 2 2] ids [%d 0]", d, a2)
	}
	// Wide: e0 has country, price bucket 5 (1+4), 2 crosses; e1 country "" (OOV or
	// admitted), price missing (0), no crosses (empty list); e2 country, price bucket 1, no crosses.
	if !slices.Equal(out.WideOffsets, []int32{0, 4, 6, 8}) {
		t.Fatalf("wide offsets %v, want [0 4 6 8]", out.WideOffsets)
	}
	if !slices.Equal(out.WideSlots, []int32{0, 1, 2, 2, 0, 1, 0, 1}) {
		t.Errorf("wide slots %v", out.WideSlots)
	}
	wantIDs := []int32{us, 5, int32(crossID(1000, "a2", "a1")), int32(crossID(1000, "zz", "a1")), missing, 0, three, 1}
	if !slices.Equal(out.WideIDs, wantIDs) {
		t.Errorf("wide ids %v, want %v", out.WideIDs, wantIDs)
	}
	if !slices.Equal(out.WideSizes, []int32{int32(country.Size()), 6, 1000}) {
		t.Errorf("wide sizes %v", out.WideSizes)
	}
	for _, v := range out.WideValues {
		if v != 1 {
			t.Fatalf("wide values %v, want all 1", out.WideValues)
		}
	}
	st := s.Stats()
	if st.Vocabs[1].OOV != 1 { // zz
		t.Errorf("installed_apps OOV count %d, want 1", st.Vocabs[1].OOV)
	}
}

func TestExampleErrors(t *testing.T) {
	s, _ := New(tinySpec(), smallOpts)
	s.RefreshBoundaries()
	for _, tc := range []struct {
		name string
		feat map[string]schemas.Value
		col  string
	}{
		{"list in categorical", map[string]schemas.Value{"country": schemas.Strings([]string{"x"})}, "country"},
		{"string in list", map[string]schemas.Value{"installed_apps": schemas.String("x")}, "installed_apps"},
		{"string in numeric", map[string]schemas.Value{"price": schemas.String("cheap")}, "price"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exs := []schemas.Example{ex("ok", "a", nil, 0), ex("bad", "a", tc.feat, 0)}
			for _, op := range []struct {
				name string
				f    func() error
			}{{"Fit", func() error { return s.Fit(exs) }}, {"Transform", func() error { return s.Transform(&Batch{}, exs) }}} {
				err := op.f()
				var ee *ExampleError
				if !errors.As(err, &ee) || ee.Index != 1 || ee.Column != tc.col || ee.ImpressionID != "bad" {
					t.Errorf("%s: %v, want an ExampleError at index 1, column %q", op.name, err, tc.col)
				}
			}
		})
	}
}

// TestNormalizationProperty: normalized values are inside [0,1], never NaN,
// and monotone in the raw value, for random boundaries and values.
func TestNormalizationProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sp := &spec.Spec{Version: 1, Features: []spec.Feature{{Name: "x", Type: spec.Numeric, Deep: true, Quantiles: 2 + r.IntN(30), Missing: 0.25}}}
	for trial := range 50 {
		s, _ := New(sp, smallOpts)
		var fit []schemas.Example
		scale := math.Exp(10 * r.NormFloat64())
		for range 1 + r.IntN(2000) {
			fit = append(fit, ex("f", "a", map[string]schemas.Value{"x": schemas.Number(scale * r.NormFloat64())}, 0))
		}
		if err := s.Fit(fit); err != nil {
			t.Fatal(err)
		}
		s.RefreshBoundaries()
		xs := []float64{math.Inf(-1), math.Inf(1), math.NaN(), 0, math.Copysign(0, -1), math.MaxFloat64, -math.MaxFloat64}
		for range 200 {
			xs = append(xs, scale*3*r.NormFloat64())
		}
		var exs []schemas.Example
		for _, x := range xs {
			exs = append(exs, ex("t", "a", map[string]schemas.Value{"x": schemas.Number(x)}, 0))
		}
		var b Batch
		if err := s.Transform(&b, exs); err != nil {
			t.Fatal(err)
		}
		for i, v := range b.Dense {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("trial %d: x=%v normalized to %v", trial, xs[i], v)
			}
			if math.IsNaN(xs[i]) && v != 0.25 {
				t.Fatalf("trial %d: NaN normalized to %v, want the missing value 0.25", trial, v)
			}
		}
		for i := range xs {
			for j := range xs {
				if xs[i] < xs[j] && b.Dense[i] > b.Dense[j] {
					t.Fatalf("trial %d: x %v < %v but normalized %v > %v", trial, xs[i], xs[j], b.Dense[i], b.Dense[j])
				}
			}
		}
	}
}

// TestTransformDeterministic: the same examples give the same batch from two
// States fitted identically, and crosses do not depend on the process.
func TestTransformDeterministic(t *testing.T) {
	var batches [2]Batch
	for k := range batches {
		s, err := New(playstoreSpec(), smallOpts)
		if err != nil {
			t.Fatal(err)
		}
		exs := newGen(9, 2000, 500).examples(3000)
		if err := s.Fit(exs); err != nil {
			t.Fatal(err)
		}
		s.RefreshBoundaries()
		if err := s.Transform(&batches[k], exs[:500]); err != nil {
			t.Fatal(err)
		}
	}
	a, b := &batches[0], &batches[1]
	if !slices.Equal(a.WideIDs, b.WideIDs) || !slices.Equal(a.WideSlots, b.WideSlots) || !slices.Equal(a.Dense, b.Dense) {
		t.Fatal("two identical runs gave different batches")
	}
	for i := range a.Deep {
		if !slices.Equal(a.Deep[i].IDs, b.Deep[i].IDs) || !slices.Equal(a.Deep[i].Offsets, b.Deep[i].Offsets) {
			t.Fatalf("deep field %d differs", i)
		}
	}
	for i, sz := range a.WideSizes {
		for e := range a.N {
			for j := a.WideOffsets[e]; j < a.WideOffsets[e+1]; j++ {
				if a.WideSlots[j] == int32(i) && (a.WideIDs[j] < 0 || a.WideIDs[j] >= sz) {
					t.Fatalf("slot %d id %d outside [0,%d)", i, a.WideIDs[j], sz)
				}
			}
		}
	}
}

// TestCrossThreeColumns covers the general cross path: one entry per
// combination, each the pinned hash of its values in column order.
func TestCrossThreeColumns(t *testing.T) {
	sp := tinySpec()
	sp.Crosses = []spec.Cross{{Name: "c3", Columns: []string{"installed_apps", "app_id", "country"}, HashBuckets: 997}}
	s, err := New(sp, smallOpts)
	if err != nil {
		t.Fatal(err)
	}
	s.RefreshBoundaries()
	var b Batch
	e := ex("x", "maps", map[string]schemas.Value{"installed_apps": schemas.Strings([]string{"a", "b"}), "country": schemas.String("us")}, 0)
	if err := s.Transform(&b, []schemas.Example{e}); err != nil {
		t.Fatal(err)
	}
	var got []int32
	for j, slot := range b.WideSlots {
		if slot == 2 {
			got = append(got, b.WideIDs[j])
		}
	}
	want := []int32{int32(crossID(997, "a", "maps", "us")), int32(crossID(997, "b", "maps", "us"))}
	if !slices.Equal(got, want) {
		t.Errorf("cross ids %v, want %v", got, want)
	}
}
