package simulate

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
)

// latentConfig is smallConfig's world with latent tastes.
func latentConfig(seed uint64) Config {
	t := DefaultTruth()
	t.LatentTaste = true
	c := smallConfig(seed)
	c.Truth = &t
	return c
}

// tasteRows returns a runner's users x categories taste terms of day d.
func tasteRows(t *testing.T, w *World, d int) []float32 {
	t.Helper()
	r := newRunner(w, newRNG(w.cfg.Seed, streamEvents))
	for day := 0; day <= d; day++ {
		r.beginDay(day)
	}
	return r.taste
}

// withinGroupShare returns the share of the taste terms' variance left
// within the groups of users with identical country, language, age and
// device (unbiased: within-group variance over the pooled variance, each
// with its degrees of freedom): near 1 when those columns say nothing
// about taste, near 0 when they determine it.
func withinGroupShare(w *World, taste []float32) float64 {
	nC := len(categories)
	type key struct{ country, lang, age, device int }
	groups := map[key][]int{}
	for i := range w.users {
		u := &w.users[i]
		k := key{u.country, u.lang, u.age, u.device}
		groups[k] = append(groups[k], i)
	}
	var within, total, sum, sumSq float64
	var n, g int
	for c := range nC {
		for _, us := range groups {
			if len(us) < 2 {
				continue
			}
			g++
			var m float64
			for _, i := range us {
				m += float64(taste[i*nC+c])
			}
			m /= float64(len(us))
			for _, i := range us {
				x := float64(taste[i*nC+c])
				within += (x - m) * (x - m)
				sum += x
				sumSq += x * x
				n++
			}
		}
	}
	mean := sum / float64(n)
	total = sumSq - float64(n)*mean*mean
	return (within / float64(n-g)) / (total / float64(n-1))
}

// TestLatentTasteIsPrivate checks that with LatentTaste the taste is not a
// function of the observed user columns: users with identical country,
// language, age and device differ in taste as much as any users, whereas
// in the default world those columns explain much of it.
func TestLatentTasteIsPrivate(t *testing.T) {
	lw, err := NewWorld(latentConfig(21))
	if err != nil {
		t.Fatal(err)
	}
	dw, err := NewWorld(smallConfig(21))
	if err != nil {
		t.Fatal(err)
	}
	lt, dt := tasteRows(t, lw, 0), tasteRows(t, dw, 0)
	ls, ds := withinGroupShare(lw, lt), withinGroupShare(dw, dt)
	t.Logf("within-group share of the taste variance: latent %.3f, default %.3f", ls, ds)
	if ls < 0.9 {
		t.Errorf("latent world: identical columns keep %.3f of the taste variance, want >= 0.9", ls)
	}
	if ds > 0.2 {
		t.Errorf("default world: identical columns keep %.3f of the taste variance, want <= 0.2", ds)
	}

	// A pair of users with identical columns: their taste terms for a
	// category differ.
	nC := len(categories)
	seen := map[[4]int]int{}
	pairs, differ := 0, 0
	for i := range lw.users {
		u := &lw.users[i]
		k := [4]int{u.country, u.lang, u.age, u.device}
		j, ok := seen[k]
		if !ok {
			seen[k] = i
			continue
		}
		pairs++
		if math.Abs(float64(lt[i*nC]-lt[j*nC])) > 0.05 {
			differ++
		}
	}
	if pairs < 100 || float64(differ) < 0.9*float64(pairs) {
		t.Errorf("%d of %d pairs of users with identical columns differ in the taste of %s, want at least 90%%",
			differ, pairs, categories[0].name)
	}

	// The scale matches TasteScale (the term's standard deviation).
	var sum, sumSq float64
	for _, x := range lt {
		sum += float64(x)
		sumSq += float64(x) * float64(x)
	}
	n := float64(len(lt))
	if sd := math.Sqrt(sumSq/n - (sum/n)*(sum/n)); math.Abs(sd-lw.truth.TasteScale) > 0.05 {
		t.Errorf("latent taste term's sd %.3f, want TasteScale %.2f", sd, lw.truth.TasteScale)
	}
}

// TestLatentInstallsRevealTaste checks that the initial installed apps
// carry the latent taste: a user's installs fall into the user's
// top-taste category far more often than that category's base share.
func TestLatentInstallsRevealTaste(t *testing.T) {
	w, err := NewWorld(latentConfig(22))
	if err != nil {
		t.Fatal(err)
	}
	taste := tasteRows(t, w, 0)
	nC := len(categories)
	base := make([]float64, nC)
	var all float64
	for i := range w.users {
		for _, a := range w.users[i].installed {
			base[w.cat.apps[a].category]++
			all++
		}
	}
	var own, expect float64
	for i := range w.users {
		u := &w.users[i]
		top := 0
		for c := range nC {
			if taste[i*nC+c] > taste[i*nC+top] {
				top = c
			}
		}
		in := 0
		for _, a := range u.installed {
			if w.cat.apps[a].category == top {
				in++
			}
		}
		own += float64(in) / float64(len(u.installed))
		expect += base[top] / all
	}
	own /= float64(len(w.users))
	expect /= float64(len(w.users))
	t.Logf("share of initial installs in the top-taste category %.3f, its base share %.3f", own, expect)
	if own < 2.5*expect {
		t.Errorf("installs in the top-taste category: %.3f, want at least 2.5x its base share %.3f", own, expect)
	}
}

