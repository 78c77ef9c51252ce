package spec

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// model.negative_sampling: 1 when absent (and for a Model built in Go),
// any rate in (0, 1] kept as written; Marshal leaves 1 out and writes any
// other rate, read back unchanged.
func TestNegativeSampling(t *testing.T) {
	for _, tc := range []struct {
		model   string
		want    SamplingRate
		written string // the line Marshal writes, "" for none
	}{
		{"  hidden: [8]\n", 1, ""},
		{"  negative_sampling: 1\n", 1, ""},
		{"  negative_sampling: 0.2\n", 0.2, "  negative_sampling: 0.2\n"},
		{"  negative_sampling: 1e-3\n", 0.001, "  negative_sampling: 0.001\n"},
	} {
		t.Run(strings.TrimSpace(tc.model), func(t *testing.T) {
			s, err := Parse("x.yaml", []byte(ixBase+tc.model))
			if err != nil {
				t.Fatal(err)
			}
			if s.Model.NegativeSampling != tc.want || s.Model.NegativeSampling.Rate() != float64(tc.want) {
				t.Errorf("negative_sampling %v (rate %v), want %v", s.Model.NegativeSampling, s.Model.NegativeSampling.Rate(), tc.want)
			}
			out, _ := marshalRoundTrip(t, s)
			if has := bytes.Contains(out, []byte("negative_sampling")); has != (tc.written != "") || !bytes.Contains(out, []byte(tc.written)) {
				t.Errorf("marshaled spec, want the line %q (none when empty):\n%s", tc.written, out)
			}
		})
	}
	var m Model
	if m.NegativeSampling.Rate() != 1 || !m.NegativeSampling.IsZero() {
		t.Errorf("zero Model: rate %v", m.NegativeSampling.Rate())
	}
}

// A rate outside (0, 1] is an error naming the key, its line and the
// value, in the file and through LoadOptions.NegativeSampling.
func TestNegativeSamplingErrors(t *testing.T) {
	const file = "configs/x.yaml"
	for _, tc := range []struct {
		name, yaml string
		opts       LoadOptions
		want       wantErr
	}{
		{"zero", ixBase + "  negative_sampling: 0\n", LoadOptions{}, wantErr{8, "model.negative_sampling", "must be in (0, 1] (the share of negative examples kept for training; 1: all), got 0"}},
		{"negative", ixBase + "  negative_sampling: -0.5\n", LoadOptions{}, wantErr{8, "model.negative_sampling", "must be in (0, 1]"}},
		{"above 1", ixBase + "  negative_sampling: 1.5\n", LoadOptions{}, wantErr{8, "model.negative_sampling", "got 1.5"}},
		{"a string", ixBase + "  negative_sampling: half\n", LoadOptions{}, wantErr{8, "model.negative_sampling", `must be a number, got string "half"`}},
		{"not finite", ixBase + "  negative_sampling: .nan\n", LoadOptions{}, wantErr{8, "model.negative_sampling", "must be a finite number"}},
		{"override above 1", ixBase + "  negative_sampling: 0.5\n", LoadOptions{NegativeSampling: 2}, wantErr{8, "model.negative_sampling", "got 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWith(file, []byte(tc.yaml), tc.opts)
			if errs := specErrors(t, err); !hasError(errs, file, tc.want) {
				t.Errorf("errors %v, want %+v", errs, tc.want)
			}
		})
	}
	s, err := ParseWith(file, []byte(ixBase+"  negative_sampling: 0.5\n"), LoadOptions{NegativeSampling: 0.1})
	if err != nil || s.Model.NegativeSampling != 0.1 {
		t.Fatalf("override 0.1 of the file's 0.5: %v, %v", err, s)
	}
}

// marshalRoundTrip marshals s, checks that Parse reads it back to s (but
// the name, which comes from the file name when Marshal writes none), and
// returns the YAML and the spec read back.
func marshalRoundTrip(t *testing.T, s *Spec) ([]byte, *Spec) {
	t.Helper()
	out, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("stored.yaml", out)
	if err != nil {
		t.Fatalf("parsing marshaled spec: %v\n%s", err, out)
	}
	back.Name = s.Name
	if !reflect.DeepEqual(back, s) {
		t.Errorf("round trip changed the spec:\ngot  %+v\nwant %+v", back, s)
	}
	return out, back
}
