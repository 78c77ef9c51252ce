package spec

import (
	"os"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, and that whatever it accepts
// survives Marshal and Parse unchanged. Seeds: the shipped configs, the
// cases below and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, path := range shippedConfigs {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		base,
		base + "crosses:\n  - columns: [app_id, app_id]\n",
		base + "model: &m {mode: deep}\nvalidation: *m\n",
		"version: 1\nfeatures:\n  - {name: a, type: categorical_list, combiner: sqrtn, deep: false}\ncrosses: [{columns: [a, a]}]\n",
		"--- \n...\n",
		"version: 1\nfeatures: [&a {name: x}, *a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			specErrors(t, err) // every error is a *Error
			return
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatalf("Marshal of an accepted spec: %v", err)
		}
		back, err := Parse("fuzz.yaml", out)
		if err != nil {
			t.Fatalf("Parse of a marshaled spec: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip changed the spec:\n%+v\n%+v", s, back)
		}
	})
}
