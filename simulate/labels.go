package simulate

import (
	"github.com/wdstream/wdstream/trainer/metrics"
)

// rec is what the report keeps of one impression until its day closes.
type rec struct {
	ts      int64
	trueP   float64
	logit   float32 // the true logit
	noPair  float32 // the true logit without the pair term
	noTaste float32 // the true logit without the taste term
	stale   float32 // the true logit with day-0 tastes
	pair    bool    // a strong pair applies
	label   bool    // realized: an attributed install arrived within the window
}

// ref locates an impression's record.
type ref struct {
	day, idx int32
	ts       int64
}

// recent is one impression of a user inside the label window.
type recent struct {
	app int32
	at  ref
}

// labeler realizes labels the way the contract's join does (an install
// labels the impression it names, or else the latest impression of its
// user and app; either only within the label window) and summarizes each
// day once no install can label its impressions any more.
type labeler struct {
	w       *World
	window  int64
	days    [][]rec    // nil once closed
	recent  [][]recent // by user: impressions of the last label window, in ts order
	nextDay int        // first day not yet closed
	rep     Report
}

func newLabeler(w *World) *labeler {
	return &labeler{
		w:      w,
		window: w.cfg.LabelWindow.Milliseconds(),
		days:   make([][]rec, w.cfg.Days),
		recent: make([][]recent, len(w.users)),
		rep:    Report{Days: make([]DayReport, w.cfg.Days)},
	}
}

// impression records an impression of day d; it returns its index.
func (l *labeler) impression(d int, pv pageView, app int32, r rec) int {
	r.ts = pv.ts
	l.days[d] = append(l.days[d], r)
	idx := len(l.days[d]) - 1
	// Keep the user's impressions of the last window only; entries are in
	// ts order, so the expired ones are a prefix.
	rs := l.recent[pv.user]
	k := 0
	for k < len(rs) && pv.ts-rs[k].at.ts > l.window {
		k++
	}
	if k > 0 {
		rs = append(rs[:0], rs[k:]...)
	}
	l.recent[pv.user] = append(rs, recent{app, ref{int32(d), int32(idx), pv.ts}})
	l.rep.Impressions++
	return idx
}

// install labels the impression that install p is attributed to.
func (l *labeler) install(p pending) {
	l.rep.Installs++
	l.rep.Days[l.w.DayOf(p.ts)].Installs++
	switch {
	case p.dup:
		l.rep.Duplicates++
	case p.impID == "":
		l.rep.Unattributed++
	}
	if !p.dup && p.ts-p.impTS > l.window {
		l.rep.Late++
	}
	at := ref{p.impDay, p.impIdx, p.impTS}
	if p.impID == "" {
		var ok bool
		if at, ok = l.latestOf(p.user, p.app); !ok {
			return
		}
	}
	if p.ts-at.ts > l.window {
		return
	}
	if rs := l.days[at.day]; rs != nil {
		rs[at.idx].label = true
	}
}

// latestOf returns the latest impression of user and app still held (those
// older than the window may be gone).
func (l *labeler) latestOf(user, app int32) (ref, bool) {
	rs := l.recent[user]
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].app == app {
			return rs[i].at, true
		}
	}
	return ref{}, false
}

// advance closes the days whose impressions no install at or after ts can
// label any more.
func (l *labeler) advance(ts int64) {
	for l.nextDay < len(l.days) {
		end := l.w.Start() + int64(l.nextDay+1)*dayMS
		if end-1+l.window > ts {
			return
		}
		l.closeDay(l.nextDay)
		l.nextDay++
	}
}

func (l *labeler) closeDay(d int) {
	rs := l.days[d]
	l.days[d] = nil
	dr := &l.rep.Days[d]
	dr.Day = d
	dr.Impressions = len(rs)
	if len(rs) == 0 {
		return
	}
	labels := make([]uint8, len(rs))
	pred := make([]float64, len(rs))
	var sumP float64
	pairs := 0
	for i := range rs {
		if rs[i].label {
			labels[i] = 1
			dr.Positives++
		}
		if rs[i].pair {
			pairs++
		}
		pred[i] = rs[i].trueP
		sumP += rs[i].trueP
	}
	l.rep.Positives += dr.Positives
	dr.MeanTrueP = sumP / float64(len(rs))
	dr.BaseRate = float64(dr.Positives) / float64(len(rs))
	dr.PairShare = float64(pairs) / float64(len(rs))
	dr.OracleAUC, _ = metrics.AUC(pred, labels) // 0 when one class is absent
	if d != len(l.days)-1 {
		return
	}
	abl := func(f func(*rec) float32) float64 {
		for i := range rs {
			pred[i] = float64(f(&rs[i]))
		}
		auc, _ := metrics.AUC(pred, labels)
		return auc
	}
	dr.Ablations = &Ablations{
		NoPairAUC:     abl(func(r *rec) float32 { return r.noPair }),
		NoTasteAUC:    abl(func(r *rec) float32 { return r.noTaste }),
		StaleTasteAUC: abl(func(r *rec) float32 { return r.stale }),
	}
}

func (l *labeler) report() *Report {
	rep := l.rep
	rep.Days = append([]DayReport(nil), l.rep.Days[:l.nextDay]...)
	return &rep
}
