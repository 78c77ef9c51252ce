package simulate

import (
	"math"
	"math/rand/v2"
)

// calibrationPages is how many page views of the first day calibrate the
// intercept.
const calibrationPages = 4000

// calibrate sets the intercept so that the mean true probability of the
// first day's impressions is Truth.BaseRate. It draws a sample of page
// views with the same candidate mix as Run, from its own random stream.
func (w *World) calibrate(rng *rand.Rand) {
	r := newRunner(w, rng)
	r.beginDay(0)
	w.intercept = 0
	var xs []float64
	for range calibrationPages {
		lo := max(1, (w.cfg.PageSize+1)/2)
		pv := pageView{user: int32(r.active.sample(rng)), size: int32(lo + rng.IntN(w.cfg.PageSize-lo+1))}
		r.pickApps(pv)
		for slot, app := range r.page {
			xs = append(xs, r.logitParts(pv.user, app, slot+1).sum())
		}
	}
	mean := func(b float64) float64 {
		var s float64
		for _, x := range xs {
			s += sigmoid(b + x)
		}
		return s / float64(len(xs))
	}
	lo, hi := -30.0, 30.0
	for range 60 {
		mid := (lo + hi) / 2
		if mean(mid) < w.truth.BaseRate {
			lo = mid
		} else {
			hi = mid
		}
	}
	w.intercept = (lo + hi) / 2
	if math.IsNaN(w.intercept) {
		w.intercept = 0
	}
}
