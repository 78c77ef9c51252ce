package simulate

import (
	"math"
	"math/rand/v2"
)

// The latent-taste world (Truth.LatentTaste): a user's taste vector is
// private noise that takes a daily random walk, and a country x developer
// term joins the logit. The default world draws none of it, so its
// streams and output are unchanged.

// Latent world constants.
const (
	latentSD    = 1.0 // per-component spread of a user's initial latent taste vector
	regionDevSD = 0.5 // spread of the country x developer logit term
)

// latentWalk returns the daily step of a user's latent taste walk,
// z(d) = rho z(d-1) + sqrt(1-rho²) e with e ~ N(0, latentSD² I): the
// walk keeps the vectors' spread (so the term stays at TasteScale) and
// after the run's days-1 steps a vector has moved by about drift times its
// own root mean square length, since E|z(n)-z(0)|² = 2(1-rho^n) E|z(0)|².
// From drift √2 on the last day's vector is independent of the first's.
func latentWalk(drift float64, days int) (rho, sd float64) {
	if days <= 1 || drift == 0 {
		return 1, 0
	}
	rhoN := max(1-drift*drift/2, 0)
	rho = math.Pow(rhoN, 1/float64(days-1))
	return rho, latentSD * math.Sqrt(1-rho*rho)
}

// buildRegionDev draws the country x developer term: one Gaussian effect
// per (country, developer), learnable by crossing the country and
// app_developer columns.
func (w *World) buildRegionDev(rng *rand.Rand) {
	w.regionDev = make([]float32, len(countries)*len(w.cat.devs))
	for i := range w.regionDev {
		w.regionDev[i] = float32(gauss(rng, regionDevSD))
	}
}

// regionDevTerm returns the country x developer term of the logit, 0
// outside the latent world.
func (w *World) regionDevTerm(country, developer int) float64 {
	if w.regionDev == nil {
		return 0
	}
	return float64(w.regionDev[country*len(w.cat.devs)+developer])
}

// walkTastes moves every user's latent taste vector by one day's step of
// its walk (see latentWalk).
func (r *runner) walkTastes() {
	rho, sd := latentWalk(r.w.truth.TasteDrift, r.w.cfg.Days)
	if sd == 0 {
		return
	}
	for i := range r.users {
		v := &r.users[i].vec
		e := randVec(r.walk, sd)
		for k := range v {
			v[k] = rho*v[k] + e[k]
		}
	}
}
