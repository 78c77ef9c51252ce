package spec

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDurationString(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{30 * time.Minute, "30m"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{10 * time.Hour, "10h"},
		{time.Hour + 10*time.Second, "1h0m10s"},
		{90 * time.Second, "1m30s"},
		{50 * time.Millisecond, "50ms"},
		{1500 * time.Millisecond, "1.5s"},
		{-5 * time.Minute, "-5m"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Duration(tt.d).String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			back, err := ParseDuration(tt.want)
			if err != nil || back.D() != tt.d {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.want, back, err, tt.d)
			}
		})
	}
}

func TestDurationCodecs(t *testing.T) {
	type wrap struct {
		D Duration `json:"d" yaml:"d"`
	}
	w := wrap{D: Duration(30 * time.Minute)}

	j, err := json.Marshal(w)
	if err != nil || string(j) != `{"d":"30m"}` {
		t.Errorf("json.Marshal = %s, %v; want {\"d\":\"30m\"}", j, err)
	}
	var jw wrap
	if err := json.Unmarshal([]byte(`{"d":"1h30m"}`), &jw); err != nil || jw.D.D() != 90*time.Minute {
		t.Errorf("json.Unmarshal = %v, %v", jw.D, err)
	}
	if err := json.Unmarshal([]byte(`{"d":"soon"}`), &jw); err == nil || !strings.Contains(err.Error(), `invalid duration "soon"`) {
		t.Errorf("json.Unmarshal of a bad duration: %v", err)
	}

	y, err := yaml.Marshal(w)
	if err != nil || string(y) != "d: 30m\n" {
		t.Errorf("yaml.Marshal = %q, %v; want \"d: 30m\\n\"", y, err)
	}
	var yw wrap
	if err := yaml.Unmarshal([]byte("d: 50ms\n"), &yw); err != nil || yw.D.D() != 50*time.Millisecond {
		t.Errorf("yaml.Unmarshal = %v, %v", yw.D, err)
	}
	if err := yaml.Unmarshal([]byte("d: [1]\n"), &yw); err == nil {
		t.Error("yaml.Unmarshal of a list: want an error")
	}
}

func TestParseDurationDays(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"30d": 30 * day, "1d12h": day + 12*time.Hour, "0d": 0, "2d30m": 2*day + 30*time.Minute, "720h": 30 * day,
	} {
		if got, err := ParseDuration(in); err != nil || got.D() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got.D(), err, want)
		}
	}
	for _, in := range []string{"d", "-1d", "1.5d", "1d-1h", "1dd", "d1h", "99999999999d", "106751d23h59m"} {
		if got, err := ParseDuration(in); err == nil || !strings.Contains(err.Error(), `"30d"`) {
			t.Errorf("ParseDuration(%q) = %v, %v; want an error naming the day unit", in, got.D(), err)
		}
	}
}

func TestFeatureTTL(t *testing.T) {
	base := "version: 1\nname: t\nfeatures:\n  - name: app_id\n    type: categorical\n    wide: true\n"
	s, err := Parse("t.yaml", []byte(base+"    ttl: 30d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Features[0].TTL.D(); got != 30*24*time.Hour {
		t.Fatalf("ttl = %v, want 720h", got)
	}
	out, err := s.Marshal()
	if err != nil || !strings.Contains(string(out), "ttl: 720h") {
		t.Fatalf("Marshal = %s, %v; want ttl: 720h", out, err)
	}
	if back, err := Parse("t.yaml", out); err != nil || back.Features[0].TTL != s.Features[0].TTL {
		t.Fatalf("Parse(Marshal) = %v, %v", back, err)
	}
	plain, err := Parse("t.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := plain.Marshal(); strings.Contains(string(out), "ttl") {
		t.Errorf("a spec without ttl marshals with it:\n%s", out)
	}
	for in, want := range map[string]string{
		base + "    ttl: -1h\n":  "features[0].ttl",
		base + "    ttl: soon\n": "features[0].ttl",
		"version: 1\nname: t\nfeatures:\n  - name: price\n    type: numeric\n    ttl: 30d\n": "features[0].ttl: applies only to categorical features",
	} {
		if _, err := Parse("t.yaml", []byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q): %v; want an error with %q", in, err, want)
		}
	}
}
