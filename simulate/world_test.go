package simulate

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/schemas"
)

func TestConfigErrors(t *testing.T) {
	bad := DefaultTruth()
	bad.RelatedShare, bad.TasteShare = 0.7, 0.6
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative users", Config{Users: -1}, "users is -1"},
		{"too few apps", Config{Apps: 3}, "apps is 3"},
		{"negative days", Config{Days: -2}, "days is -2"},
		{"negative impressions", Config{ImpressionsPerDay: -5}, "impressions per day is -5"},
		{"page too big", Config{PageSize: 300}, "page size is 300"},
		{"negative window", Config{LabelWindow: -time.Second}, "label window is -1s"},
		{"shares above one", Config{Truth: &bad}, "related share + taste share is 1.3"},
		{"base rate", Config{Truth: &Truth{BaseRate: 1.5}}, "base rate is 1.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewWorld(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewWorld error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Config{}.Defaults()
	if c.Users != 20_000 || c.Apps != 2_000 || c.Days != 7 || c.ImpressionsPerDay != 200_000 ||
		c.NewAppsPerDay != 40 || c.LabelWindow != 30*time.Minute || c.PageSize != 8 || c.Truth == nil {
		t.Errorf("defaults = %+v", c)
	}
	if c := (Config{NewAppsPerDay: -1}).Defaults(); c.NewAppsPerDay != 0 {
		t.Errorf("NewAppsPerDay -1 gives %d, want 0", c.NewAppsPerDay)
	}
}

func TestDeterminism(t *testing.T) {
	w1, err := NewWorld(smallConfig(7))
	if err != nil {
		t.Fatal(err)
	}
	evs1, _ := collect(t, w1)
	// A second run of the same world and a fresh world with another
	// GOMAXPROCS must replay the same stream; another seed must not.
	evs1b, _ := collect(t, w1)
	prev := runtime.GOMAXPROCS(1)
	w2, err := NewWorld(smallConfig(7))
	if err != nil {
		t.Fatal(err)
	}
	evs2, _ := collect(t, w2)
	runtime.GOMAXPROCS(prev)
	w3, err := NewWorld(smallConfig(8))
	if err != nil {
		t.Fatal(err)
	}
	evs3, _ := collect(t, w3)
	f1, f1b, f2, f3 := fingerprint(evs1), fingerprint(evs1b), fingerprint(evs2), fingerprint(evs3)
	if f1 != f1b || f1 != f2 {
		t.Errorf("same seed: fingerprints %x, %x, %x differ", f1, f1b, f2)
	}
	if f1 == f3 {
		t.Errorf("seeds 7 and 8 give the same stream")
	}
}

func TestStreamShape(t *testing.T) {
	cfg := smallConfig(3)
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	evs, rep := collect(t, w)
	cfg = w.Config()
	start := cfg.Start.UnixMilli()
	end := start + int64(cfg.Days)*dayMS
	imps := map[string]*schemas.Impression{}
	var nImp, nInst, nDup, nUnattr int
	seenInstall := map[string]bool{}
	last := int64(math.MinInt64)
	for i, e := range evs {
		if (e.Impression == nil) == (e.Install == nil) {
			t.Fatalf("event %d: want exactly one of impression and install", i)
		}
		ts := eventTS(e)
		if ts < last {
			t.Fatalf("event %d: ts %d before the previous %d", i, ts, last)
		}
		last = ts
		if imp := e.Impression; imp != nil {
			nImp++
			if imps[imp.ImpressionID] != nil {
				t.Fatalf("impression id %s repeated", imp.ImpressionID)
			}
			imps[imp.ImpressionID] = imp
			if ts < start || ts >= end {
				t.Fatalf("impression %s: ts %d outside the simulated days", imp.ImpressionID, ts)
			}
			checkImpression(t, imp, cfg.PageSize)
			continue
		}
		in := e.Install
		nInst++
		key := in.UserID + "/" + in.AppID
		if seenInstall[key] {
			nDup++
		}
		seenInstall[key] = true
		if in.ImpressionID == "" {
			nUnattr++
			continue
		}
		imp := imps[in.ImpressionID]
		if imp == nil {
			t.Fatalf("install of %s names impression %s, not delivered before it", key, in.ImpressionID)
		}
		if imp.UserID != in.UserID || imp.AppID != in.AppID || in.TS <= imp.TS {
			t.Fatalf("install %+v does not match its impression %s (%s, %s, ts %d)", in, imp.ImpressionID, imp.UserID, imp.AppID, imp.TS)
		}
		if in.TS > end+cfg.LabelWindow.Milliseconds() {
			t.Fatalf("install at %d after the end plus the label window", in.TS)
		}
	}
	if want := cfg.Days * cfg.ImpressionsPerDay; nImp != want || rep.Impressions != want {
		t.Errorf("impressions: %d delivered, %d reported, want %d", nImp, rep.Impressions, want)
	}
	if rep.Installs != nInst {
		t.Errorf("report counts %d installs, %d delivered", rep.Installs, nInst)
	}
	// Shares: 10% unattributed and 1% duplicates, loosely (a few hundred installs).
	if s := float64(nUnattr) / float64(nInst); s < 0.05 || s > 0.16 {
		t.Errorf("unattributed share %.3f, want about 0.10", s)
	}
	if s := float64(nDup) / float64(nInst); s > 0.04 {
		t.Errorf("duplicate share %.3f, want about 0.01", s)
	}
	if rep.Duplicates == 0 && nInst > 500 {
		t.Errorf("no duplicate installs among %d", nInst)
	}
	if br := rep.BaseRate(); br < 0.015 || br > 0.08 {
		t.Errorf("base rate %.4f, want 2-6%%", br)
	}
}

func checkImpression(t *testing.T, imp *schemas.Impression, pageSize int) {
	t.Helper()
	want := map[string]schemas.Kind{
		ColPosition: schemas.KindNumber, ColCountry: schemas.KindString, ColLanguage: schemas.KindString,
		ColDevice: schemas.KindString, ColAgeBucket: schemas.KindString, ColInstalledApps: schemas.KindStrings,
		ColAppCategory: schemas.KindString, ColAppDeveloper: schemas.KindString, ColAppRating: schemas.KindNumber,
		ColAppSizeMB: schemas.KindNumber, ColAppPrice: schemas.KindNumber, ColTrueP: schemas.KindNumber,
	}
	if len(imp.Features) != len(want) {
		t.Fatalf("impression %s has %d feature columns, want %d", imp.ImpressionID, len(imp.Features), len(want))
	}
	for name, k := range want {
		if got := imp.Features[name].Kind; got != k {
			t.Fatalf("impression %s column %s: kind %s, want %s", imp.ImpressionID, name, got, k)
		}
	}
	if p := feature(imp, ColPosition).Num; p < 1 || p > float64(pageSize) || p != math.Trunc(p) {
		t.Fatalf("impression %s: position %v", imp.ImpressionID, p)
	}
	if r := feature(imp, ColAppRating).Num; r < 1 || r > 5 {
		t.Fatalf("impression %s: rating %v", imp.ImpressionID, r)
	}
	if p := feature(imp, ColTrueP).Num; !(p > 0 && p < 1) {
		t.Fatalf("impression %s: true_p %v", imp.ImpressionID, p)
	}
	if len(feature(imp, ColInstalledApps).Strs) == 0 {
		t.Fatalf("impression %s: no installed apps", imp.ImpressionID)
	}
}

// TestInstallsChangeInstalledApps checks that once a user's install has
// been delivered, the user's later impressions list the app as installed,
// and that earlier impressions keep their snapshot.
func TestInstallsChangeInstalledApps(t *testing.T) {
	w, err := NewWorld(smallConfig(5))
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := collect(t, w)
	installed := map[string]map[string]bool{} // user -> apps installed by delivered installs
	var first *schemas.Impression
	var firstSnap []string
	checked := 0
	for _, e := range evs {
		if in := e.Install; in != nil {
			if installed[in.UserID] == nil {
				installed[in.UserID] = map[string]bool{}
			}
			installed[in.UserID][in.AppID] = true
			continue
		}
		imp := e.Impression
		list := feature(imp, ColInstalledApps).Strs
		if first == nil {
			first, firstSnap = imp, append([]string(nil), list...)
		}
		have := map[string]bool{}
		for _, a := range list {
			have[a] = true
		}
		for a := range installed[imp.UserID] {
			if !have[a] {
				t.Fatalf("impression %s of %s: installed_apps lacks %s, installed earlier", imp.ImpressionID, imp.UserID, a)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no impression after an install was checked")
	}
	if live := feature(first, ColInstalledApps).Strs; strings.Join(live, ",") != strings.Join(firstSnap, ",") {
		t.Errorf("first impression's installed_apps changed after delivery: %v -> %v", firstSnap, live)
	}
}

func TestRunStops(t *testing.T) {
	w, err := NewWorld(smallConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	n := 0
	_, err = w.Run(context.Background(), func(Event) error {
		if n++; n == 100 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 100 {
		t.Errorf("callback error: Run returned %v after %d events, want boom after 100", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	_, err = w.Run(ctx, func(Event) error {
		if n++; n == 1000 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n > 1000+2*256*8 {
		t.Errorf("cancel: Run returned %v after %d events, want context.Canceled soon after 1000", err, n)
	}
}

// TestDelisting: the number delisted is DelistedPerDay a day, and
// delisted apps, impressed before, are never impressed from their day on.
func TestDelisting(t *testing.T) {
	cfg := smallConfig(11)
	cfg.Days = 4
	cfg.DelistedPerDay = 30
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	delisted := map[string]int{}
	for i := range w.cat.apps {
		if d := w.cat.apps[i].delistDay; d > 0 {
			delisted[w.cat.apps[i].id] = d
		}
	}
	if len(delisted) != 30*(cfg.Days-1) {
		t.Fatalf("%d apps delisted, want %d", len(delisted), 30*(cfg.Days-1))
	}
	evs, _ := collect(t, w)
	seen := map[string]bool{}
	for _, e := range evs {
		if e.Impression == nil {
			continue
		}
		seen[e.Impression.AppID] = true
		if d, ok := delisted[e.Impression.AppID]; ok && w.DayOf(e.Impression.TS) >= d {
			t.Fatalf("app %s delisted on day %d impressed on day %d", e.Impression.AppID, d, w.DayOf(e.Impression.TS))
		}
	}
	var impressedBefore int
	for app, d := range delisted {
		if d > 1 && seen[app] {
			impressedBefore++
		}
	}
	if impressedBefore == 0 {
		t.Error("no delisted app was impressed before its day: the test tests nothing")
	}
	if _, err := NewWorld(Config{DelistedPerDay: -1}); err == nil || !strings.Contains(err.Error(), "delisted apps per day is -1") {
		t.Errorf("NewWorld(DelistedPerDay -1): %v", err)
	}
}
