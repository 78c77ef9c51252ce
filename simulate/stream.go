package simulate

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/wdstream/wdstream/schemas"
)

// Install delay model (milliseconds).
const (
	minDelayMS   = 5_000
	fastDelayMS  = 3 * 60_000  // mean of most installs' delay
	slowDelayMS  = 12 * 60_000 // mean of the slower fifth
	lateMinMS    = 30 * 60_000 // late installs: 30m to 6h
	lateSpanMS   = 330 * 60_000
	dupMaxGapMS  = 10 * 60_000
	ctxCheckMask = 255
)

// Run generates the world's event stream from the start and calls fn with
// every event in event-time order. It stops at the first error of fn (returned
// as is) or when ctx is done. Installs scheduled later than the last day's
// end plus the label window are dropped. The report covers the events
// delivered; it is complete when err is nil. Run may be called again: each
// call replays the same stream.
func (w *World) Run(ctx context.Context, fn func(Event) error) (*Report, error) {
	return w.run(ctx, fn, nil)
}

// RunDays is Run over the world's first days days only: their events, the
// same as Run delivers for them, and every install they cause within the
// label window after the last of them. The world keeps its own length (a
// latent taste drifts over all of its days), so days 1..days of a 7-day
// world are the first days of that world, not a shorter world. The report
// covers the events delivered.
func (w *World) RunDays(ctx context.Context, days int, fn func(Event) error) (*Report, error) {
	if days < 1 || days > w.cfg.Days {
		return nil, fmt.Errorf("simulate: the first %d days of a world of %d days: want 1 to %d", days, w.cfg.Days, w.cfg.Days)
	}
	r, err := w.runPrefix(ctx, days, fn)
	return r.labels.report(), err
}

// runPrefix runs the stream's first days days (see RunDays) and returns
// the runner, at the end of the last of them.
func (w *World) runPrefix(ctx context.Context, days int, fn func(Event) error) (*runner, error) {
	r := newRunner(w, newRNG(w.cfg.Seed, streamEvents))
	r.labels = newLabeler(w)
	return r, r.run(ctx, fn, days)
}

// run is Run with an optional source of reusable impressions (whose
// Features maps already hold every column, so refilling them allocates
// nothing); nil allocates each.
func (w *World) run(ctx context.Context, fn func(Event) error, reuse func() *schemas.Impression) (*Report, error) {
	r := newRunner(w, newRNG(w.cfg.Seed, streamEvents))
	r.labels = newLabeler(w)
	r.reuse = reuse
	if err := r.run(ctx, fn, w.cfg.Days); err != nil {
		return r.labels.report(), err
	}
	return r.labels.report(), nil
}

// run generates the first days days of the stream (all of them: Days),
// then delivers every install still scheduled within the label window of
// the last of them.
func (r *runner) run(ctx context.Context, fn func(Event) error, days int) error {
	cfg := &r.w.cfg
	var pages []pageView
	for d := range days {
		dayStart := r.w.Start() + int64(d)*dayMS
		if err := r.drain(dayStart-1, fn); err != nil {
			return err
		}
		r.beginDay(d)
		pages = r.planDay(d, pages)
		for i, pv := range pages {
			if i&ctxCheckMask == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := r.drain(pv.ts, fn); err != nil {
				return err
			}
			if err := r.emitPage(pv, fn); err != nil {
				return err
			}
		}
	}
	end := r.w.Start() + int64(days)*dayMS + cfg.LabelWindow.Milliseconds()
	if err := r.drain(end, fn); err != nil {
		return err
	}
	r.labels.rep.Dropped = len(r.queue)
	r.labels.advance(math.MaxInt64)
	return nil
}

// drain delivers the installs scheduled at or before ts.
func (r *runner) drain(ts int64, fn func(Event) error) error {
	for {
		next, ok := r.queue.peek()
		if !ok || next > ts {
			break
		}
		p := r.queue.pop()
		r.labels.install(p)
		if !p.dup {
			r.applyInstall(p.user, p.app)
		}
		ev := &schemas.Install{TS: p.ts, ImpressionID: p.impID, UserID: r.w.users[p.user].id, AppID: r.w.cat.apps[p.app].id}
		if err := fn(Event{Install: ev}); err != nil {
			return err
		}
	}
	r.labels.advance(ts)
	return nil
}

