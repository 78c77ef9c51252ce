package simulate

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/wdstream/wdstream/schemas"
)

// Event is one element of the world's event stream: exactly one of
// Impression and Install is set. Events are delivered in event-time order
// (an install and an impression with the same ts: the install first).
// The callee owns the event; the world never touches it again.
type Event struct {
	Impression *schemas.Impression
	Install    *schemas.Install
}

// TS is the event's time, Unix milliseconds.
func (e Event) TS() int64 {
	if e.Impression != nil {
		return e.Impression.TS
	}
	return e.Install.TS
}

// userState is a user's mutable state during a run.
type userState struct {
	installed []int32  // shared with impressions' snapshots: append only after Clip
	ids       []string // the same apps' ids: the installed_apps column
	vec       vec      // taste vector (demographics + installed categories, or latent and walking)
}

// pageView is one visit of a user to a page of size slots at ts.
type pageView struct {
	ts   int64
	user int32
	size int32
}

// runner is the state of one Run.
type runner struct {
	w      *World
	rng    *rand.Rand
	walk   *rand.Rand // the latent tastes' random walk; nil unless Truth.LatentTaste
	day    int
	pop    *popularity
	cats   []vec // category vectors of the current day
	cats0  []vec // category vectors of day 0 (the stale-taste diagnostic)
	users  []userState
	taste  []float32 // users x categories, current day
	taste0 []float32 // users x categories, day-0 vectors
	choose []float64 // users x categories: running sums of exp(T*taste), the taste slot's category sampler
	active cdf       // users by activity
	queue  installQueue
	labels *labeler
	seq    uint64
	nImp   uint64
	idPre  string
	page   []int32
	nC     int
	reuse  func() *schemas.Impression // nil: allocate every impression
}

func newRunner(w *World, rng *rand.Rand) *runner {
	nC := len(categories)
	r := &runner{
		w: w, rng: rng, nC: nC,
		users:  make([]userState, len(w.users)),
		taste:  make([]float32, len(w.users)*nC),
		taste0: make([]float32, len(w.users)*nC),
		choose: make([]float64, len(w.users)*nC),
		idPre:  "i" + strconv.FormatUint(w.cfg.Seed, 10) + "-",
	}
	r.cats0 = w.taste.categoryVecs(nil, 0)
	latent := w.truth.LatentTaste
	if latent {
		r.walk = newRNG(w.cfg.Seed, streamWalk)
	}
	aw := make([]float64, len(w.users))
	for i := range w.users {
		u := &w.users[i]
		s := &r.users[i]
		s.installed = slices.Clip(u.installed)
		s.ids = make([]string, len(u.installed))
		for j, a := range u.installed {
			s.ids[j] = w.cat.apps[a].id
		}
		s.ids = slices.Clip(s.ids)
		if latent {
			s.vec = u.latent
		} else {
			s.vec = w.taste.userVec(u, s.installed, w.cat.apps)
		}
		aw[i] = u.activity
	}
	r.active = newCDF(nil, aw)
	return r
}

// beginDay switches the catalog and tastes to day d.
func (r *runner) beginDay(d int) {
	r.day = d
	r.pop = newPopularity(r.w.cat, d)
	r.cats = r.w.taste.categoryVecs(r.cats, d)
	if r.walk != nil && d > 0 {
		r.walkTastes()
	}
	for i := range r.users {
		r.refreshTaste(i)
	}
}

func (r *runner) refreshTaste(i int) {
	s := &r.users[i]
	row := i * r.nC
	r.w.taste.row(r.taste[row:row+r.nC], &s.vec, r.cats)
	// The stale taste is the first day's: category vectors of day 0 and,
	// in the latent world, the user's day-0 vector too.
	v0 := &s.vec
	if r.walk != nil {
		v0 = &r.w.users[i].latent
	}
	r.w.taste.row(r.taste0[row:row+r.nC], v0, r.cats0)
	var sum float64
	for c, t := range r.taste[row : row+r.nC] {
		sum += math.Exp(tasteChoiceT * float64(t))
		r.choose[row+c] = sum
	}
}

