package simulate

import (
	"testing"
)

// TestRealizedLabels recomputes the realized labels from the delivered
// events with the contract's join rule and compares them with the report.
func TestRealizedLabels(t *testing.T) {
	w, err := NewWorld(smallConfig(11))
	if err != nil {
		t.Fatal(err)
	}
	evs, rep := collect(t, w)
	window := w.Config().LabelWindow.Milliseconds()
	ts := map[string]int64{}
	latest := map[string]string{} // user/app -> latest impression id
	label := map[string]bool{}
	perDay := make([]int, w.Config().Days)
	for _, e := range evs {
		if imp := e.Impression; imp != nil {
			ts[imp.ImpressionID] = imp.TS
			latest[imp.UserID+"/"+imp.AppID] = imp.ImpressionID
			continue
		}
		in := e.Install
		id := in.ImpressionID
		if id == "" {
			id = latest[in.UserID+"/"+in.AppID]
		}
		if its, ok := ts[id]; ok && in.TS-its <= window && !label[id] {
			label[id] = true
			perDay[w.DayOf(its)]++
		}
	}
	if len(label) != rep.Positives {
		t.Errorf("join of the events gives %d positives, report %d", len(label), rep.Positives)
	}
	for d, dr := range rep.Days {
		if dr.Positives != perDay[d] {
			t.Errorf("day %d: join gives %d positives, report %d", d+1, perDay[d], dr.Positives)
		}
	}
	if rep.Late == 0 || rep.Unattributed == 0 {
		t.Errorf("report: %d late and %d unattributed installs, want some of each", rep.Late, rep.Unattributed)
	}
}

// TestSignal checks on a mid-size world that each part of the truth is
// worth a clear amount of AUC on the last day, and that the base rate is
// in range.
func TestSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("mid-size world")
	}
	w, err := NewWorld(Config{Seed: 2, Users: 6000, Apps: 600, Days: 4, ImpressionsPerDay: 50_000})
	if err != nil {
		t.Fatal(err)
	}
	_, rep := collect(t, w)
	if len(rep.Days) != 4 {
		t.Fatalf("report has %d days, want 4", len(rep.Days))
	}
	last := rep.Last()
	a := last.Ablations
	if a == nil {
		t.Fatal("last day has no ablations")
	}
	t.Logf("base rate %.4f, oracle AUC %.4f, no pair %.4f, no taste %.4f, stale %.4f",
		rep.BaseRate(), last.OracleAUC, a.NoPairAUC, a.NoTasteAUC, a.StaleTasteAUC)
	if br := rep.BaseRate(); br < 0.02 || br > 0.06 {
		t.Errorf("base rate %.4f, want 0.02-0.06", br)
	}
	if last.OracleAUC < 0.8 {
		t.Errorf("oracle AUC %.4f, want >= 0.8", last.OracleAUC)
	}
	for _, c := range []struct {
		name string
		auc  float64
		min  float64
	}{{"without pairs", a.NoPairAUC, 0.02}, {"without tastes", a.NoTasteAUC, 0.02}, {"with stale tastes", a.StaleTasteAUC, 0.002}} {
		if cost := last.OracleAUC - c.auc; cost < c.min {
			t.Errorf("AUC %s %.4f: costs %.4f, want at least %.3f", c.name, c.auc, cost, c.min)
		}
	}
	for _, d := range rep.Days[:3] {
		if d.Ablations != nil {
			t.Errorf("day %d has ablations; only the last day should", d.Day+1)
		}
	}
}
