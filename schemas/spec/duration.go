package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in YAML and JSON as a Go duration string
// ("30m", "1h30m", "50ms"). It marshals to its short form: String drops the
// zero minutes and seconds that time.Duration.String prints ("30m", not
// "30m0s").
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns the short form of d: "30m", "1h", "1h30m", "1m30s", "50ms",
// "0s". time.ParseDuration reads it back exactly.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// ParseDuration reads a Go duration string such as "30m" or "1h30m", with a
// day unit too: a leading whole number of days, "30d" or "1d12h" (a day is
// 24h). A bare "0" is accepted; other numbers need a unit.
func ParseDuration(s string) (Duration, error) {
	bad := func() (Duration, error) {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit such as \"30m\", \"1h30m\", \"30d\" or \"50ms\"", s)
	}
	days, rest, hasDays := strings.Cut(s, "d")
	if !hasDays {
		d, err := time.ParseDuration(s)
		if err != nil {
			return bad()
		}
		return Duration(d), nil
	}
	n, err := strconv.ParseUint(days, 10, 32)
	if err != nil || n > math.MaxInt64/uint64(24*time.Hour) {
		return bad()
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || r < 0 || d > math.MaxInt64-r {
			return bad()
		}
		d += r
	}
	return Duration(d), nil
}

// MarshalText writes the short form; encoding/json uses it, so a Duration is
// a JSON string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the short form as a YAML string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a Go duration string, for callers that decode spec
// types with yaml.Unmarshal directly (Load does not go through it).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return fmt.Errorf("line %d: want a duration string such as \"30m\"", n.Line)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}
