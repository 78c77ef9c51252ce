package publisher

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/drift"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/simulate"
)

// simulatedStream returns the playstore spec with validation.drift.action
// fail and the examples of a small simulated world (two days), oldest
// first.
func simulatedStream(t *testing.T) (*spec.Spec, []schemas.Example) {
	t.Helper()
	sp, err := spec.Load("../configs/playstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sp.Validation.Drift.Action = spec.DriftFail
	exs, err := simulate.WorldExamples(context.Background(), simulate.Config{Seed: 5, Users: 400, Apps: 80, Days: 2, ImpressionsPerDay: 3000}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(exs, func(a, b schemas.Example) int { return int(a.TS - b.TS) })
	return sp, exs
}

// changed returns copies of exs (their feature maps copied too) with
// change applied to each, given its index.
func changed(exs []schemas.Example, change func(i int, f map[string]schemas.Value)) []schemas.Example {
	out := slices.Clone(exs)
	for i := range out {
		out[i].Features = maps.Clone(out[i].Features)
		if change != nil {
			change(i, out[i].Features)
		}
	}
	return out
}

// driftedFeatures returns the features the report's drift distances mark
// as drifted, sorted.
func driftedFeatures(r *Report) []string {
	var out []string
	for _, d := range r.Drift {
		if d.Drifted && !slices.Contains(out, d.Feature) {
			out = append(out, d.Feature)
		}
	}
	slices.Sort(out)
	return out
}

// TestDriftGateSimulated: a simulated stream's first day is what LATEST
// trained on; the second day is the fresh set, as it is, or with one
// column emptied half way through the stream, a new country taking half
// the traffic, or a numeric column shifted. The drift check names exactly
// the changed feature, and no other feature of the playstore spec goes
// over the default thresholds (a day of the world's own drift, new apps
// included, stays under them).
func TestDriftGateSimulated(t *testing.T) {
	sp, exs := simulatedStream(t)
	half := len(exs) / 2
	trained, later := exs[:half], exs[half:]
	prof, err := drift.Of(sp, trained)
	if err != nil {
		t.Fatal(err)
	}
	base := &Bundle{Spec: sp, Profile: prof}
	for _, tc := range []struct {
		name   string
		change func(i int, f map[string]schemas.Value)
		want   []string
		stats  []string // statistics over their threshold
	}{
		{"unchanged", nil, nil, nil},
		{"device goes empty", func(_ int, f map[string]schemas.Value) { f["device"] = schemas.String("") }, []string{"device"}, []string{drift.StatMissing, drift.StatLInf}},
		{"installed_apps goes absent", func(_ int, f map[string]schemas.Value) { delete(f, "installed_apps") }, []string{"installed_apps"}, []string{drift.StatMissing, drift.StatLInf}},
		{"a new country takes half", func(i int, f map[string]schemas.Value) {
			if i%2 == 0 {
				f["country"] = schemas.String("atlantis")
			}
		}, []string{"country"}, []string{drift.StatLInf}},
		{"app_size_mb doubles", func(_ int, f map[string]schemas.Value) {
			f["app_size_mb"] = schemas.Number(2 * f["app_size_mb"].Num)
		}, []string{"app_size_mb"}, []string{drift.StatJS}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := changed(later, tc.change)
			g := &Gate{Validation: sp.Validation}
			r := &Report{}
			if err := g.driftCheck(r, sp, base, fresh); err != nil {
				t.Fatal(err)
			}
			c := checkOf(t, r, "drift")
			t.Logf("%s", c.Line)
			if got := driftedFeatures(r); !slices.Equal(got, tc.want) {
				t.Fatalf("drifted %v, want %v:\n%+v", got, tc.want, r.Drift)
			}
			var stats []string
			for _, d := range r.Drift {
				if d.Drifted {
					stats = append(stats, d.Statistic)
					if !strings.Contains(c.Detail, d.Feature+" "+d.Statistic) {
						t.Errorf("detail %q does not name %s %s", c.Detail, d.Feature, d.Statistic)
					}
				}
			}
			slices.Sort(stats)
			want := slices.Sorted(slices.Values(tc.stats))
			if !slices.Equal(stats, want) {
				t.Errorf("statistics over threshold %v, want %v", stats, want)
			}
			if wantSt := passIf(len(tc.want) == 0); c.Status != wantSt || *c.Value != float64(len(tc.want)) {
				t.Errorf("check %s with value %v, want %s with %d", c.Status, *c.Value, wantSt, len(tc.want))
			}
		})
	}
}

// TestDriftGateSkips: without a baseline, against a baseline published
// before statistics were kept, with too few fresh examples or with the
// check off, the check is skipped and says why; with action warn a drift
// warns without failing.
func TestDriftGateSkips(t *testing.T) {
	sp, exs := simulatedStream(t)
	half := len(exs) / 2
	prof, err := drift.Of(sp, exs[:half])
	if err != nil {
		t.Fatal(err)
	}
	emptied := changed(exs[half:], func(_ int, f map[string]schemas.Value) { delete(f, "country") })
	off, warn := sp.Validation, sp.Validation
	off.Drift.Action, warn.Drift.Action = spec.DriftOff, spec.DriftWarn
	for _, tc := range []struct {
		name   string
		v      spec.Validation
		base   *Bundle
		fresh  []schemas.Example
		status Status
		detail string
	}{
		{"no baseline", sp.Validation, nil, emptied, Skip, "no baseline"},
		{"baseline without statistics", sp.Validation, &Bundle{Spec: sp}, emptied, Skip, "recorded no feature statistics"},
		{"few fresh examples", sp.Validation, &Bundle{Spec: sp, Profile: prof}, emptied[:99], Skip, "99 fresh examples, fewer than validation.drift.min_examples 100"},
		{"off", off, &Bundle{Spec: sp, Profile: prof}, emptied, Skip, "off"},
		{"warn", warn, &Bundle{Spec: sp, Profile: prof}, emptied, Warn, "country missing 1.000 > 0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{}
			if err := (&Gate{Validation: tc.v}).driftCheck(r, sp, tc.base, tc.fresh); err != nil {
				t.Fatal(err)
			}
			if c := checkOf(t, r, "drift"); c.Status != tc.status || !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("%s: %s, want %s with %q", c.Name, c.Line, tc.status, tc.detail)
			}
			if len(r.Failed()) != 0 {
				t.Errorf("failed %v", r.Failed())
			}
			if warned := strings.Contains(r.Summary(), "(warned: drift)"); warned != (tc.status == Warn) {
				t.Errorf("summary %q", r.Summary())
			}
		})
	}
}

