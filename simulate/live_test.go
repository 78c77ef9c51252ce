package simulate

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func liveWorld(t *testing.T, latent bool) *World {
	t.Helper()
	tr := DefaultTruth()
	tr.LatentTaste = latent
	w, err := NewWorld(Config{Seed: 3, Users: 500, Apps: 200, Days: 3, ImpressionsPerDay: 5000, Truth: &tr})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestRunLivePrefix: the prefix a Live world replays is the replayed
// stream's first days, event for event; a prefix as long as the world is
// refused.
func TestRunLivePrefix(t *testing.T) {
	w := liveWorld(t, false)
	var full []string
	end := w.Start() + dayMS
	if _, err := w.Run(context.Background(), func(ev Event) error {
		if ev.Impression != nil && ev.Impression.TS < end {
			full = append(full, ev.Impression.ImpressionID+ev.Impression.AppID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var prefix []string
	l, rep, err := w.RunLive(context.Background(), 1, func(ev Event) error {
		if ev.Impression != nil {
			prefix = append(prefix, ev.Impression.ImpressionID+ev.Impression.AppID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(full, prefix) || rep.Impressions != 5000 || l.Day() != 1 {
		t.Fatalf("prefix of %d impressions (report %d, live day %d), the stream's first day %d: want the same 5000, day 1", len(prefix), rep.Impressions, l.Day(), len(full))
	}
	if _, _, err := w.RunLive(context.Background(), 3, func(Event) error { return nil }); err == nil {
		t.Fatal("a prefix of all 3 days accepted")
	}
}

// TestLiveKeyed: request n's user and candidates, and the decision about
// an app shown in it, depend on (seed, n, app) only: not on the requests
// drawn before, nor on the slot's neighbours. Candidates are distinct and
// not installed.
func TestLiveKeyed(t *testing.T) {
	for _, latent := range []bool{false, true} {
		w := liveWorld(t, latent)
		a, _, err := w.RunLive(context.Background(), 1, func(Event) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := w.RunLive(context.Background(), 1, func(Event) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		ts := w.Start() + dayMS + 1000
		for n := range uint64(50) {
			a.Request(n, ts, 10) // a has seen requests 0..n-1 and more
			a.Request(n+1000, ts, 10)
		}
		for _, n := range []uint64{7, 31, 49} {
			pa, pb := a.Request(n, ts, 10), b.Request(n, ts, 10)
			if pa.User != pb.User || !slices.Equal(pa.Candidates, pb.Candidates) {
				t.Fatalf("latent %v: request %d: %+v and %+v: want the same page", latent, n, pa, pb)
			}
			seen := map[int32]bool{}
			for _, app := range pa.Candidates {
				if seen[app] || slices.Contains(a.r.users[pa.User].installed, app) {
					t.Fatalf("request %d: candidate %d twice or installed", n, app)
				}
				seen[app] = true
				if da, db := a.Decide(n, pa.User, app, 2), b.Decide(n, pa.User, app, 2); da != db {
					t.Fatalf("decisions %+v and %+v: want the same", da, db)
				}
			}
		}
	}
}

// TestLiveDecide: over many requests, the installs of an app shown in slot
// pos happen at its true probability there, and a higher slot never loses
// an install (the uniform is the slot's, the probability falls with it).
func TestLiveDecide(t *testing.T) {
	w := liveWorld(t, false)
	l, _, err := w.RunLive(context.Background(), 1, func(Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	ts := w.Start() + dayMS
	var sumP, installs float64
	n := 0
	for req := range uint64(4000) {
		p := l.Request(req, ts, 4)
		for _, app := range p.Candidates {
			hi, lo := l.Decide(req, p.User, app, 1), l.Decide(req, p.User, app, 4)
			if lo.Install && !hi.Install || lo.P >= hi.P {
				t.Fatalf("request %d app %d: slot 4 %+v, slot 1 %+v", req, app, lo, hi)
			}
			if hi.Install && (hi.DelayMS < minDelayMS || hi.DelayMS > lateMinMS+lateSpanMS) {
				t.Fatalf("delay %d ms out of the delay model's range", hi.DelayMS)
			}
			if hi.P != l.TrueP(p.User, app, 1) {
				t.Fatalf("P %v, TrueP %v", hi.P, l.TrueP(p.User, app, 1))
			}
			sumP += hi.P
			if hi.Install {
				installs++
			}
			n++
		}
	}
	// Binomial: sd of the count is at most sqrt(sumP).
	if d := math.Abs(installs - sumP); d > 4*math.Sqrt(sumP) {
		t.Fatalf("%v installs of %d shown, expected %.1f", installs, n, sumP)
	}
	// Installs change what the user is offered: never an installed app.
	p := l.Request(1, ts, 4)
	l.Install(p.User, p.Candidates[0])
	if q := l.Request(1, ts, 4); slices.Contains(q.Candidates, p.Candidates[0]) {
		t.Fatalf("installed app %d offered again: %v", p.Candidates[0], q.Candidates)
	}
}

// TestRunDays: the first days of a world, streamed alone, are the events
// Run delivers for them, in the same order: up to the end of the last day
// exactly the full run's events; in the label window after it, installs of
// the full run only, among them every one naming an impression of those
// days (an install may name only its user and app). The latent world's
// drift is that of the whole world. Days outside 1..Days are refused,
// naming the world's length.
func TestRunDays(t *testing.T) {
	key := func(ev Event) string {
		if ev.Impression != nil {
			return fmt.Sprintf("i %d %s %s", ev.Impression.TS, ev.Impression.ImpressionID, ev.Impression.AppID)
		}
		return fmt.Sprintf("n %d %s %s %s", ev.Install.TS, ev.Install.ImpressionID, ev.Install.UserID, ev.Install.AppID)
	}
	namedAll := 0
	for _, latent := range []bool{false, true} {
		tr := DefaultTruth()
		tr.LatentTaste = latent
		// Pages every minute or so: the last day's last half hour has installs after its end.
		w, err := NewWorld(Config{Seed: 3, Users: 500, Apps: 200, Days: 3, ImpressionsPerDay: 20000, Truth: &tr})
		if err != nil {
			t.Fatal(err)
		}
		const days = 2
		end := w.Start() + days*dayMS
		window := w.Config().LabelWindow.Milliseconds()
		var wantDays []string
		wantTail := map[string]bool{}
		shown := map[string]bool{}
		named := 0
		if _, err := w.Run(context.Background(), func(ev Event) error {
			switch {
			case ev.TS() < end:
				wantDays = append(wantDays, key(ev))
				if ev.Impression != nil {
					shown[ev.Impression.ImpressionID] = true
				}
			case ev.Install != nil && ev.TS() <= end+window:
				wantTail[key(ev)] = true
				if shown[ev.Install.ImpressionID] {
					wantTail[key(ev)+" named"] = true
					named++
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var gotDays []string
		gotNamed := 0
		rep, err := w.RunDays(context.Background(), days, func(ev Event) error {
			if ev.TS() < end {
				gotDays = append(gotDays, key(ev))
				return nil
			}
			if ev.Impression != nil || ev.TS() > end+window || !wantTail[key(ev)] {
				t.Errorf("latent %v: %s after the last day: not an install of the full run's label window", latent, key(ev))
			}
			if wantTail[key(ev)+" named"] {
				gotNamed++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotDays, wantDays) || rep.Impressions != days*20000 {
			t.Fatalf("latent %v: the first %d days streamed alone: %d events before their end (report: %d impressions), the full run's %d: want the same, %d impressions", latent, days, len(gotDays), rep.Impressions, len(wantDays), days*20000)
		}
		if gotNamed != named {
			t.Fatalf("latent %v: %d installs in the window after day %d name one of its impressions, the full run has %d: want the same", latent, gotNamed, days, named)
		}
		namedAll += named
		for _, d := range []int{0, 4} {
			if _, err := w.RunDays(context.Background(), d, func(Event) error { return nil }); err == nil || !strings.Contains(err.Error(), "world of 3 days") {
				t.Fatalf("RunDays(%d) of a 3-day world: %v, want an error naming its 3 days", d, err)
			}
		}
	}
	if namedAll == 0 {
		t.Fatal("no install of either world falls in the window after the last day streamed: the test checks nothing there")
	}
}
