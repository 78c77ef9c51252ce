package publisher

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/wdstream/wdstream/drift"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// driftCheck compares the fresh examples' statistics with those the
// baseline recorded of its training data (validation.drift): the check
// "drift" counts the drifted features and names each with its statistic,
// distance and threshold; Report.Drift holds every distance measured. It
// fails the candidate only when a drifted feature's action is fail, and
// warns otherwise. The error is for fresh examples whose columns the spec
// cannot name.
func (g *Gate) driftCheck(r *Report, sp *spec.Spec, base *Bundle, fresh []schemas.Example) error {
	d := g.Validation.Drift.OrDefault()
	const name, format, threshold = "drift", "%.0f", "= 0 drifted features"
	skip := func(why string) { r.add(name, Skip, math.NaN(), format, threshold, why) }
	switch {
	case d.Action == spec.DriftOff:
		skip("off (validation.drift.action)")
		return nil
	case base == nil:
		skip("no baseline: no statistics to compare with")
		return nil
	case base.Profile == nil:
		skip("the baseline recorded no feature statistics (published before they were kept): drift not checked")
		return nil
	case len(fresh) < d.MinExamples:
		skip(fmt.Sprintf("%d fresh examples, fewer than validation.drift.min_examples %d", len(fresh), d.MinExamples))
		return nil
	case base.Profile.Examples < int64(d.MinExamples):
		skip(fmt.Sprintf("the baseline's statistics cover %d examples, fewer than validation.drift.min_examples %d", base.Profile.Examples, d.MinExamples))
		return nil
	}
	cur, err := drift.Of(sp, fresh)
	if err != nil {
		return fmt.Errorf("gate: statistics of the fresh examples: %w", err)
	}
	ds, unmatched := drift.Compare(base.Profile, cur, d)
	r.Drift = ds
	if len(unmatched) > 0 {
		r.Notes = append(r.Notes, "drift: the baseline has no statistics of "+strings.Join(unmatched, ", "))
	}
	var lines []string
	drifted := map[string]bool{}
	st := Pass
	for _, x := range ds {
		if !x.Drifted {
			continue
		}
		drifted[x.Feature] = true
		lines = append(lines, fmt.Sprintf("%s %s %.3f > %g", x.Feature, x.Statistic, x.Value, x.Threshold))
		if x.Action == spec.DriftFail {
			st = Fail
		} else if st == Pass {
			st = Warn
		}
	}
	detail := fmt.Sprintf("%d features within their thresholds, against %d training examples", len(cur.Features)-len(unmatched), base.Profile.Examples)
	if len(lines) > 0 {
		detail = strings.Join(lines, "; ")
	}
	r.add(name, st, float64(len(drifted)), format, threshold, detail)
	return nil
}

// LargestDrifts returns the n distances of r.Drift with the largest ratio
// to their thresholds, largest first (the status page's table).
func LargestDrifts(r *Report, n int) []drift.Distance {
	ds := append([]drift.Distance(nil), r.Drift...)
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Ratio() > ds[j].Ratio() })
	return ds[:min(n, len(ds))]
}

// Profile reads the statistics the version m describes recorded of its
// training data (StatsFile, checked against m); nil and no error for a
// version published before they were kept.
func (s *Store) Profile(ctx context.Context, m *Manifest) (*drift.Profile, error) {
	b, err := s.ReadFile(ctx, m, StatsFile)
	if errors.Is(err, ErrNoVersion) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := drift.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s@%s file %s: %w", ErrCorrupt, m.Model, m.Version, StatsFile, err)
	}
	return p, nil
}

// Spec reads the spec the version m describes was trained with (SpecFile,
// checked against m).
func (s *Store) Spec(ctx context.Context, m *Manifest) (*spec.Spec, error) {
	b, err := s.ReadFile(ctx, m, SpecFile)
	if err != nil {
		return nil, err
	}
	sp, err := spec.ParseWith(SpecFile, b, spec.LoadOptions{MaxModelBytes: -1})
	if err != nil {
		return nil, fmt.Errorf("%w: %s@%s: %w", ErrCorrupt, m.Model, m.Version, err)
	}
	return sp, nil
}