// TestDriftPublish: a version records the statistics of its training data
// in stats.json, listed in the manifest with its checksum, and they read
// back equal through Load and Store.Profile. A candidate whose fresh
// examples drifted, with action fail, is rejected like one failing the
// AUC checks: no version, LATEST unchanged, the report kept and naming the
// feature. Against a version without statistics the check is skipped and
// the candidate published.
func TestDriftPublish(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	s := openStore(t, "file://"+t.TempDir())
	p := newPublisher(t, s, Options{Gate: fastGate(f)})
	prof, err := drift.Of(f.good.Spec, world(1, 6000, 0))
	if err != nil {
		t.Fatal(err)
	}
	withStats := *f.good
	withStats.Profile = prof

	// Without statistics: the next candidate's check is skipped.
	r0, err := p.Publish(ctx, f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
	if err != nil || !r0.Published {
		t.Fatalf("first publish: %+v, %v", r0, err)
	}
	if _, ok := r0.Manifest.Files[StatsFile]; ok {
		t.Errorf("a bundle without a profile wrote %s", StatsFile)
	}
	failGate := fastGate(f)
	failGate.Validation.Drift = spec.Drift{Action: spec.DriftFail, MaxLInf: 0.3, MaxJS: 0.1, MaxMissing: 0.1, MinExamples: 100}
	pf := newPublisher(t, s, Options{Gate: failGate})
	noCountry := changed(f.fresh, func(_ int, fs map[string]schemas.Value) { delete(fs, "country") })
	r1, err := pf.Publish(ctx, &withStats, &Manifest{Model: "m", Parent: r0.Version}, noCountry, PublishOptions{})
	if err != nil || !r1.Published {
		t.Fatalf("publish against a version without statistics: %+v, %v\n%s", r1, err, reportText(r1.Report))
	}
	if c := checkOf(t, r1.Report, "drift"); c.Status != Skip || !strings.Contains(c.Detail, "recorded no feature statistics") {
		t.Errorf("drift against a version without statistics: %s", c.Line)
	}

	// The statistics round-trip through the version.
	fi, ok := r1.Manifest.Files[StatsFile]
	if !ok || fi.SHA256 == "" {
		t.Fatalf("manifest files %v lack %s", r1.Manifest.Files, StatsFile)
	}
	b, m, err := Load(ctx, s, "m", r1.Version)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.Profile, prof) {
		t.Errorf("loaded profile differs:\ngot  %+v\nwant %+v", b.Profile, prof)
	}
	if got, err := s.Profile(ctx, m); err != nil || !reflect.DeepEqual(got, prof) {
		t.Errorf("Store.Profile: %v", err)
	}
	if got, err := s.Profile(ctx, r0.Manifest); err != nil || got != nil {
		t.Errorf("Store.Profile of a version without statistics: %v, %v", got, err)
	}

	// Drifted fresh examples against LATEST's statistics: rejected.
	r2, err := pf.Publish(ctx, &withStats, &Manifest{Model: "m", Parent: r1.Version}, noCountry, PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Published || !slices.Contains(r2.Report.Failed(), "drift") {
		t.Fatalf("a drifted candidate: published %v, failed %v\n%s", r2.Published, r2.Report.Failed(), reportText(r2.Report))
	}
	if got := driftedFeatures(r2.Report); !slices.Equal(got, []string{"country"}) {
		t.Errorf("drifted %v, want [country]", got)
	}
	if v, _ := s.Latest(ctx, "m"); v != r1.Version {
		t.Errorf("LATEST %s after a drift rejection, want %s", v, r1.Version)
	}
	kept, err := s.RejectedReport(ctx, "m", r2.Version)
	if err != nil || !slices.Equal(kept.Failed(), r2.Report.Failed()) || !slices.Equal(driftedFeatures(kept), []string{"country"}) {
		t.Fatalf("kept report %+v (%v)", kept, err)
	}
	if !strings.Contains(r2.Report.Summary(), "drift") || !strings.Contains(reportText(r2.Report), "country missing 1.000 > 0.1") {
		t.Errorf("the report does not say why:\n%s", reportText(r2.Report))
	}
}

// TestDriftGateSettings: a Gate built in Go with an unknown drift action
// is refused, naming it.
func TestDriftGateSettings(t *testing.T) {
	v := gateSpec(t).Validation
	v.Drift.Action = "block"
	if _, err := (&Gate{Validation: v}).Evaluate(context.Background(), getFixture(t).good, nil, nil); err == nil || !strings.Contains(err.Error(), `drift action "block"`) {
		t.Errorf("Evaluate with drift action block: %v", err)
	}
}
