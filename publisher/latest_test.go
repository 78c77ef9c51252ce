package publisher

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLatestNamingAMissingVersionIsRepaired, against file:// and the real
// S3 server: LATEST names a far-future version that does not exist (the
// only-forward rule used to defer to it, so predict and eval kept
// failing). The next publish moves LATEST to its version, says it
// repaired it (Result, history), and Load of LATEST works again. LATEST
// holding no version name is repaired by a rollback or an ungated publish.
func TestLatestNamingAMissingVersionIsRepaired(t *testing.T) {
	f := getFixture(t)
	for _, sc := range stores(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, sc.url)
			p := newPublisher(t, s, Options{Gate: fastGate(f)})
			r1, err := p.Publish(ctx, f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
			if err != nil || !r1.Latest {
				t.Fatalf("first publish: %+v %v", r1, err)
			}
			for i, bad := range []string{"v20991231T000000.000Z-deadbeef", "v20991231T000000.000Z-feedf00d"} {
				if err := s.bucket.WriteAll(ctx, path.Join("m", LatestFile), []byte(bad+"\n"), nil); err != nil {
					t.Fatal(err)
				}
				if _, _, err := Load(ctx, s, "m", ""); err == nil {
					t.Fatalf("Load of LATEST %q worked", bad)
				}
				b := []*Bundle{f.good2, f.good}[i]
				r, err := p.Publish(ctx, b, &Manifest{Model: "m", Parent: r1.Version}, f.fresh, PublishOptions{})
				if err != nil || !r.Published {
					t.Fatalf("publish over LATEST %q: %+v %v", bad, r, err)
				}
				if !r.Latest || !strings.Contains(r.LatestNote, "repaired") {
					t.Fatalf("publish over LATEST %q: LATEST moved %v, note %q; want moved and repaired", bad, r.Latest, r.LatestNote)
				}
				if got, err := s.Latest(ctx, "m"); err != nil || got != r.Version {
					t.Fatalf("LATEST %q (%v), want %s", got, err, r.Version)
				}
				if _, m, err := Load(ctx, s, "m", ""); err != nil || m.Version != r.Version {
					t.Fatalf("Load of LATEST after the repair: %v", err)
				}
				h, err := s.History(ctx, "m")
				if err != nil || len(h) == 0 {
					t.Fatalf("history %v (%v)", h, err)
				}
				last := h[len(h)-1]
				if last.Version != r.Version || !strings.Contains(last.Note, "repaired") {
					t.Fatalf("last history entry %+v: want the move to %s, noted as a repair", last, r.Version)
				}
				if last.Previous != bad || r.Previous != bad {
					t.Fatalf("previous %q (history %q), want %s", r.Previous, last.Previous, bad)
				}
			}

			// LATEST holding no version name at all: the gated publish
			// cannot pick its baseline, but a rollback to a named
			// version, or an ungated publish, repairs it.
			for _, repair := range []string{"rollback", "publish"} {
				if err := s.bucket.WriteAll(ctx, path.Join("m", LatestFile), []byte("not/a version\n"), nil); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Latest(ctx, "m"); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("LATEST holding garbage: %v, want ErrCorrupt", err)
				}
				want := r1.Version
				if repair == "rollback" {
					if _, _, err := Rollback(ctx, s, "m", r1.Version, "LATEST was overwritten"); err != nil {
						t.Fatal(err)
					}
				} else {
					m := &Manifest{Model: "m"}
					if err := s.PublishUngated(ctx, f.good, m); err != nil {
						t.Fatal(err)
					}
					want = m.Version
				}
				if _, m, err := Load(ctx, s, "m", ""); err != nil || m.Version != want {
					t.Fatalf("Load of LATEST after the %s: %v, want %s", repair, err, want)
				}
				if h, _ := s.History(ctx, "m"); !strings.Contains(h[len(h)-1].Note, "repaired") {
					t.Fatalf("the %s is not noted as a repair: %+v", repair, h[len(h)-1])
				}
			}
		})
	}
}

