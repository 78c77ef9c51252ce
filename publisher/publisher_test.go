package publisher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func newPublisher(t *testing.T, s *Store, opts Options) *Publisher {
	t.Helper()
	p, err := New(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

func fastGate(f *fixture) *Gate {
	return &Gate{Validation: f.good.Spec.Validation, LatencyBatches: 10}
}

// TestPublisherRejectsAPoisonedCandidate, against file:// and the real S3
// server: a good first version becomes LATEST; a candidate trained on
// labels flipped at random is rejected: no version is written, LATEST does
// not move, and its report (naming the failed checks) is kept under
// rejected/. Then a good candidate passes against the baseline.
func TestPublisherRejectsAPoisonedCandidate(t *testing.T) {
	f := getFixture(t)
	for _, sc := range stores(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, sc.url)
			reg := prometheus.NewRegistry()
			p := newPublisher(t, s, Options{Gate: fastGate(f), Registerer: reg})

			r1, err := p.Publish(ctx, f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
			if err != nil || !r1.Published || !r1.Latest {
				t.Fatalf("first publish: %+v, %v", r1, err)
			}
			if r1.Manifest.Verdict == nil || !r1.Manifest.Verdict.Passed || r1.Report.Baseline != "" {
				t.Fatalf("first verdict %+v", r1.Manifest.Verdict)
			}

			r2, err := p.Publish(ctx, f.poisoned, &Manifest{Model: "m", Parent: r1.Version}, f.fresh, PublishOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r2.Published || r2.Report.Passed {
				t.Fatalf("the poisoned candidate was published:\n%s", reportText(r2.Report))
			}
			if r2.Report.Baseline != r1.Version {
				t.Fatalf("baseline %q, want %s", r2.Report.Baseline, r1.Version)
			}
			for _, want := range []string{"min_auc", "max_auc_drop"} {
				if !slices.Contains(r2.Report.Failed(), want) {
					t.Errorf("failed %v, want %s", r2.Report.Failed(), want)
				}
			}
			if v, _ := s.Latest(ctx, "m"); v != r1.Version {
				t.Fatalf("LATEST %s after a rejection, want %s", v, r1.Version)
			}
			if vs, _ := s.Versions(ctx, "m"); !slices.Equal(vs, []string{r1.Version}) {
				t.Fatalf("versions %v after a rejection", vs)
			}
			if _, err := s.Manifest(ctx, "m", r2.Version); !errors.Is(err, ErrNoVersion) {
				t.Fatalf("the rejected candidate has a manifest: %v", err)
			}
			rej, err := s.Rejected(ctx, "m")
			if err != nil || !slices.Equal(rej, []string{r2.Version}) {
				t.Fatalf("rejected %v (%v)", rej, err)
			}
			kept, err := s.RejectedReport(ctx, "m", r2.Version)
			if err != nil || !slices.Equal(kept.Failed(), r2.Report.Failed()) {
				t.Fatalf("kept report %+v (%v)", kept, err)
			}
			if got := counterValue(t, p.Collectors().Rejected); got != 1 {
				t.Errorf("rejected_total %v", got)
			}
			// Every timed batch of both dry runs is in the histogram.
			var hm dto.Metric
			if err := p.Collectors().DryRunBatch.Write(&hm); err != nil {
				t.Fatal(err)
			}
			if n := hm.GetHistogram().GetSampleCount(); n != uint64(r1.Report.DryRun.Batches+r2.Report.DryRun.Batches) {
				t.Errorf("dry_run_batch_seconds has %d samples, want the %d+%d timed batches", n, r1.Report.DryRun.Batches, r2.Report.DryRun.Batches)
			}

			r3, err := p.Publish(ctx, f.good2, &Manifest{Model: "m", Parent: r1.Version}, f.fresh, PublishOptions{})
			if err != nil || !r3.Published || !r3.Latest || r3.Report.Baseline != r1.Version {
				t.Fatalf("good candidate after a rejection: %+v %v\n%s", r3, err, reportText(r3.Report))
			}
			h, err := s.History(ctx, "m")
			if err != nil || len(h) != 2 || h[1].Previous != r1.Version || h[1].Version != r3.Version {
				t.Fatalf("history %+v (%v)", h, err)
			}
		})
	}
}

// TestForcePublishesAndRecordsWhy: --force publishes a rejected candidate,
// and the manifest, the report and the history say it was forced and why.
func TestForcePublishesAndRecordsWhy(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	s, _ := fileStore(t)
	p := newPublisher(t, s, Options{Gate: fastGate(f)})
	if _, err := p.Publish(ctx, f.poisoned, &Manifest{Model: "m"}, f.fresh, PublishOptions{Force: true}); err == nil {
		t.Fatal("force without a reason was accepted")
	}
	r, err := p.Publish(ctx, f.poisoned, &Manifest{Model: "m"}, f.fresh, PublishOptions{Force: true, ForceReason: "incident 42: known label outage"})
	if err != nil || !r.Published || !r.Latest {
		t.Fatalf("%+v %v", r, err)
	}
	m, err := s.Manifest(ctx, "m", r.Version)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Forced || m.ForceReason != "incident 42: known label outage" || m.Verdict == nil || m.Verdict.Passed || !m.Verdict.Forced || m.Verdict.Verdict() != "forced" {
		t.Fatalf("manifest forced=%v reason=%q verdict=%+v", m.Forced, m.ForceReason, m.Verdict)
	}
	h, _ := s.History(ctx, "m")
	if len(h) != 1 || !h[0].Forced || h[0].Reason != m.ForceReason {
		t.Fatalf("history %+v", h)
	}
}

// TestRetentionKeepsPinnedAndLatest: with publish.retain 3, the oldest
// versions go, except a pinned one and the one LATEST names after a
// rollback.
func TestRetentionKeepsPinnedAndLatest(t *testing.T) {
	ctx := context.Background()
	s, _ := fileStore(t)
	b, _ := testBundle(t)
	var vs []string
	for range 4 {
		m := &Manifest{Model: "m"}
		if err := s.PublishUngated(ctx, b, m); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, m.Version)
		time.Sleep(2 * time.Millisecond)
	}
	if err := s.Pin(ctx, "m", vs[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Pin(ctx, "m", "v20000101T000000.000Z-00000000"); err == nil {
		t.Fatal("pinned a version that does not exist")
	}
	if _, _, err := Rollback(ctx, s, "m", vs[1], "test"); err != nil {
		t.Fatal(err)
	}
	deleted, err := s.Retain(ctx, "m", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deleted, []string{vs[2]}) {
		t.Fatalf("deleted %v, want only %s (vs %v)", deleted, vs[2], vs)
	}
	left, _ := s.Versions(ctx, "m")
	if !slices.Equal(left, []string{vs[0], vs[1], vs[3]}) {
		t.Fatalf("left %v", left)
	}
	if err := s.Delete(ctx, "m", vs[1]); !errors.Is(err, ErrLatest) {
		t.Fatalf("deleting LATEST: %v", err)
	}
	if err := s.Unpin(ctx, "m", vs[0]); err != nil {
		t.Fatal(err)
	}
	if deleted, _ := s.Retain(ctx, "m", 1); !slices.Equal(deleted, []string{vs[0]}) {
		t.Fatalf("after unpin deleted %v", deleted)
	}
}

// TestRollback: rollback goes to the version before LATEST by default,
// refuses a corrupt target, and is recorded in the history.
func TestRollback(t *testing.T) {
	ctx := context.Background()
	s, _ := fileStore(t)
	b, _ := testBundle(t)
	var vs []string
	for range 3 {
		m := &Manifest{Model: "m"}
		if err := s.PublishUngated(ctx, b, m); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, m.Version)
		time.Sleep(2 * time.Millisecond)
	}
	from, to, err := Rollback(ctx, s, "m", "", "bad online metrics")
	if err != nil || from != vs[2] || to != vs[1] {
		t.Fatalf("rollback %s -> %s (%v), want %s -> %s", from, to, err, vs[2], vs[1])
	}
	flipBit(t, s, path.Join("m", "versions", vs[0], WeightsFile))
	if _, _, err := Rollback(ctx, s, "m", vs[0], ""); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("rollback to a corrupt version: %v", err)
	}
	if v, _ := s.Latest(ctx, "m"); v != vs[1] {
		t.Fatalf("LATEST %s", v)
	}
	h, err := s.History(ctx, "m")
	if err != nil || len(h) != 4 || h[3].Action != "rollback" || h[3].Previous != vs[2] || h[3].Version != vs[1] || h[3].Reason != "bad online metrics" {
		t.Fatalf("history %+v (%v)", h, err)
	}
}

