package featurize

import (
	"strings"
	"testing"

	"github.com/wdstream/wdstream/schemas/spec"
)

func TestNewErrors(t *testing.T) {
	base := func() *spec.Spec { return playstoreSpec() }
	for _, tc := range []struct {
		name   string
		modify func(*spec.Spec)
		want   string
	}{
		{"duplicate feature", func(s *spec.Spec) { s.Features = append(s.Features, s.Features[1]) }, `"country": duplicate name`},
		{"label as feature", func(s *spec.Spec) { s.Features[1].Name = "label" }, `"label"`},
		{"quantiles", func(s *spec.Spec) { s.Features[0].Quantiles = 1 }, `feature "position": quantiles 1`},
		{"missing outside", func(s *spec.Spec) { s.Features[0].Missing = 2 }, `feature "position": missing 2`},
		{"min_count", func(s *spec.Spec) { s.Features[1].MinCount = 0 }, `feature "country": min_count 0`},
		{"unknown type", func(s *spec.Spec) { s.Features[1].Type = "text" }, `unknown type "text"`},
		{"cross column", func(s *spec.Spec) { s.Crosses[0].Columns[1] = "app_price" }, `column "app_price" is not a categorical`},
		{"cross buckets", func(s *spec.Spec) { s.Crosses[0].HashBuckets = 0 }, `hash_buckets 0`},
		{"cross arity", func(s *spec.Spec) { s.Crosses[0].Columns = s.Crosses[0].Columns[:1] }, `need at least 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := base()
			tc.modify(sp)
			_, err := New(sp, smallOpts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := New(base(), Options{SketchBytes: 10}); err == nil || !strings.Contains(err.Error(), "SketchBytes 10") {
		t.Errorf("New with a tiny sketch: %v", err)
	}
}
