package spec

import (
	"fmt"
	"reflect"
	"testing"
)

func TestHelpers(t *testing.T) {
	data := base + `  - name: country
    type: categorical
  - name: position
    type: numeric
    deep: false
    wide: true
crosses:
  - columns: [app_id, country]
`
	s, err := Parse("x.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	names := func(fs []*Feature) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Name)
		}
		return out
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"wide", names(s.WideFeatures()), []string{"app_id", "position"}},
		{"deep", names(s.DeepFeatures()), []string{"app_id", "country"}},
		{"columns", s.Columns(), []string{"app_id", "country", "position"}},
		{"cross name", s.Crosses[0].Name, "app_id_x_country"},
		{"mode wide", [2]bool{ModeWide.UsesWide(), ModeWide.UsesDeep()}, [2]bool{true, false}},
		{"mode deep", [2]bool{ModeDeep.UsesWide(), ModeDeep.UsesDeep()}, [2]bool{false, true}},
		{"mode wide_deep", [2]bool{ModeWideDeep.UsesWide(), ModeWideDeep.UsesDeep()}, [2]bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	if f, ok := s.Feature("country"); !ok || f != &s.Features[1] {
		t.Errorf("Feature(country) = %p, %v; want a pointer into Features", f, ok)
	}
	if _, ok := s.Feature("nope"); ok {
		t.Error("Feature(nope) found")
	}
	if _, ok := s.Cross("nope"); ok {
		t.Error("Cross(nope) found")
	}
	if lo, hi := s.Validation.CalibrationRange(); lo != 0.5 || hi != 2 {
		t.Errorf("CalibrationRange = %v, %v", lo, hi)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"embedding_dim", "min_count", "oov_buckets", "name", "type"}
	tests := []struct{ in, want string }{
		{"embeding_dim", "embedding_dim"},
		{"min-count", "min_count"},
		{"Name", "name"},
		{"typ", "type"},
		{"colour", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := suggest(tt.in, known); got != tt.want {
				t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func ExampleParse() {
	_, err := Parse("configs/x.yaml", []byte(`version: 1
features:
  - name: app_id
    type: categorical
    wide: true
    embedding_dim: 0
  - name: installed_apps
    type: categorical_list
    combiner: avg
modle:
  hidden: [64]
`))
	fmt.Println(err)
	// Output:
	// configs/x.yaml:6:5: features[0].embedding_dim: must be > 0, got 0
	// configs/x.yaml:9:5: features[1].combiner: unknown combiner "avg": want one of mean, sum, sqrtn
	// configs/x.yaml:10:1: modle: unknown key; did you mean "model"?
}

func ExampleLoad() {
	s, err := Load("../../configs/playstore.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Name, s.Model.Mode, s.Model.Hidden, s.Join.LabelWindow)
	for _, c := range s.Crosses {
		fmt.Println(c.Name, c.HashBuckets)
	}
	// Output:
	// playstore wide_deep [64 32] 30m
	// installed_apps_x_app_id 4194304
	// country_x_app_category 100000
	// language_x_app_category 100000
	// age_bucket_x_app_category 100000
	// device_x_app_category 100000
}