// TestClockAheadDoesNotBlockLatest, against file:// and the real S3
// server: a publisher whose clock runs 73 years ahead publishes a version
// named in 2099. A publisher with a good clock publishing after it must
// still move LATEST (the only-forward rule ranks the 2099 name no later
// than clockAhead after the store wrote its manifest), saying why.
func TestClockAheadDoesNotBlockLatest(t *testing.T) {
	f := getFixture(t)
	defer func(d time.Duration) { clockAhead = d }(clockAhead)
	clockAhead = time.Second // instead of a minute, to keep the test short
	for _, sc := range stores(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, sc.url)
			ahead := newPublisher(t, s, Options{Gate: fastGate(f), Now: func() time.Time { return time.Now().AddDate(73, 0, 0) }})
			rx, err := ahead.Publish(ctx, f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
			if err != nil || !rx.Latest || !strings.HasPrefix(rx.Version, "v209") {
				t.Fatalf("publish with a clock ahead: %+v %v", rx, err)
			}
			time.Sleep(1500 * time.Millisecond) // past clockAhead (and S3's whole seconds)
			p := newPublisher(t, s, Options{Gate: fastGate(f)})
			r, err := p.Publish(ctx, f.good2, &Manifest{Model: "m", Parent: rx.Version}, f.fresh, PublishOptions{})
			if err != nil || !r.Published {
				t.Fatalf("publish after it: %+v %v", r, err)
			}
			if !r.Latest || r.Previous != rx.Version || !strings.Contains(r.LatestNote, "ahead") {
				t.Fatalf("LATEST moved %v from %s, note %q: want a move from %s noted as a clock ahead", r.Latest, r.Previous, r.LatestNote, rx.Version)
			}
			if got, _ := s.Latest(ctx, "m"); got != r.Version {
				t.Fatalf("LATEST %s, want %s", got, r.Version)
			}
			// Retention ranks the 2099 name by its store time too: it is
			// the older of the two, not a version to keep until 2099.
			deleted, err := s.Retain(ctx, "m", 1)
			if err != nil || !slices.Equal(deleted, []string{rx.Version}) {
				t.Fatalf("Retain(1) deleted %v (%v), want the version named ahead, %s", deleted, err, rx.Version)
			}
		})
	}
}

// TestOnlyForwardKeepsANewerVersion: a candidate cut before the version
// LATEST names (its publisher was slower) is published but leaves LATEST
// where it is, and says so; within clockAhead a version named ahead of the
// store still counts as newer.
func TestOnlyForwardKeepsANewerVersion(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	s, _ := fileStore(t)
	p := newPublisher(t, s, Options{Gate: fastGate(f)})
	r1, err := p.Publish(ctx, f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
	if err != nil || !r1.Latest {
		t.Fatalf("first publish: %+v %v", r1, err)
	}
	slow := newPublisher(t, s, Options{Gate: fastGate(f), Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	r2, err := slow.Publish(ctx, f.good2, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
	if err != nil || !r2.Published {
		t.Fatalf("publish of an older candidate: %+v %v", r2, err)
	}
	if r2.Latest || r2.Previous != r1.Version || !strings.Contains(r2.LatestNote, "stays on "+r1.Version) {
		t.Fatalf("older candidate: LATEST moved %v (previous %s, note %q), want it to stay on %s", r2.Latest, r2.Previous, r2.LatestNote, r1.Version)
	}
	if _, err := s.Manifest(ctx, "m", r2.Version); err != nil {
		t.Fatalf("the older candidate's version: %v", err)
	}

	ahead := newPublisher(t, s, Options{Gate: fastGate(f), Now: func() time.Time { return time.Now().Add(clockAhead / 2) }})
	r3, err := ahead.Publish(ctx, f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
	if err != nil || !r3.Latest {
		t.Fatalf("publish slightly ahead: %+v %v", r3, err)
	}
	r4, err := p.Publish(ctx, f.good2, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
	if err != nil || !r4.Published || r4.Latest || !strings.Contains(r4.LatestNote, "stays on "+r3.Version) {
		t.Fatalf("publish right after a version named within clockAhead: %+v %v; want LATEST to stay on %s", r4, err, r3.Version)
	}
	if got, err := s.Latest(ctx, "m"); err != nil || got != r3.Version {
		t.Fatalf("LATEST %s (%v), want %s", got, err, r3.Version)
	}
}

// TestInterruptedMoveIsFinished: the history line of a move is written
// before LATEST, so a publisher killed between the two leaves a line whose
// move LATEST lacks (simulated by putting LATEST back). The next publish
// finishes that move first: LATEST never moves without its line, and the
// history stays one chain (each line's previous is the line before it).
func TestInterruptedMoveIsFinished(t *testing.T) {
	f := getFixture(t)
	for _, sc := range stores(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, sc.url)
			p := newPublisher(t, s, Options{Gate: fastGate(f)})
			var versions []string
			for i, b := range []*Bundle{f.good, f.good2, f.good} {
				r, err := p.Publish(ctx, b, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
				if err != nil || !r.Latest {
					t.Fatalf("publish %d: %+v %v", i+1, r, err)
				}
				versions = append(versions, r.Version)
				if i == 1 { // killed after the history line of v2, before LATEST
					if err := s.bucket.WriteAll(ctx, path.Join("m", LatestFile), []byte(versions[0]+"\n"), nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got, err := s.Latest(ctx, "m"); err != nil || got != versions[2] {
				t.Fatalf("LATEST %q (%v), want %s", got, err, versions[2])
			}
			h, err := s.History(ctx, "m")
			if err != nil || len(h) != 3 {
				t.Fatalf("history %+v (%v), want 3 lines", h, err)
			}
			for i, e := range h {
				if e.Version != versions[i] {
					t.Errorf("history line %d moves to %s, want %s", i+1, e.Version, versions[i])
				}
				if i > 0 && e.Previous != h[i-1].Version {
					t.Errorf("history line %d: previous %s, want %s (the line before): the interrupted move was not finished", i+1, e.Previous, h[i-1].Version)
				}
			}
		})
	}
}