// TestLoadNewestIntactFallsBack: when LATEST's weights have a flipped bit,
// Load refuses it and LoadNewestIntact returns the version before, saying
// why it skipped LATEST.
func TestLoadNewestIntactFallsBack(t *testing.T) {
	for _, sc := range stores(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, sc.url)
			b, _ := testBundle(t)
			m1, m2 := &Manifest{Model: "m"}, &Manifest{Model: "m"}
			if err := s.PublishUngated(ctx, b, m1); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
			if err := s.PublishUngated(ctx, b, m2); err != nil {
				t.Fatal(err)
			}
			flipBit(t, s, path.Join("m", "versions", m2.Version, WeightsFile))
			if _, _, err := Load(ctx, s, "m", ""); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), WeightsFile) {
				t.Fatalf("Load of a flipped bit: %v", err)
			}
			_, man, skipped, err := LoadNewestIntact(ctx, s, "m")
			if err != nil || man.Version != m1.Version || len(skipped) != 1 || !errors.Is(skipped[0], ErrCorrupt) {
				t.Fatalf("LoadNewestIntact: %v, %v, %v", man, skipped, err)
			}
			flipBit(t, s, path.Join("m", "versions", m1.Version, SpecFile))
			if _, _, _, err := LoadNewestIntact(ctx, s, "m"); !errors.Is(err, ErrNoVersion) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("nothing intact: %v", err)
			}
		})
	}
}

