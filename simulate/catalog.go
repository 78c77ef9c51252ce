package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// category is a Google-Play-like app category with the traits its apps
// share.
type category struct {
	name      string
	weight    float64 // share of apps
	sizeMB    float64 // median app size
	paidShare float64 // share of paid apps
}

// categories is a read-only table: the category index of an app indexes it.
var categories = []category{
	{"GAME_ACTION", 3, 180, 0.10}, {"GAME_PUZZLE", 4, 80, 0.10}, {"GAME_CASUAL", 4, 90, 0.05},
	{"GAME_STRATEGY", 2, 200, 0.15}, {"GAME_RACING", 2, 250, 0.05}, {"GAME_SPORTS", 2, 220, 0.05},
	{"SOCIAL", 2, 60, 0.01}, {"COMMUNICATION", 2, 50, 0.01}, {"PHOTOGRAPHY", 3, 40, 0.15},
	{"VIDEO_PLAYERS", 2, 35, 0.10}, {"MUSIC_AND_AUDIO", 3, 30, 0.10}, {"ENTERTAINMENT", 3, 45, 0.05},
	{"TOOLS", 5, 10, 0.20}, {"PRODUCTIVITY", 4, 25, 0.25}, {"FINANCE", 3, 40, 0.02},
	{"SHOPPING", 3, 35, 0.00}, {"TRAVEL_AND_LOCAL", 2, 40, 0.05}, {"MAPS_AND_NAVIGATION", 1, 60, 0.15},
	{"HEALTH_AND_FITNESS", 3, 45, 0.20}, {"EDUCATION", 4, 50, 0.20}, {"BOOKS_AND_REFERENCE", 3, 20, 0.25},
	{"NEWS_AND_MAGAZINES", 2, 20, 0.05}, {"WEATHER", 1, 15, 0.15}, {"FOOD_AND_DRINK", 2, 30, 0.00},
	{"LIFESTYLE", 3, 30, 0.10}, {"PERSONALIZATION", 3, 8, 0.30}, {"BUSINESS", 2, 30, 0.10},
	{"DATING", 1, 40, 0.05}, {"PARENTING", 1, 25, 0.10}, {"SPORTS", 2, 40, 0.05},
	{"AUTO_AND_VEHICLES", 1, 30, 0.05}, {"MEDICAL", 1, 30, 0.20},
}

// prices of paid apps (read-only).
var prices = []float64{0.99, 1.99, 2.99, 4.99, 9.99}

// app is one catalog entry. Its observable traits are the impression's
// app_* columns; appeal is the part of the true logit that depends on the
// app alone.
type app struct {
	id        string
	category  int
	developer int
	rating    float64
	sizeMB    float64
	price     float64
	launchDay int     // 0 for the initial catalog
	delistDay int     // the day it leaves the store; 0: never
	baseW     float64 // popularity weight before the launch boost
	appeal    float64
}

// developer publishes apps; its quality shows in its apps' ratings and
// appeal.
type developer struct {
	id       string
	home     int // the category most of its apps belong to
	quality  float64
	weight   float64 // share of apps it publishes
	catMixed float64 // chance that an app of it leaves home
}

// catalog holds every app that will ever launch, in launch order; app i's
// index is its id number.
type catalog struct {
	apps     []app
	devs     []developer
	catW     cdf
	devW     cdf
	catBase  []float64 // per category appeal
	zipfS    float64   // popularity exponent over ranks
	boostW   float64   // launch-day popularity boost weight
	nInitial int
}

// Appeal model constants (logit scale).
const (
	catAppealSD  = 0.35
	devAppealK   = 0.35 // appeal per unit of developer quality
	appNoiseSD   = 0.25 // appeal that only the app id explains
	ratingGain   = 1.2  // ratingEffect spans ±ratingGain
	ratingPivot  = 4.0
	ratingSteep  = 4.0
	paidPenalty  = 1.0 // logit cost of not being free, before wealth
	pricePerLog  = 0.4 // extra cost per log(1+price)
	launchRankAs = 60  // a launching app is impressed like the app of this rank
	launchDecay  = 1.0 // days for the launch boost to fall by e
	popularityS  = 0.9
)

// ratingEffect is the nonlinear appeal of a rating in [1,5]: flat at both
// ends, steep around 4 stars.
func ratingEffect(r float64) float64 {
	return ratingGain * (2*sigmoid(ratingSteep*(r-ratingPivot)) - 1)
}