// planDay draws day d's page views (exactly ImpressionsPerDay slots in
// all), sorted by ts.
func (r *runner) planDay(d int, dst []pageView) []pageView {
	cfg := &r.w.cfg
	dst = dst[:0]
	lo := max(1, (cfg.PageSize+1)/2)
	dayStart := r.w.Start() + int64(d)*dayMS
	for left := cfg.ImpressionsPerDay; left > 0; {
		size := min(lo+r.rng.IntN(cfg.PageSize-lo+1), left)
		left -= size
		u := r.active.sample(r.rng)
		// The rhythm is local time: shift it by the user's time zone.
		local := r.w.rhythm.sample(r.rng)
		utc := ((local-countries[r.w.users[u].country].tzShift*60)%1440 + 1440) % 1440
		ts := dayStart + int64(utc)*60_000 + int64(r.rng.IntN(60_000))
		dst = append(dst, pageView{ts: ts, user: int32(u), size: int32(size)})
	}
	slices.SortStableFunc(dst, func(a, b pageView) int {
		switch {
		case a.ts < b.ts:
			return -1
		case a.ts > b.ts:
			return 1
		}
		return 0
	})
	return dst
}

// pickApps fills r.page with the apps of page view pv, one per slot, none
// installed by the user and none twice (within a few tries).
func (r *runner) pickApps(pv pageView) {
	t := &r.w.truth
	s := &r.users[pv.user]
	choose := cdf(r.choose[int(pv.user)*r.nC : int(pv.user+1)*r.nC])
	r.page = r.page[:0]
	for range pv.size {
		var a int32 = -1
		for try := 0; try < 8; try++ {
			x := r.rng.Float64()
			switch {
			case x < t.RelatedShare:
				a = r.related(s)
			case x < t.RelatedShare+t.TasteShare:
				a = r.pop.sampleCat(r.rng, choose.sample(r.rng))
			default:
				a = r.pop.sampleAll(r.rng)
			}
			if a >= 0 && !contains(s.installed, a) && !contains(r.page, a) {
				break
			}
		}
		r.page = append(r.page, a)
	}
}

// related returns a partner of a random installed app that has partners
// (a "because you installed A" slot), or a popular app when there is none.
func (r *runner) related(s *userState) int32 {
	n := 0
	for _, a := range s.installed {
		if len(r.w.partners[a]) > 0 {
			n++
		}
	}
	if n == 0 {
		return r.pop.sampleAll(r.rng)
	}
	k := r.rng.IntN(n)
	for _, a := range s.installed {
		ps := r.w.partners[a]
		if len(ps) == 0 {
			continue
		}
		if k == 0 {
			b := ps[r.rng.IntN(len(ps))].app
			if !r.w.cat.liveOn(int(b), r.day) {
				return r.pop.sampleAll(r.rng)
			}
			return b
		}
		k--
	}
	return r.pop.sampleAll(r.rng)
}

// parts are the terms of the true logit of one impression, without the
// intercept.
type parts struct {
	static float64 // app appeal, device x size, country x price, position (and country x developer)
	taste  float64 // user x category taste, current day
	taste0 float64 // the same with day-0 category vectors
	pair   float64 // strong pairs whose A side the user has installed
}

func (p parts) sum() float64 { return p.static + p.taste + p.pair }

func (r *runner) logitParts(user, app int32, pos int) parts {
	a := &r.w.cat.apps[app]
	u := &r.w.users[user]
	var p parts
	p.static = a.appeal - deviceSizePenalty(u.device, a.sizeMB) - pricePenalty(u.country, a.price) + positionEffect(pos)
	if r.w.regionDev != nil {
		p.static += r.w.regionDevTerm(u.country, a.developer)
	}
	i := int(user)*r.nC + a.category
	p.taste = float64(r.taste[i])
	p.taste0 = float64(r.taste0[i])
	inst := r.users[user].installed
	for _, e := range r.w.pairsTo[app] {
		if contains(inst, e.app) {
			p.pair += float64(e.strength)
		}
	}
	return p
}

func (r *runner) nextImpressionID() string {
	r.nImp++
	return r.idPre + strconv.FormatUint(r.nImp, 10)
}