// TestConcurrentPublishers: two publishers racing on one model, against
// file:// and S3: every version is distinct and complete, none is lost,
// LATEST names the newest, and the history has every move.
func TestConcurrentPublishers(t *testing.T) {
	for _, sc := range stores(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			b, _ := testBundle(t)
			const each = 4
			var mu sync.Mutex
			var got []string
			var wg sync.WaitGroup
			errc := make(chan error, 2*each)
			for w := range 2 {
				s := openStore(t, sc.url) // one store (client) per publisher
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						m := &Manifest{Model: "race", Data: DataInfo{Inputs: []string{fmt.Sprintf("w%d-%d", w, i)}}}
						if err := s.PublishUngated(ctx, b, m); err != nil {
							errc <- err
							return
						}
						mu.Lock()
						got = append(got, m.Version)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Fatal(err)
			}
			s := openStore(t, sc.url)
			vs, err := s.Versions(ctx, "race")
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(vs, got) || len(vs) != 2*each {
				t.Fatalf("versions %v, published %v", vs, got)
			}
			for _, v := range vs {
				if _, _, err := Load(ctx, s, "race", v); err != nil {
					t.Fatal(err)
				}
			}
			h, err := s.History(ctx, "race")
			if err != nil || len(h) != 2*each {
				t.Fatalf("history has %d entries (%v), want %d: %+v", len(h), err, 2*each, h)
			}
			latest, _ := s.Latest(ctx, "race")
			if latest != h[len(h)-1].Version {
				t.Fatalf("LATEST %s, last history entry %s", latest, h[len(h)-1].Version)
			}
		})
	}
}