func newCatalog(cfg *Config, rng *rand.Rand) *catalog {
	c := &catalog{zipfS: popularityS, nInitial: cfg.Apps}
	w := make([]float64, len(categories))
	c.catBase = make([]float64, len(categories))
	for i, k := range categories {
		w[i] = k.weight
		c.catBase[i] = gauss(rng, catAppealSD)
	}
	c.catW = newCDF(nil, w)

	nDev := max(cfg.Apps/5, 2)
	c.devs = make([]developer, nDev)
	dw := make([]float64, nDev)
	for i := range c.devs {
		c.devs[i] = developer{
			id:       fmt.Sprintf("dev%04d", i),
			home:     c.catW.sample(rng),
			quality:  rng.NormFloat64(),
			weight:   1 / math.Pow(float64(i+1), 0.8),
			catMixed: 0.1 + 0.3*rng.Float64(),
		}
		dw[i] = c.devs[i].weight
	}
	c.devW = newCDF(nil, dw)

	total := cfg.Apps + cfg.NewAppsPerDay*(cfg.Days-1)
	c.apps = make([]app, 0, total)
	for i := range cfg.Apps {
		c.apps = append(c.apps, c.newApp(rng, i, 0))
	}
	// Popularity ranks of the initial catalog follow appeal loosely: good
	// apps tend to be popular, but exposure is far from merit alone.
	order := make([]int, cfg.Apps)
	key := make([]float64, cfg.Apps)
	for i := range order {
		order[i] = i
		key[i] = c.apps[i].appeal + gauss(rng, 0.8)
	}
	sortByKeyDesc(order, key)
	for rank, i := range order {
		c.apps[i].baseW = c.rankWeight(rank)
	}
	c.boostW = c.rankWeight(launchRankAs)
	for d := 1; d < cfg.Days; d++ {
		for range cfg.NewAppsPerDay {
			a := c.newApp(rng, len(c.apps), d)
			// A new app's lasting popularity is that of a random rank.
			a.baseW = c.rankWeight(rng.IntN(len(c.apps)))
			c.apps = append(c.apps, a)
		}
	}
	if cfg.DelistedPerDay > 0 {
		c.delist(cfg)
	}
	return c
}

// delist draws the apps that leave the store, DelistedPerDay at the start
// of every day after the first, uniformly among the apps live the day
// before, from a random stream of their own.
func (c *catalog) delist(cfg *Config) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x64656c697374)) // "delist"
	var live []int
	next := 0 // apps launched up to the day before are in live
	for d := 1; d < cfg.Days; d++ {
		for ; next < len(c.apps) && c.apps[next].launchDay < d; next++ {
			live = append(live, next)
		}
		for range min(cfg.DelistedPerDay, len(live)-1) { // one app always stays
			k := rng.IntN(len(live))
			c.apps[live[k]].delistDay = d
			live[k] = live[len(live)-1]
			live = live[:len(live)-1]
		}
	}
}

// liveOn reports whether app i is in the store on day.
func (c *catalog) liveOn(i, day int) bool {
	a := &c.apps[i]
	return a.launchDay <= day && (a.delistDay == 0 || day < a.delistDay)
}

func (c *catalog) rankWeight(rank int) float64 {
	return 1 / math.Pow(float64(rank+1), c.zipfS)
}

// newApp draws app number n, launching on day.
func (c *catalog) newApp(rng *rand.Rand, n, day int) app {
	d := c.devW.sample(rng)
	dev := &c.devs[d]
	cat := dev.home
	if rng.Float64() < dev.catMixed {
		cat = c.catW.sample(rng)
	}
	k := &categories[cat]
	a := app{
		id:        fmt.Sprintf("a%05d", n),
		category:  cat,
		developer: d,
		launchDay: day,
	}
	a.rating = math.Round(10*min(max(4.0+0.35*dev.quality+gauss(rng, 0.4), 1), 5)) / 10
	a.sizeMB = math.Round(10*k.sizeMB*math.Exp(gauss(rng, 0.7))) / 10
	if rng.Float64() < k.paidShare {
		a.price = prices[rng.IntN(len(prices))]
	}
	a.appeal = c.catBase[cat] + devAppealK*dev.quality + ratingEffect(a.rating) + gauss(rng, appNoiseSD)
	return a
}

// weightOn is app i's popularity weight on day (0 before it launches and
// once delisted),
// including the launch boost that decays over the following days.
func (c *catalog) weightOn(i, day int) float64 {
	if !c.liveOn(i, day) {
		return 0
	}
	a := &c.apps[i]
	w := a.baseW
	if a.launchDay > 0 {
		w += c.boostW * math.Exp(-float64(day-a.launchDay)/launchDecay)
	}
	return w
}

// sortByKeyDesc sorts idx by key[idx] descending, ties by index.
func sortByKeyDesc(idx []int, key []float64) {
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case key[a] > key[b]:
			return -1
		case key[a] < key[b]:
			return 1
		}
		return a - b
	})
}
