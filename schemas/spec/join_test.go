package spec

import (
	"strings"
	"testing"
)

// TestJoinStateBudget: join.max_state_bytes reads sizes and off (0, the
// default), join.spill_dir a path; Marshal writes them only when set, as
// Parse reads them back.
func TestJoinStateBudget(t *testing.T) {
	for _, tt := range []struct {
		yaml string
		want ByteSize
		dir  string
	}{
		{"", 0, ""},
		{"  max_state_bytes: off\n", 0, ""},
		{"  max_state_bytes: 0\n", 0, ""},
		{"  max_state_bytes: 512MiB\n  spill_dir: /var/lib/wdstream/spill\n", 512 << 20, "/var/lib/wdstream/spill"},
		{"  max_state_bytes: 1.5 GiB\n", 3 << 29, ""},
		{"  max_state_bytes: 1000000\n", 1000000, ""},
		{"  max_state_bytes: 1e6\n", 1000000, ""},
	} {
		t.Run(tt.yaml, func(t *testing.T) {
			s, err := Parse("x.yaml", []byte(base+"join:\n  max_pending: 1000\n"+tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if s.Join.MaxStateBytes != tt.want || s.Join.SpillDir != tt.dir {
				t.Fatalf("max_state_bytes %d, spill_dir %q; want %d, %q", s.Join.MaxStateBytes, s.Join.SpillDir, tt.want, tt.dir)
			}
			out, err := s.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if set := strings.Contains(string(out), "max_state_bytes: "+tt.want.String()+"\n"); set != (tt.want > 0) {
				t.Errorf("max_state_bytes %s written: %v, want %v:\n%s", tt.want, set, tt.want > 0, out)
			}
			if set := strings.Contains(string(out), "spill_dir:"); set != (tt.dir != "") {
				t.Errorf("spill_dir written: %v, want %v:\n%s", set, tt.dir != "", out)
			}
			back, err := Parse("x.yaml", out)
			if err != nil {
				t.Fatalf("parsing the marshaled spec: %v\n%s", err, out)
			}
			if back.Join != s.Join {
				t.Fatalf("join after a round trip %+v, want %+v", back.Join, s.Join)
			}
		})
	}
	const file = "configs/x.yaml"
	for _, tt := range []struct{ yaml, msg string }{
		{"  max_state_bytes: lots\n", `size "lots"`},
		{"  max_state_bytes: 512MB\n", `unknown unit "MB"`},
		{"  max_state_bytes: -1GiB\n", "must be >= 0"},
		{"  max_state_bytes: [1]\n", "must be a size"},
		{"  max_state_bytes:\n", "has no value"},
		{"  spill_dir: [a]\n", "must be a string"},
	} {
		_, err := Parse(file, []byte(base+"join:\n"+tt.yaml))
		key := "join." + strings.TrimSpace(strings.Split(tt.yaml, ":")[0])
		if !hasError(specErrors(t, err), file, wantErr{7, key, tt.msg}) {
			t.Errorf("%q: %v, want %s:7: %s: ...%s...", tt.yaml, err, file, key, tt.msg)
		}
	}
}
