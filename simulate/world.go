package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// World is a seeded app-store world: its catalog (with the apps that will
// launch on later days), users, strong pairs and taste model. It is
// immutable once built; Run replays its event stream from the start.
type World struct {
	cfg      Config
	truth    Truth
	cat      *catalog
	users    []user
	langs    []string
	taste    *tasteModel
	pairsTo  [][]pairEdge // by impressed app B: the installed apps A that boost it
	partners [][]pairEdge // by installed app A: the apps B it boosts
	// intercept of the true logit, calibrated so that the first day's mean
	// true probability is Truth.BaseRate.
	intercept float64
	rhythm    cdf // page views per minute of the local day
	// regionDev is the country x developer logit term, by
	// country*len(devs)+developer; nil unless Truth.LatentTaste.
	regionDev []float32
}

// pairEdge is one strong pair: app (A or B, by the table it is in) and
// the logit boost.
type pairEdge struct {
	app      int32
	strength float32
}

// Random stream ids: every part of the world draws from its own PCG
// stream so that changing one part's draws leaves the others alone.
const (
	streamCatalog = iota + 1
	streamUsers
	streamTaste
	streamPairs
	streamCalibrate
	streamEvents
	streamLatent    // Truth.LatentTaste: the users' initial latent tastes
	streamRegionDev // Truth.LatentTaste: the country x developer term
	streamWalk      // Truth.LatentTaste: the latent tastes' daily random walk
)

func newRNG(seed uint64, stream int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(stream)*0x9e3779b97f4a7c15))
}

// NewWorld builds the world that cfg describes (zero fields take their
// defaults, see Config).
func NewWorld(cfg Config) (*World, error) {
	cfg = cfg.Defaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("simulate config: %w", err)
	}
	w := &World{cfg: cfg, truth: *cfg.Truth}
	w.cfg.Truth = &w.truth

	langIndex := map[string]int{}
	for _, k := range append([]country{{lang: "en"}}, countries...) {
		if _, ok := langIndex[k.lang]; !ok {
			langIndex[k.lang] = len(w.langs)
			w.langs = append(w.langs, k.lang)
		}
	}
	w.cat = newCatalog(&w.cfg, newRNG(cfg.Seed, streamCatalog))
	w.taste = newTasteModel(newRNG(cfg.Seed, streamTaste), len(w.langs), cfg.Days, w.truth.TasteDrift)
	w.buildUsers(newRNG(cfg.Seed, streamUsers), langIndex)
	w.buildPairs(newRNG(cfg.Seed, streamPairs))
	if w.truth.LatentTaste {
		w.buildRegionDev(newRNG(cfg.Seed, streamRegionDev))
	}
	w.rhythm = dailyRhythm()
	w.calibrate(newRNG(cfg.Seed, streamCalibrate))
	return w, nil
}

// Config returns the world's effective configuration (defaults filled in).
func (w *World) Config() Config { return w.cfg }

// Start returns the event time of the first day's midnight, Unix ms.
func (w *World) Start() int64 { return w.cfg.Start.UnixMilli() }

// DayOf returns the 0-based simulated day of event time ts (Unix ms),
// clamped to [0, Days-1]: installs that arrive after the last midnight
// belong to the last day.
func (w *World) DayOf(ts int64) int {
	d := int((ts - w.Start()) / dayMS)
	return min(max(d, 0), w.cfg.Days-1)
}

const dayMS = int64(24 * time.Hour / time.Millisecond)

func (w *World) buildUsers(rng *rand.Rand, langIndex map[string]int) {
	cw := make([]float64, len(countries))
	for i, k := range countries {
		cw[i] = k.weight
	}
	countryW, ageW := newCDF(nil, cw), newCDF(nil, ageWeights)
	pop := newPopularity(w.cat, 0)
	cats := w.taste.categoryVecs(nil, 0)
	w.users = make([]user, w.cfg.Users)
	choice := make([]float64, len(categories))
	var choiceW cdf
	var sum, sumSq float64
	row := make([]float32, len(categories))
	var latentRNG *rand.Rand
	if w.truth.LatentTaste {
		latentRNG = newRNG(w.cfg.Seed, streamLatent)
	}
	for n := range w.users {
		u := userBase(rng, n, countryW, ageW, langIndex)
		u.demo = w.taste.demo(&u)
		// Installed apps: half by popularity, half from categories the
		// demographic taste (or the latent taste) favours.
		base := &u.demo
		if latentRNG != nil {
			u.latent = randVec(latentRNG, latentSD)
			base = &u.latent
		}
		w.taste.row(row, base, cats)
		for c := range choice {
			choice[c] = math.Exp(tasteChoiceT * float64(row[c]))
		}
		choiceW = newCDF(choiceW, choice)
		k := 3 + poisson(rng, initialInstMu)
		for range k {
			for range 10 {
				var a int32
				if rng.Float64() < 0.5 {
					a = pop.sampleAll(rng)
				} else {
					a = pop.sampleCat(rng, choiceW.sample(rng))
				}
				if a >= 0 && !contains(u.installed, a) {
					u.installed = append(u.installed, a)
					break
				}
			}
		}
		full := u.latent
		if latentRNG == nil {
			full = w.taste.userVec(&u, u.installed, w.cat.apps)
		}
		for c := range cats {
			t := full.dot(&cats[c])
			sum += t
			sumSq += t * t
		}
		w.users[n] = u
	}
	nt := float64(len(w.users) * len(cats))
	mean := sum / nt
	if sd := math.Sqrt(max(sumSq/nt-mean*mean, 1e-12)); w.truth.TasteScale > 0 {
		w.taste.scale = w.truth.TasteScale / sd
	} else {
		w.taste.scale = 0
	}
}

// buildPairs draws the strong pairs: each app of the PairSources most
// popular share of the initial apps boosts 1 to 3 apps among the
// PairTargets most popular share, of any category, so that only memorizing
// the pair can learn it.
func (w *World) buildPairs(rng *rand.Rand) {
	n := w.cfg.Apps
	order := make([]int, n)
	key := make([]float64, n)
	for i := range order {
		order[i] = i
		key[i] = w.cat.apps[i].baseW
	}
	sortByKeyDesc(order, key)
	w.pairsTo = make([][]pairEdge, len(w.cat.apps))
	w.partners = make([][]pairEdge, len(w.cat.apps))
	targets := max(1, int(w.truth.PairTargets*float64(n)))
	for _, a := range order[:int(w.truth.PairSources*float64(n))] {
		k := 1 + rng.IntN(3)
		for range k {
			b := order[rng.IntN(targets)]
			if b == a || hasEdge(w.partners[a], int32(b)) {
				continue
			}
			s := float32(w.truth.PairStrength * (0.75 + 0.5*rng.Float64()))
			w.partners[a] = append(w.partners[a], pairEdge{int32(b), s})
			w.pairsTo[b] = append(w.pairsTo[b], pairEdge{int32(a), s})
		}
	}
}

func hasEdge(es []pairEdge, app int32) bool {
	for _, e := range es {
		if e.app == app {
			return true
		}
	}
	return false
}

func contains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// dailyRhythm is the relative rate of page views per minute of a local
// day: a peak at 20:00 local time, a trough 12 hours later (1.7 : 0.3).
func dailyRhythm() cdf {
	w := make([]float64, 24*60)
	for m := range w {
		h := float64(m) / 60
		w[m] = 1 + 0.7*math.Cos(2*math.Pi*(h-20)/24)
	}
	return newCDF(nil, w)
}
