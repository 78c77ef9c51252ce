package drift

import (
	"reflect"
	"testing"

	"github.com/wdstream/wdstream/schemas"
)

// FuzzDecode: Decode never panics, and what it accepts encodes and decodes
// again to an equal profile.
func FuzzDecode(f *testing.F) {
	p, err := Of(testSpec, []schemas.Example{example("US", []string{"a", "b"}, 1.0), example(nil, nil, 2.0)})
	if err != nil {
		f.Fatal(err)
	}
	b, err := p.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"format":1,"examples":0,"features":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			return
		}
		b, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(b)
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("re-decoding an accepted profile: %v\n%s", err, b)
		}
	})
}