// TestLatentTasteDrifts checks that each user's latent taste walks: by the
// last day it has moved by about TasteDrift of its length while keeping
// its spread, and installs do not move it.
func TestLatentTasteDrifts(t *testing.T) {
	w, err := NewWorld(latentConfig(23))
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(w, newRNG(w.cfg.Seed, streamEvents))
	for d := range w.cfg.Days {
		r.beginDay(d)
	}
	var moved, length, lengthN float64
	for i := range r.users {
		z0, zn := w.users[i].latent, r.users[i].vec
		d := zn
		d.addScaled(&z0, -1)
		moved += d.dot(&d)
		length += z0.dot(&z0)
		lengthN += zn.dot(&zn)
	}
	ratio, spread := math.Sqrt(moved/length), math.Sqrt(lengthN/length)
	t.Logf("latent tastes moved by %.3f of their length (TasteDrift %.2f), length ratio last/first day %.3f",
		ratio, w.truth.TasteDrift, spread)
	if math.Abs(ratio-w.truth.TasteDrift) > 0.05 {
		t.Errorf("latent tastes moved by %.3f of their length, want about %.2f", ratio, w.truth.TasteDrift)
	}
	if math.Abs(spread-1) > 0.05 {
		t.Errorf("latent tastes' length changed by a factor %.3f over the run, want about 1", spread)
	}
	before := r.users[0].vec
	row := slices.Clone(r.taste[:r.nC])
	app := int32(0)
	for contains(r.users[0].installed, app) {
		app++
	}
	r.applyInstall(0, app)
	if !contains(r.users[0].installed, app) {
		t.Fatalf("app %d not installed", app)
	}
	if r.users[0].vec != before || !slices.Equal(row, r.taste[:r.nC]) {
		t.Error("an install changed the latent taste")
	}
}

// TestLatentReport checks the latent world's report on its last day: the
// taste term is worth a clear amount of AUC (the no-taste AUC, the ceiling
// of a model that cannot infer taste, is well below the oracle's), the
// base rate is calibrated, the stream is deterministic and differs from
// the default world's, and the printed report names the ceiling.
func TestLatentReport(t *testing.T) {
	w, err := NewWorld(latentConfig(24))
	if err != nil {
		t.Fatal(err)
	}
	evs, rep := collect(t, w)
	last := rep.Last()
	a := last.Ablations
	t.Logf("base rate %.4f, oracle AUC %.4f, no pair %.4f, no taste %.4f, stale %.4f",
		rep.BaseRate(), last.OracleAUC, a.NoPairAUC, a.NoTasteAUC, a.StaleTasteAUC)
	if br := rep.BaseRate(); br < 0.02 || br > 0.06 {
		t.Errorf("base rate %.4f, want 0.02-0.06", br)
	}
	if gap := last.OracleAUC - a.NoTasteAUC; gap < 0.03 {
		t.Errorf("no-taste AUC %.4f is %.4f below the oracle's %.4f, want at least 0.03", a.NoTasteAUC, gap, last.OracleAUC)
	}
	if a.StaleTasteAUC >= last.OracleAUC {
		t.Errorf("stale-taste AUC %.4f not below the oracle's %.4f", a.StaleTasteAUC, last.OracleAUC)
	}
	evs2, _ := collect(t, w)
	if fingerprint(evs) != fingerprint(evs2) {
		t.Error("two runs of the latent world differ")
	}
	d, err := NewWorld(smallConfig(24))
	if err != nil {
		t.Fatal(err)
	}
	if evsD, _ := collect(t, d); fingerprint(evsD) == fingerprint(evs) {
		t.Error("the latent and the default world give the same stream")
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if want := "ceiling of a model that cannot infer taste"; !strings.Contains(b.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, b.String())
	}
}

// TestDefaultWorldGolden pins a small default world's stream and report:
// the latent-taste option must leave the default world bit for bit as it
// was (figures from the simulator before LatentTaste existed).
func TestDefaultWorldGolden(t *testing.T) {
	w, err := NewWorld(Config{Seed: 4, Users: 800, Apps: 120, Days: 2, ImpressionsPerDay: 4000})
	if err != nil {
		t.Fatal(err)
	}
	evs, rep := collect(t, w)
	l := rep.Last()
	if fp := fingerprint(evs); fp != 0xa51eba0c75c5736 || len(evs) != 8326 {
		t.Errorf("default world: %d events, fingerprint %#x, want 8326 and 0xa51eba0c75c5736", len(evs), fp)
	}
	if w.intercept != -5.015442669420853 || rep.Positives != 300 {
		t.Errorf("default world: intercept %v and %d positives, want -5.015442669420853 and 300", w.intercept, rep.Positives)
	}
	if got := [3]float64{l.OracleAUC, l.Ablations.NoTasteAUC, l.Ablations.StaleTasteAUC}; math.Abs(got[0]-0.922973) > 5e-7 ||
		math.Abs(got[1]-0.906100) > 5e-7 || math.Abs(got[2]-0.915976) > 5e-7 {
		t.Errorf("default world: oracle, no-taste, stale AUCs %.6f, want 0.922973 0.906100 0.915976", got)
	}
}
