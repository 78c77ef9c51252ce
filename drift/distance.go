package drift

import (
	"math"
	"slices"

	"github.com/wdstream/wdstream/schemas/spec"
)

// The statistics a Distance measures.
const (
	// StatLInf is the L-infinity distance of categorical distributions.
	StatLInf = "linf"
	// StatJS is the Jensen-Shannon divergence (bits) of numeric values.
	StatJS = "js"
	// StatMissing is the absolute difference of the missing shares.
	StatMissing = "missing"
)

// Distance is one statistic of one feature between a reference profile
// (what a model trained on) and a current one (fresh examples).
type Distance struct {
	Feature   string  `json:"feature"`
	Statistic string  `json:"statistic"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Action is the feature's drift action (spec.Drift.For).
	Action spec.DriftAction `json:"action"`
	// Drifted is true when Value is above Threshold.
	Drifted bool `json:"drifted"`
}

// Ratio is Value over Threshold, the order in which drifts are shown
// (above 1: drifted); +Inf for a positive value over a zero threshold.
func (d *Distance) Ratio() float64 {
	if d.Threshold == 0 {
		if d.Value > 0 {
			return math.Inf(1)
		}
		return 0
	}
	return d.Value / d.Threshold
}

// Compare measures every feature of cur that ref profiles with the same
// type, with the action and thresholds d gives it (features whose action
// is off are left out): the missing shares for every type, then LInf of
// categorical types, JS of numeric features whose values both sides saw.
// unmatched names the features of cur that ref has no statistics of.
func Compare(ref, cur *Profile, d spec.Drift) (ds []Distance, unmatched []string) {
	for i := range cur.Features {
		c := &cur.Features[i]
		r := ref.Feature(c.Name)
		if r == nil || r.Type != c.Type {
			unmatched = append(unmatched, c.Name)
			continue
		}
		t := d.For(c.Name)
		if t.Action == spec.DriftOff {
			continue
		}
		add := func(stat string, v, limit float64) {
			ds = append(ds, Distance{Feature: c.Name, Statistic: stat, Value: v, Threshold: limit, Action: t.Action, Drifted: v > limit})
		}
		add(StatMissing, math.Abs(c.Missing-r.Missing), t.MaxMissing)
		if c.Type == spec.Numeric {
			if js, ok := JS(r, c); ok {
				add(StatJS, js, t.MaxJS)
			}
		} else {
			add(StatLInf, LInf(r, c), t.MaxLInf)
		}
	}
	return ds, unmatched
}

// LInf returns the L-infinity distance between two categorical features'
// distributions over their top values, "other" and missing (see the
// package doc).
func LInf(a, b *Feature) float64 {
	d := max(math.Abs(a.Missing-b.Missing), math.Abs(a.Other-b.Other))
	bs := make(map[string]float64, len(b.Top))
	for _, s := range b.Top {
		bs[s.Value] = s.Share
	}
	for _, s := range a.Top {
		d = max(d, math.Abs(s.Share-bs[s.Value]))
		delete(bs, s.Value)
	}
	for _, share := range bs {
		d = max(d, share)
	}
	return d
}

// decile is the step between the quantile indices of deciles.
const decile = Quantiles / 10

// JS returns the Jensen-Shannon divergence in bits of two numeric
// features' present values over the bins both sides' deciles cut (see the
// package doc); ok is false when a side saw no value.
func JS(a, b *Feature) (js float64, ok bool) {
	if len(a.Quantiles) == 0 || len(b.Quantiles) == 0 {
		return 0, false
	}
	var edges []float64
	for i := 0; i <= Quantiles; i += decile {
		edges = append(edges, a.Quantiles[i], b.Quantiles[i])
	}
	slices.Sort(edges)
	edges = slices.Compact(edges)
	// Bins (-inf, e0], (e0, e1], ..., (e_last, +inf): the last is empty
	// on both sides, as every point is at most the largest edge.
	pa, pb := 0, 0
	n := float64(Quantiles + 1)
	for _, e := range edges {
		na, nb := upTo(a.Quantiles, e), upTo(b.Quantiles, e)
		js += jsTerm(float64(na-pa)/n, float64(nb-pb)/n)
		pa, pb = na, nb
	}
	return min(max(js, 0), 1), true
}

// upTo counts the sorted points at most x.
func upTo(sorted []float64, x float64) int {
	i, _ := slices.BinarySearchFunc(sorted, x, func(e, t float64) int {
		if e <= t {
			return -1
		}
		return 1
	})
	return i
}

// jsTerm is one bin's part of the Jensen-Shannon divergence in bits.
func jsTerm(p, q float64) float64 {
	m := (p + q) / 2
	t := 0.0
	if p > 0 {
		t += p * math.Log2(p/m) / 2
	}
	if q > 0 {
		t += q * math.Log2(q/m) / 2
	}
	return t
}
