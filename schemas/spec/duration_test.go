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