// TestSameVersionNameNeverOverwrites: a complete version is never
// overwritten, and a second writer of a version whose upload is still in
// progress (files, no manifest yet) fails on its first conditional write
// without replacing the first writer's bytes.
func TestSameVersionNameNeverOverwrites(t *testing.T) {
	for _, sc := range stores(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, sc.url)
			b, _ := testBundle(t)
			files, err := b.Files()
			if err != nil {
				t.Fatal(err)
			}
			m := &Manifest{Model: "m", Version: NewVersionName(time.Now())}
			m.SetFiles(files)
			if err := s.Put(ctx, m, files); err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, m, files); err == nil || !strings.Contains(err.Error(), "never overwritten") {
				t.Fatalf("second Put of a complete version: %v", err)
			}

			v := NewVersionName(time.Now())
			first := []byte("the first writer's bytes")
			key := versionPrefix("m", v) + StateFile
			if err := s.bucket.WriteAll(ctx, key, first, nil); err != nil {
				t.Fatal(err)
			}
			m2 := &Manifest{Model: "m", Version: v}
			m2.SetFiles(files)
			if err := s.Put(ctx, m2, files); err == nil || !strings.Contains(err.Error(), "never overwritten") {
				t.Fatalf("Put over an upload in progress: %v", err)
			}
			if got, err := s.bucket.ReadAll(ctx, key); err != nil || string(got) != string(first) {
				t.Fatalf("the first writer's file is now %q (%v)", got, err)
			}
			if _, err := s.Manifest(ctx, "m", v); !errors.Is(err, ErrNoVersion) {
				t.Fatalf("manifest: %v", err)
			}
		})
	}
}

// TestCleanRemovesStrays: a version folder without a manifest older than
// the grace period is removed; a younger one (an upload in progress) and
// complete versions stay.
func TestCleanRemovesStrays(t *testing.T) {
	ctx := context.Background()
	s, _ := fileStore(t)
	b, _ := testBundle(t)
	m := &Manifest{Model: "m"}
	if err := s.PublishUngated(ctx, b, m); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	old := NewVersionName(now.Add(-2 * time.Hour))
	young := NewVersionName(now.Add(-time.Minute))
	for _, v := range []string{old, young} {
		if err := s.bucket.WriteAll(ctx, versionPrefix("m", v)+WeightsFile, []byte("partial"), nil); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := s.Clean(ctx, "m", time.Hour, now)
	if err != nil || !slices.Equal(removed, []string{old}) {
		t.Fatalf("removed %v (%v), want [%s]", removed, err, old)
	}
	if ok, _ := s.bucket.Exists(ctx, versionPrefix("m", young)+WeightsFile); !ok {
		t.Fatal("an upload in progress was removed")
	}
	if _, _, err := Load(ctx, s, "m", m.Version); err != nil {
		t.Fatal(err)
	}
}

// counterValue reads a counter or gauge.
func counterValue(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// TestCleanRemovesStaleTempFiles: a writer killed between creating its
// temporary file and linking or renaming it leaves KEY.HEX.tmp next to the
// key on file:// (createIfAbsent's, or fileblob's with no_tmp_dir); Clean
// removes those last written before the grace, and nothing else.
func TestCleanRemovesStaleTempFiles(t *testing.T) {
	ctx := context.Background()
	s, dir := fileStore(t)
	b, _ := testBundle(t)
	m := &Manifest{Model: "m"}
	if err := s.PublishUngated(ctx, b, m); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	vdir := filepath.Join(dir, "m", "versions", m.Version)
	stale := []string{
		filepath.Join(vdir, WeightsFile+".0123456789abcdef.tmp"),
		filepath.Join(dir, "m", "LATEST.17e0a1b2c3d4e5f6.tmp"),
	}
	kept := []string{
		filepath.Join(vdir, ManifestFile+".fedcba9876543210.tmp"), // young: a write in progress
		filepath.Join(dir, "m", "notes.tmp"),                      // not a temporary file's name
		filepath.Join(dir, "other", "x.0123456789abcdef.tmp"),     // another model's
	}
	for i, p := range append(append([]string{}, stale...), kept...) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		if i != len(stale) { // all old but the write in progress
			old := now.Add(-2 * time.Hour)
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.Clean(ctx, "m", time.Hour, now); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: still there (err %v)", p, err)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v (it should stay)", p, err)
		}
	}
	if _, _, err := Load(ctx, s, "m", m.Version); err != nil {
		t.Fatal(err)
	}
}
