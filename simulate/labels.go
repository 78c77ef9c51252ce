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

// labeler realizes labels the way the contract's join does (an install
// labels the impression it names, or else the latest impression of its
// user and app; either only within the label window) and summarizes each
// day once no install can label its impressions any more.
type labeler struct {
	w       *World
	window  int64
	days    [][]rec // nil once closed
	latest  map[uint64]ref
	nextDay int // first day not yet closed
	rep     Report
}

func newLabeler(w *World) *labeler {
	return &labeler{
		w:      w,
		window: w.cfg.LabelWindow.Milliseconds(),
		days:   make([][]rec, w.cfg.Days),
		latest: make(map[uint64]ref, w.cfg.ImpressionsPerDay/8),
		rep:    Report{Days: make([]DayReport, w.cfg.Days)},
	}
}

func userApp(user, app int32) uint64 { return uint64(user)<<32 | uint64(uint32(app)) }

// impression records an impression of day d; it returns its index.
func (l *labeler) impression(d int, pv pageView, app int32, r rec) int {
	r.ts = pv.ts
	l.days[d] = append(l.days[d], r)
	idx := len(l.days[d]) - 1
	l.latest[userApp(pv.user, app)] = ref{int32(d), int32(idx), pv.ts}
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
		if at, ok = l.latest[userApp(p.user, p.app)]; !ok {
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
		for k, at := range l.latest {
			if at.ts < ts-l.window || int(at.day) < l.nextDay {
				delete(l.latest, k)
			}
		}
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