// applyInstall adds app to the user's installed apps, which shifts the
// user's taste from now on (a latent taste does not depend on installs).
func (r *runner) applyInstall(user, app int32) {
	s := &r.users[user]
	if contains(s.installed, app) {
		return
	}
	// Clip before append: impressions already delivered keep their snapshot.
	s.installed = slices.Clip(append(slices.Clip(s.installed), app))
	s.ids = slices.Clip(append(slices.Clip(s.ids), r.w.cat.apps[app].id))
	if r.walk != nil {
		return
	}
	s.vec = r.w.taste.userVec(&r.w.users[user], s.installed, r.w.cat.apps)
	r.refreshTaste(int(user))
}

// emitPage delivers the impressions of one page view and schedules their
// installs.
func (r *runner) emitPage(pv pageView, fn func(Event) error) error {
	r.pickApps(pv)
	t := &r.w.truth
	for slot, app := range r.page {
		pos := slot + 1
		lp := r.logitParts(pv.user, app, pos)
		logit := r.w.intercept + lp.sum()
		trueP := sigmoid(logit)
		id := r.nextImpressionID()
		idx := r.labels.impression(r.day, pv, app, rec{
			logit:   float32(logit),
			noPair:  float32(logit - lp.pair),
			noTaste: float32(logit - lp.taste),
			stale:   float32(logit - lp.taste + lp.taste0),
			trueP:   trueP,
			pair:    lp.pair != 0,
		})
		if r.rng.Float64() < trueP {
			p := pending{ts: pv.ts + r.delay(), user: pv.user, app: app, impDay: int32(r.day), impIdx: int32(idx), impTS: pv.ts}
			if r.rng.Float64() >= t.UnattributedShare {
				p.impID = id
			}
			r.schedule(p)
			if r.rng.Float64() < t.DuplicateShare {
				p.dup = true
				p.ts += 1_000 + int64(r.rng.IntN(dupMaxGapMS))
				r.schedule(p)
			}
		}
		if err := fn(Event{Impression: r.impression(id, pv, app, pos, trueP)}); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) schedule(p pending) {
	r.seq++
	p.seq = r.seq
	r.queue.push(p)
}

// delay draws the time from impression to install, in ms: most within
// minutes, LateShare of them beyond the default label window.
func (r *runner) delay() int64 {
	if r.rng.Float64() < r.w.truth.LateShare {
		return lateMinMS + int64(r.rng.IntN(lateSpanMS))
	}
	mean := float64(fastDelayMS)
	if r.rng.Float64() < 0.2 {
		mean = slowDelayMS
	}
	return minDelayMS + int64(r.rng.ExpFloat64()*mean)
}

// impression builds the event of app shown to pv's user in slot pos.
func (r *runner) impression(id string, pv pageView, app int32, pos int, trueP float64) *schemas.Impression {
	u := &r.w.users[pv.user]
	a := &r.w.cat.apps[app]
	var imp *schemas.Impression
	if r.reuse != nil {
		imp = r.reuse()
	}
	if imp == nil {
		imp = &schemas.Impression{Features: make(map[string]schemas.Value, 12)}
	}
	f := imp.Features
	f[ColPosition] = schemas.Number(float64(pos))
	f[ColCountry] = schemas.String(countries[u.country].code)
	f[ColLanguage] = schemas.String(r.w.langs[u.lang])
	f[ColDevice] = schemas.String(devices[u.device])
	f[ColAgeBucket] = schemas.String(ageBuckets[u.age])
	f[ColInstalledApps] = schemas.Strings(r.users[pv.user].ids)
	f[ColAppCategory] = schemas.String(categories[a.category].name)
	f[ColAppDeveloper] = schemas.String(r.w.cat.devs[a.developer].id)
	f[ColAppRating] = schemas.Number(a.rating)
	f[ColAppSizeMB] = schemas.Number(a.sizeMB)
	f[ColAppPrice] = schemas.Number(a.price)
	f[ColTrueP] = schemas.Number(trueP)
	imp.ImpressionID, imp.TS, imp.UserID, imp.AppID = id, pv.ts, u.id, a.id
	return imp
}
