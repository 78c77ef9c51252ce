package simulate

import (
	"context"
	"math"
	"slices"
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
