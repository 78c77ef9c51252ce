package simulate

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/wdstream/wdstream/schemas"
)

// Live is the world answering what a recommender shows instead of
// replaying its own pages: the online experiment's users (package
// experiment). It continues the users of a replayed prefix of the world
// (their installed apps, their tastes) from the first day after it.
//
// Every draw of a request is keyed, not streamed: the user and the
// candidates of request n come from a generator seeded by (Seed, n), and
// the decision to install the app shown in request n comes from a uniform
// keyed by (Seed, n, app), whatever was shown before. Two recommenders
// that face the same request thus face the same user, the same candidates
// (while the user's installed apps agree) and the same random numbers for
// their decisions: common random numbers, so that a difference between them
// is theirs and not the dice's. An app installs when its uniform falls
// under its true probability at the position shown, so showing it higher
// never turns an install into none.
//
// A Live is not safe for concurrent use.
type Live struct {
	r    *runner
	seed uint64
	pcg  *rand.PCG
}

// Page is one request of a Live world: its user and the candidate apps the
// store would rank for them (none installed, none twice).
type Page struct {
	N          uint64
	TS         int64
	User       int32
	UserID     string
	Candidates []int32
}

// RunLive replays the world's first days days through fn, as Run does
// (with every install they cause within the label window of their last
// day), and returns a Live that continues its users from day days. The
// world must have more than days days: those after the prefix set the
// live requests' catalog and tastes (a request past the last day gets the
// last day's).
func (w *World) RunLive(ctx context.Context, days int, fn func(Event) error) (*Live, *Report, error) {
	if days < 0 || days >= w.cfg.Days {
		return nil, nil, fmt.Errorf("live world: a prefix of %d days needs a world of more days (it has %d)", days, w.cfg.Days)
	}
	r, err := w.runPrefix(ctx, days, fn)
	if err != nil {
		return nil, r.labels.report(), err
	}
	r.queue = r.queue[:0]
	r.beginDay(days)
	return &Live{r: r, seed: w.cfg.Seed, pcg: rand.NewPCG(0, 0)}, r.labels.report(), nil
}

// Day returns the simulated day the live world is in.
func (l *Live) Day() int { return l.r.day }

// Request draws request n at event time ts: a user by activity and size
// candidate apps for them as the store's pages pick them (popular, to the
// user's taste, or partners of the user's installed apps). A ts past the
// current day's end moves the world to its day.
func (l *Live) Request(n uint64, ts int64, size int) Page {
	r := l.r
	if d := r.w.DayOf(ts); d > r.day {
		r.beginDay(d)
	}
	l.pcg.Seed(l.seed^0x5851f42d4c957f2d, n)
	r.rng = rand.New(l.pcg)
	u := int32(r.active.sample(r.rng))
	r.pickApps(pageView{ts: ts, user: u, size: int32(size)})
	p := Page{N: n, TS: ts, User: u, UserID: r.w.users[u].id}
	for _, a := range r.page {
		if a >= 0 {
			p.Candidates = append(p.Candidates, a)
		}
	}
	return p
}

// Impression returns app as page's user would see it in slot pos: the
// impression's columns as the replayed stream writes them (true_p
// included, at that slot), with the given id.
func (l *Live) Impression(page Page, app int32, pos int, id string) schemas.Impression {
	imp := l.r.impression(id, pageView{ts: page.TS, user: page.User}, app, pos, l.TrueP(page.User, app, pos))
	return *imp
}

// AppID returns the id of app.
func (l *Live) AppID(app int32) string { return l.r.w.cat.apps[app].id }

// TrueP returns the probability that user installs app shown in slot pos
// (1 for the first) now: the true_p of the replayed stream.
func (l *Live) TrueP(user, app int32, pos int) float64 {
	lp := l.r.logitParts(user, app, pos)
	return sigmoid(l.r.w.intercept + lp.sum())
}

// Decision is what the user of a request does about one app shown.
type Decision struct {
	Install bool
	P       float64 // the true probability at the slot shown
	DelayMS int64   // from the impression to the install, when Install
}

// Decide returns whether the user of request n installs app shown in slot
// pos, with a uniform keyed by (Seed, n, app) (see Live) and the install's
// delay drawn as the replayed stream draws it (mostly minutes, a share
// beyond the default label window), from the same key.
func (l *Live) Decide(n uint64, user, app int32, pos int) Decision {
	p := l.TrueP(user, app, pos)
	u := keyedUniforms(l.seed, n, app)
	d := Decision{P: p, Install: u[0] < p}
	if d.Install {
		t := &l.r.w.truth
		switch {
		case u[1] < t.LateShare:
			d.DelayMS = lateMinMS + int64(u[2]*lateSpanMS)
		default:
			mean := float64(fastDelayMS)
			if u[2] < 0.2 {
				mean = slowDelayMS
			}
			d.DelayMS = minDelayMS + int64(-math.Log1p(-u[3])*mean)
		}
	}
	return d
}

// Install adds app to user's installed apps from now on (a delivered
// install; the default world's tastes follow it).
func (l *Live) Install(user, app int32) { l.r.applyInstall(user, app) }

// keyedUniforms returns four uniforms in [0, 1) that depend only on
// (seed, n, app).
func keyedUniforms(seed, n uint64, app int32) [4]float64 {
	h := fnv.New64a()
	var b [20]byte
	binary.LittleEndian.PutUint64(b[0:], seed)
	binary.LittleEndian.PutUint64(b[8:], n)
	binary.LittleEndian.PutUint32(b[16:], uint32(app))
	_, _ = h.Write(b[:])
	rng := rand.New(rand.NewPCG(h.Sum64(), 0xda3e39cb94b95bdb))
	return [4]float64{rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64()}
}
