package featurize

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// listSpec has a list that is wide, deep and crossed with the impressed app
// (the shape that fanned out without a cap), with maxLength (0: the
// default).
func listSpec(maxLength int) *spec.Spec {
	return &spec.Spec{
		Version: 1,
		Features: []spec.Feature{
			{Name: "app_id", Type: spec.Categorical, Wide: true, Deep: true, EmbeddingDim: 4, MinCount: 1, OOVBuckets: 2},
			{Name: "installed_apps", Type: spec.CategoricalList, Wide: true, Deep: true, EmbeddingDim: 4, Combiner: spec.CombinerMean, MinCount: 1, OOVBuckets: 3, MaxLength: maxLength},
			{Name: "rating", Type: spec.Numeric, Wide: true, Deep: true, Quantiles: 4},
		},
		Crosses: []spec.Cross{
			{Name: "installed_x_app", Columns: []string{"installed_apps", "app_id"}, HashBuckets: 1 << 16},
			{Name: "app_x_installed", Columns: []string{"app_id", "installed_apps"}, HashBuckets: 1 << 10},
		},
	}
}

func listExample(id string, apps []string) schemas.Example {
	return schemas.Example{
		Impression: schemas.Impression{
			ImpressionID: id, TS: 1, UserID: "u", AppID: "com.app.target",
			Features: map[string]schemas.Value{
				"installed_apps": schemas.Strings(apps),
				"rating":         schemas.Number(4.5),
			},
		},
		Label: 1,
	}
}

// batchInputs is what a Batch holds for the model, without its scratch.
type batchInputs struct {
	WideOffsets, WideSlots, WideIDs []int32
	WideValues                      []float32
	WideSizes                       []int32
	Deep                            []DeepField
	Dense                           []float32
}

func inputsOf(b *Batch) batchInputs {
	return batchInputs{b.WideOffsets, b.WideSlots, b.WideIDs, b.WideValues, b.WideSizes, b.Deep, b.Dense}
}

// A 100,000-element list is cut to its first max_length elements for the
// deep part and the wide part alike: the batch equals that of the list
// truncated by hand, and Stats counts what was cut.
func TestMaxLengthCapsLists(t *testing.T) {
	const n = 100_000
	long := make([]string, n)
	for i := range long {
		long[i] = fmt.Sprintf("com.app.%06d", i)
	}
	for _, tt := range []struct {
		name      string
		maxLength int // in the spec
		keep      int // elements the model reads
	}{
		{"default", 0, spec.DefaultMaxLength},
		{"explicit", 1000, 1000},
		{"one", 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			short := long[:tt.keep:tt.keep] // by hand
			rows := []schemas.Example{listExample("a", long), listExample("b", long[:3]), listExample("c", nil)}
			hand := []schemas.Example{listExample("a", short), listExample("b", long[:3]), listExample("c", nil)}

			// FitTransform: both states fit and transform the same elements.
			capped, err := New(listSpec(tt.maxLength), smallOpts)
			if err != nil {
				t.Fatal(err)
			}
			byHand, err := New(listSpec(tt.maxLength), smallOpts)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range []*State{capped, byHand} {
				st.RefreshBoundaries()
			}
			var got, want Batch
			if err := capped.FitTransform(&got, rows); err != nil {
				t.Fatal(err)
			}
			if err := byHand.FitTransform(&want, hand); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(inputsOf(&got), inputsOf(&want)) {
				t.Fatalf("FitTransform of the capped rows differs from the rows truncated by hand")
			}
			if a, b := capped.Vocab("installed_apps").Tokens(), byHand.Vocab("installed_apps").Tokens(); !reflect.DeepEqual(a, b) {
				t.Errorf("vocabularies differ: %d and %d strings", len(a), len(b))
			}
			// Row a's wide entries: app_id, the kept elements, rating, and
			// two crosses of the kept elements.
			if got, want := got.WideOffsets[1]-got.WideOffsets[0], int32(1+tt.keep+1+2*tt.keep); got != want {
				t.Errorf("row a has %d wide entries, want %d", got, want)
			}
			deep := got.Deep[1]
			if got := deep.Offsets[1] - deep.Offsets[0]; got != int32(tt.keep) {
				t.Errorf("row a has %d deep ids, want %d", got, tt.keep)
			}
			wantCut := uint64(0)
			if tt.keep < 3 {
				wantCut = uint64(3 - tt.keep) // row b is cut too
			}
			checkCut(t, capped, uint64(n-tt.keep)+wantCut, 1+min(wantCut, 1))
			checkCut(t, byHand, wantCut, min(wantCut, 1))

			// Transform alone, on the fitted state, the same way; it counts
			// again (Fit does not).
			if err := capped.Transform(&got, rows); err != nil {
				t.Fatal(err)
			}
			if err := capped.Transform(&want, hand); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(inputsOf(&got), inputsOf(&want)) {
				t.Errorf("Transform of the capped rows differs from the rows truncated by hand")
			}
			// Counted: the rows twice, and row b of the hand-cut rows.
			checkCut(t, capped, 2*(uint64(n-tt.keep)+wantCut)+wantCut, 2*(1+min(wantCut, 1))+min(wantCut, 1))
			before := capped.Vocab("installed_apps").Len()
			fitted, err := New(listSpec(tt.maxLength), smallOpts)
			if err != nil {
				t.Fatal(err)
			}
			if err := fitted.Fit(rows); err != nil {
				t.Fatal(err)
			}
			if got := fitted.Vocab("installed_apps").Len(); got != before {
				t.Errorf("Fit admitted %d strings, FitTransform %d: Fit must read the same first max_length", got, before)
			}
			checkCut(t, fitted, 0, 0)
		})
	}
}

func checkCut(t *testing.T, st *State, elems, lists uint64) {
	t.Helper()
	for _, v := range st.Stats().Vocabs {
		switch v.Feature {
		case "installed_apps":
			if v.Truncated != elems || v.TruncatedLists != lists {
				t.Errorf("installed_apps: Truncated %d, TruncatedLists %d; want %d and %d", v.Truncated, v.TruncatedLists, elems, lists)
			}
		default:
			if v.Truncated != 0 || v.TruncatedLists != 0 {
				t.Errorf("%s: Truncated %d, TruncatedLists %d; want 0", v.Feature, v.Truncated, v.TruncatedLists)
			}
		}
	}
}

func TestMaxLengthNegative(t *testing.T) {
	if _, err := New(listSpec(-1), smallOpts); err == nil {
		t.Fatal("New accepted max_length -1")
	}
}

// The ceiling of a vocabulary-backed table is OOV buckets plus max_size;
// fixed slots' is their size.
func TestSizeLimit(t *testing.T) {
	sp := listSpec(0)
	sp.Features[0].MaxSize = 5
	st, err := New(sp, smallOpts)
	if err != nil {
		t.Fatal(err)
	}
	l := st.Layout()
	if got := l.Wide[0].SizeLimit(); got != 2+5 {
		t.Errorf("app_id wide slot limit %d, want 7", got)
	}
	if got := l.Wide[1].SizeLimit(); got != 0 {
		t.Errorf("installed_apps (no max_size) limit %d, want 0", got)
	}
	if got := l.Wide[2].SizeLimit(); got != 1+4 {
		t.Errorf("rating limit %d, want 5", got)
	}
	if got := l.Wide[3].SizeLimit(); got != 1<<16 {
		t.Errorf("cross limit %d, want 2^16", got)
	}
	if got := l.Deep[0].SizeLimit(); got != 7 {
		t.Errorf("app_id deep limit %d, want 7", got)
	}
}
