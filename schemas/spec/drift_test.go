package spec

import (
	"bytes"
	"reflect"
	"testing"
)

// driftBase has a categorical, a list and a numeric feature; cases append
// the validation section (line 7 on).
const driftBase = `version: 1
features:
  - {name: country, type: categorical, wide: true}
  - {name: installed_apps, type: categorical_list}
  - {name: price, type: numeric}
validation:
`

func TestDriftSpec(t *testing.T) {
	// Absent: the defaults, which the tags and defaultDrift agree on, and
	// which Marshal leaves out.
	s, err := Parse("x.yaml", []byte(driftBase))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Validation.Drift, defaultDrift) || !s.Validation.Drift.IsZero() {
		t.Errorf("absent section gives %+v, want the defaults %+v", s.Validation.Drift, defaultDrift)
	}
	out, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("drift")) {
		t.Errorf("default drift section written:\n%s", out)
	}
	// A Validation built in Go reads as the defaults.
	if got := (Drift{}).For("price"); got != (DriftFeature{Name: "price", Action: DriftWarn, MaxLInf: 0.3, MaxJS: 0.1, MaxMissing: 0.1}) {
		t.Errorf("zero Drift: For gives %+v", got)
	}

	// Overrides inherit the keys they leave out, and survive a round trip.
	s, err = Parse("x.yaml", []byte(driftBase+`  drift:
    action: fail
    max_linf: 0.2
    features:
      - {name: price, max_js: 0.05}
      - {name: installed_apps, action: off}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := s.Validation.Drift
	if got := d.For("price"); got != (DriftFeature{Name: "price", Action: DriftFail, MaxLInf: 0.2, MaxJS: 0.05, MaxMissing: 0.1}) {
		t.Errorf("price override: %+v", got)
	}
	if got := d.For("installed_apps").Action; got != DriftOff {
		t.Errorf("installed_apps action %q, want off", got)
	}
	if got := d.For("country"); got != (DriftFeature{Name: "country", Action: DriftFail, MaxLInf: 0.2, MaxJS: 0.1, MaxMissing: 0.1}) {
		t.Errorf("country (no override): %+v", got)
	}
	out, err = s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("x.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(back.Validation.Drift, d) {
		t.Errorf("round trip: got %+v, want %+v", back.Validation.Drift, d)
	}
}

func TestDriftSpecErrors(t *testing.T) {
	const file = "configs/x.yaml"
	for _, tc := range []struct {
		name, yaml string
		want       wantErr
	}{
		{"action", "  drift:\n    action: block\n", wantErr{8, "validation.drift.action", `unknown drift action "block"`}},
		{"max_linf", "  drift:\n    max_linf: 1.5\n", wantErr{8, "validation.drift.max_linf", "must be in [0,1]"}},
		{"max_js", "  drift:\n    max_js: -0.1\n", wantErr{8, "validation.drift.max_js", "must be in [0,1]"}},
		{"max_missing", "  drift:\n    max_missing: 2\n", wantErr{8, "validation.drift.max_missing", "must be in [0,1]"}},
		{"min_examples", "  drift:\n    min_examples: 0\n", wantErr{8, "validation.drift.min_examples", "must be > 0"}},
		{"unknown key", "  drift:\n    max_lnf: 0.2\n", wantErr{8, "validation.drift.max_lnf", `did you mean "max_linf"?`}},
		{"override unknown feature", "  drift:\n    features:\n      - {name: prices}\n", wantErr{9, "validation.drift.features[0].name", `unknown feature "prices"`}},
		{"override without name", "  drift:\n    features:\n      - {action: off}\n", wantErr{9, "validation.drift.features[0].name", "required"}},
		{"override twice", "  drift:\n    features:\n      - {name: price}\n      - {name: price}\n", wantErr{10, "validation.drift.features[1].name", "duplicate override"}},
		{"override action", "  drift:\n    features:\n      - {name: price, action: stop}\n", wantErr{9, "validation.drift.features[0].action", `unknown drift action "stop"`}},
		{"linf of a numeric", "  drift:\n    features:\n      - {name: price, max_linf: 0.2}\n", wantErr{9, "validation.drift.features[0].max_linf", "only to categorical"}},
		{"js of a categorical", "  drift:\n    features:\n      - {name: country, max_js: 0.2}\n", wantErr{9, "validation.drift.features[0].max_js", "only to numeric"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(file, []byte(driftBase+tc.yaml))
			got := specErrors(t, err)
			if len(got) != 1 || !hasError(got, file, tc.want) {
				t.Errorf("got %v\nwant one error %s:%d: %s: ...%s...", err, file, tc.want.line, tc.want.path, tc.want.msg)
			}
		})
	}
}
