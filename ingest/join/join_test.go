package join

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

const minute = int64(60_000)

// ev is one input event of a scenario: an impression (imp set) or an
// install, followed by an optional watermark advance.
type ev struct {
	imp *Key
	ins *Install
	wm  int64 // 0: no advance
}

func imp(id string, ts int64, user, app string) ev {
	return ev{imp: &Key{ImpressionID: id, TS: ts, UserID: user, AppID: app}}
}
func ins(id string, ts int64, user, app string) ev {
	return ev{ins: &Install{ImpressionID: id, TS: ts, UserID: user, AppID: app}}
}
func adv(wm int64) ev { return ev{wm: wm} }

type got struct {
	labels map[string]int32
	order  []string
	forced []string
}

func run(t *testing.T, cfg Config, evs []ev, flush bool) (got, *Joiner[string]) {
	t.Helper()
	j, err := New[string](cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := got{labels: map[string]int32{}}
	emit := func(r Result[string]) error {
		if _, dup := g.labels[r.ImpressionID]; dup {
			t.Fatalf("impression %s emitted twice", r.ImpressionID)
		}
		if r.Payload != "payload-"+r.ImpressionID {
			t.Fatalf("payload of %s: %q", r.ImpressionID, r.Payload)
		}
		if r.Label == 1 && (r.InstallTS < r.TS || r.InstallTS > r.TS+cfg.Window.Milliseconds()) {
			t.Fatalf("%s: install ts %d outside window of ts %d", r.ImpressionID, r.InstallTS, r.TS)
		}
		g.labels[r.ImpressionID] = r.Label
		g.order = append(g.order, r.ImpressionID)
		if r.Forced {
			g.forced = append(g.forced, r.ImpressionID)
		}
		return nil
	}
	for i, e := range evs {
		switch {
		case e.imp != nil:
			if err := j.AddImpression(*e.imp, "payload-"+e.imp.ImpressionID, int64(i), emit); err != nil {
				t.Fatal(err)
			}
		case e.ins != nil:
			j.AddInstall(*e.ins, int64(i))
		default:
			if err := j.Advance(e.wm, emit); err != nil {
				t.Fatal(err)
			}
		}
	}
	if flush {
		if err := j.Flush(emit); err != nil {
			t.Fatal(err)
		}
	}
	return g, j
}

func TestJoinScenarios(t *testing.T) {
	w := 30 * minute
	cfg := Config{Window: 30 * time.Minute}
	for _, tc := range []struct {
		name   string
		evs    []ev
		labels map[string]int32
		stats  Stats // only the non-zero install counters are compared
	}{
		{"install by id inside the window", []ev{imp("a", 0, "u", "x"), ins("a", 5*minute, "u", "x")},
			map[string]int32{"a": 1}, Stats{Matched: 1}},
		{"install at the window's last millisecond", []ev{imp("a", 0, "u", "x"), ins("a", w, "u", "x")},
			map[string]int32{"a": 1}, Stats{Matched: 1}},
		{"install one millisecond after the window", []ev{imp("a", 0, "u", "x"), ins("a", w+1, "u", "x")},
			map[string]int32{"a": 0}, Stats{OutOfWindow: 1}},
		{"no install", []ev{imp("a", 0, "u", "x")}, map[string]int32{"a": 0}, Stats{}},
		{"duplicate installs give one positive", []ev{imp("a", 0, "u", "x"), ins("a", minute, "u", "x"), ins("a", 2*minute, "u", "x")},
			map[string]int32{"a": 1}, Stats{Matched: 1, Duplicates: 1}},
		{"install before its impression is kept", []ev{ins("a", minute, "u", "x"), imp("a", 0, "u", "x")},
			map[string]int32{"a": 1}, Stats{Matched: 1}},
		{"unattributed install goes to the latest impression of user and app",
			[]ev{imp("a", 0, "u", "x"), imp("b", 10*minute, "u", "x"), imp("c", 11*minute, "u", "y"), ins("", 12*minute, "u", "x")},
			map[string]int32{"a": 0, "b": 1, "c": 0}, Stats{Matched: 1}},
		{"unattributed install outside every window is an orphan",
			[]ev{imp("a", 0, "u", "x"), ins("", 31*minute, "u", "x")},
			map[string]int32{"a": 0}, Stats{Orphans: 1}},
		{"install after the example was emitted is late",
			[]ev{imp("a", 0, "u", "x"), adv(w + 1), ins("a", 10*minute, "u", "x")},
			map[string]int32{"a": 0}, Stats{Late: 1}},
		{"duplicate after a positive was emitted",
			[]ev{imp("a", 0, "u", "x"), ins("a", minute, "u", "x"), adv(w + 1), ins("a", 2*minute, "u", "x")},
			map[string]int32{"a": 1}, Stats{Matched: 1, Duplicates: 1}},
		{"install for an unknown impression is an orphan",
			[]ev{imp("a", 0, "u", "x"), ins("zzz", minute, "u", "x")},
			map[string]int32{"a": 0}, Stats{Orphans: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, j := run(t, cfg, tc.evs, true)
			if fmt.Sprint(g.labels) != fmt.Sprint(tc.labels) {
				t.Errorf("labels %v, want %v", g.labels, tc.labels)
			}
			s := j.Stats()
			gotInst := Stats{Matched: s.Matched, Duplicates: s.Duplicates, Late: s.Late, Orphans: s.Orphans, OutOfWindow: s.OutOfWindow}
			if gotInst != tc.stats {
				t.Errorf("install counters %+v, want %+v", gotInst, tc.stats)
			}
			if s.Pending != 0 || s.Held != 0 {
				t.Errorf("after flush: %d pending, %d held", s.Pending, s.Held)
			}
		})
	}
}

func TestJoinEmitsOnlyWhenTheWindowCloses(t *testing.T) {
	cfg := Config{Window: 30 * time.Minute}
	g, j := run(t, cfg, []ev{imp("a", 0, "u", "x"), imp("b", minute, "u", "y"), adv(30 * minute)}, false)
	if len(g.order) != 0 {
		t.Fatalf("emitted %v with watermark at ts+window: an install at ts+window may still come", g.order)
	}
	emit := func(r Result[string]) error { g.order = append(g.order, r.ImpressionID); return nil }
	if err := j.Advance(30*minute+1, emit); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g.order) != "[a]" {
		t.Fatalf("emitted %v, want [a]", g.order)
	}
}

func TestJoinMaxPendingForcesOldestOut(t *testing.T) {
	cfg := Config{Window: 30 * time.Minute, MaxPending: 2}
	g, j := run(t, cfg, []ev{imp("a", 0, "u", "x"), ins("a", minute, "u", "x"), imp("b", minute, "u", "y"), imp("c", 2*minute, "u", "z")}, false)
	if fmt.Sprint(g.forced) != "[a]" || g.labels["a"] != 1 {
		t.Fatalf("forced %v labels %v: want a forced out with its known label 1", g.forced, g.labels)
	}
	if s := j.Stats(); s.Forced != 1 || s.Pending != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestJoinCommittedOffsets(t *testing.T) {
	cfg := Config{Window: 30 * time.Minute}
	j, _ := New[string](cfg)
	var out []string
	emit := func(r Result[string]) error { out = append(out, r.ImpressionID); return nil }
	// impressions at offsets 0,1,2; installs at offsets 0 (matches b), 1 (orphan-to-be).
	must(t, j.AddImpression(Key{"a", 0, "u", "x"}, "", 0, emit))
	must(t, j.AddImpression(Key{"b", 20 * minute, "u", "y"}, "", 1, emit))
	must(t, j.AddImpression(Key{"c", 40 * minute, "u", "z"}, "", 2, emit))
	j.AddInstall(Install{TS: 25 * minute, ImpressionID: "b"}, 0)
	j.AddInstall(Install{TS: 26 * minute, ImpressionID: "nope"}, 1)
	if i, n := j.Committed(); i != 0 || n != 0 {
		t.Fatalf("before any close: committed %d/%d, want 0/0", i, n)
	}
	must(t, j.Advance(31*minute, emit)) // closes a
	if i, n := j.Committed(); i != 1 || n != 0 {
		t.Fatalf("after closing a: committed %d/%d, want 1/0 (install 0 waits for b)", i, n)
	}
	must(t, j.Advance(51*minute, emit)) // closes b; the install at 26m is held until 56m
	if i, n := j.Committed(); i != 2 || n != 1 {
		t.Fatalf("after closing b: committed %d/%d, want 2/1 (install 1 is held)", i, n)
	}
	must(t, j.Advance(57*minute, emit)) // orphans the install at 26m
	if i, n := j.Committed(); i != 2 || n != 2 {
		t.Fatalf("after the held install expired: committed %d/%d, want 2/2", i, n)
	}
	must(t, j.Flush(emit))
	if i, n := j.Committed(); i != 3 || n != 2 {
		t.Fatalf("after flush: committed %d/%d, want 3/2", i, n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestJoinMatchesBruteForce compares with a direct definition on random
// in-order streams: an impression is positive iff some install carrying its
// id has ts in [ts, ts+window], or some unattributed install of its user and
// app in its window has it as the latest such impression.
func TestJoinMatchesBruteForce(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			w := 30 * minute
			var imps []Key
			var insts []Install
			for i := range 300 {
				ts := int64(rng.IntN(int(6 * 60 * minute)))
				k := Key{fmt.Sprintf("i%03d", i), ts, fmt.Sprintf("u%d", rng.IntN(20)), fmt.Sprintf("a%d", rng.IntN(5))}
				imps = append(imps, k)
				if rng.Float64() < 0.3 {
					d := int64(rng.ExpFloat64() * float64(15*minute))
					in := Install{TS: ts + d, ImpressionID: k.ImpressionID, UserID: k.UserID, AppID: k.AppID}
					if rng.Float64() < 0.3 {
						in.ImpressionID = ""
					}
					insts = append(insts, in)
					if rng.Float64() < 0.05 {
						insts = append(insts, in)
					}
				}
			}
			// Merge in event-time order (impressions first on ties) and
			// advance the watermark to each event's ts, as the stage does.
			type item struct {
				ts  int64
				imp *Key
				ins *Install
			}
			var items []item
			for i := range imps {
				items = append(items, item{ts: imps[i].TS, imp: &imps[i]})
			}
			for i := range insts {
				items = append(items, item{ts: insts[i].TS, ins: &insts[i]})
			}
			sort.SliceStable(items, func(a, b int) bool {
				if items[a].ts != items[b].ts {
					return items[a].ts < items[b].ts
				}
				return items[a].imp != nil && items[b].imp == nil
			})
			var evs []ev
			for _, it := range items {
				evs = append(evs, adv(it.ts))
				if it.imp != nil {
					evs = append(evs, ev{imp: it.imp})
				} else {
					evs = append(evs, ev{ins: it.ins})
				}
			}
			g, j := run(t, Config{Window: 30 * time.Minute}, evs, true)

			want := map[string]int32{}
			for _, k := range imps {
				want[k.ImpressionID] = 0
			}
			for _, in := range insts {
				if in.ImpressionID != "" {
					for _, k := range imps {
						if k.ImpressionID == in.ImpressionID && in.TS >= k.TS && in.TS <= k.TS+w {
							want[k.ImpressionID] = 1
						}
					}
					continue
				}
				var best *Key // latest impression of (user, app) seen before the install whose window holds it
				for i := range imps {
					k := &imps[i]
					if k.UserID == in.UserID && k.AppID == in.AppID && in.TS >= k.TS && in.TS <= k.TS+w {
						if best == nil || k.TS > best.TS || (k.TS == best.TS && k.ImpressionID > best.ImpressionID) {
							best = k
						}
					}
				}
				if best != nil {
					want[best.ImpressionID] = 1
				}
			}
			for id, l := range want {
				if g.labels[id] != l {
					t.Errorf("impression %s: label %d, brute force %d", id, g.labels[id], l)
				}
			}
			s := j.Stats()
			if got := s.Matched + s.Duplicates + s.Late + s.Orphans + s.OutOfWindow; got != s.Installs {
				t.Errorf("install counters sum to %d, want %d (%+v)", got, s.Installs, s)
			}
			if s.Emitted != int64(len(imps)) || s.Positives != int64(countPos(g.labels)) {
				t.Errorf("emitted %d positives %d, want %d and %d", s.Emitted, s.Positives, len(imps), countPos(g.labels))
			}
		})
	}
}

func countPos(m map[string]int32) int {
	n := 0
	for _, l := range m {
		n += int(l)
	}
	return n
}

// TestJoinInstallBeforeItsImpression: an install read before its
// impression (a topic out of ts order, one input read ahead of the other)
// is held until the watermark passes its ts + window, so the impression
// still gets it while it is not late itself; an install whose ts is before
// the impression's stays an orphan, as in event-time order.
func TestJoinInstallBeforeItsImpression(t *testing.T) {
	cfg := Config{Window: 30 * time.Minute}
	g, j := run(t, cfg, []ev{
		ins("a", 10*minute, "u", "x"), ins("", 12*minute, "u", "y"), ins("b", 4*minute, "u", "z"),
		adv(20 * minute), // past the installs' ts, not past ts + window
		imp("a", 5*minute, "u", "x"), imp("c", 6*minute, "u", "y"), imp("b", 5*minute, "u", "z"),
	}, true)
	want := map[string]int32{"a": 1, "b": 0, "c": 1}
	for id, l := range want {
		if g.labels[id] != l {
			t.Errorf("label of %s = %d, want %d (labels %v)", id, g.labels[id], l, g.labels)
		}
	}
	if s := j.Stats(); s.Matched != 2 || s.Orphans != 1 || s.Held != 0 {
		t.Errorf("stats %+v: want 2 matched, 1 orphan, none held", s)
	}
	// Past ts + window the install is an orphan and a late impression gets nothing.
	g, _ = run(t, cfg, []ev{ins("a", 10*minute, "u", "x"), adv(41 * minute), imp("a", 5*minute, "u", "x")}, true)
	if g.labels["a"] != 0 {
		t.Errorf("an impression read after the watermark passed its install's ts + window: label %d, want 0", g.labels["a"])
	}
}
