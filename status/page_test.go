package status

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/continuous"
	"github.com/wdstream/wdstream/drift"
	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/serve"
	"github.com/wdstream/wdstream/trainer"
)

// fakeStore is a Store with real manifests and reports.
type fakeStore struct {
	latest    string
	manifests map[string]*publisher.Manifest
	rejected  map[string]*publisher.Report
}

// List lists the fake's manifests and reports as publisher.Store.List
// does (sorted by name, the last limit).
func (s *fakeStore) List(ctx context.Context, model string, limit int) ([]publisher.Entry, error, error) {
	var out []publisher.Entry
	for _, v := range sortedKeys(s.manifests) {
		m := s.manifests[v]
		out = append(out, publisher.Entry{Version: v, Manifest: m, Report: m.Verdict, Latest: v == s.latest})
	}
	for _, v := range sortedKeys(s.rejected) {
		out = append(out, publisher.Entry{Version: v, Rejected: true, Report: s.rejected[v]})
	}
	slices.SortStableFunc(out, func(a, b publisher.Entry) int { return strings.Compare(a.Version, b.Version) })
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil, nil
}

func sortedKeys[T any](m map[string]T) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// testPage returns a status page fed with fixed figures of the real
// types: four published versions, one rejected candidate, a join and a
// train stage, and two minutes of samples.
func testPage(t *testing.T) *Page {
	t0 := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	fs := &fakeStore{manifests: map[string]*publisher.Manifest{}, rejected: map[string]*publisher.Report{}}
	aucs := []float64{0.801, 0.842, 0.838, 0.861, 0.869}
	var prev string
	for i, auc := range aucs {
		at := t0.Add(time.Duration(i*30) * time.Second)
		v := publisher.NewVersionName(at)
		rep := &publisher.Report{
			Model: "demo", Version: v, Time: at, Passed: i != 2, Baseline: prev, Examples: 10000,
			Candidate: &trainer.Metrics{Count: 10000, Positives: 400, AUC: auc, LogLoss: 0.2 - float64(i)*0.01, Calibration: 0.97},
		}
		if prev != "" {
			rep.BaselineMetrics = &trainer.Metrics{AUC: aucs[i-1]}
		}
		if i == len(aucs)-1 {
			// LATEST's drift check: seven distances, one drifted.
			for j, f := range []string{"app_id", "device", "country", "price", "language", "age", "position"} {
				rep.Drift = append(rep.Drift, drift.Distance{Feature: f, Statistic: drift.StatLInf, Value: 0.01 * float64(j), Threshold: 0.3, Action: spec.DriftWarn})
			}
			rep.Drift[2].Value, rep.Drift[2].Drifted = 0.456, true
		}
		if i == 2 {
			rep.Checks = []publisher.Check{{Name: "max_auc_drop", Status: publisher.Fail}}
			fs.rejected[v] = rep
			continue
		}
		fs.manifests[v] = &publisher.Manifest{Model: "demo", Version: v, Created: at, Parent: prev, Verdict: rep,
			Data:         publisher.DataInfo{Examples: int64(100000 * (i + 1))},
			Vocabularies: []publisher.VocabInfo{{Feature: "app_id", IDs: 5708 + i, Admitted: 5200, Free: 508, TTL: "7d", Evicted: int64(40 * i)}, {Feature: "country", IDs: 13, Admitted: 12}}}
		prev, fs.latest = v, v
	}
	now := t0.Add(3 * time.Minute)
	train := continuous.Status{
		Ready: true, Examples: 7900 * 60, Started: t0.Add(-30 * time.Second), Checkpoint: 4, LastTS: now.UnixMilli(),
		Progressive: trainer.Metrics{Count: 20000, AUC: 0.858, LogLoss: 0.115, Calibration: 1.02}, LastPublished: fs.latest,
	}
	join := ingest.JoinStats{Impressions: 8000 * 60, Installs: 300 * 60, Examples: 7950 * 60, Positives: 16000, Pending: 2100, Assigned: 4,
		StateBytes: 31_400_000, Spilled: 900, SpillReads: 400, SpillLive: 500, SpillDiskBytes: 2_350_000, Spilling: 1, Forced: 3}
	served := func(i int) serve.Stats {
		return serve.Stats{Version: fs.latest, Requests: int64(5 * i), Candidates: int64(100 * i), Reloads: 4, Refused: 1,
			P50: time.Duration(500+i) * time.Microsecond, P99: time.Duration(12000+40*i) * time.Microsecond, Recent: min(5*i, 1024)}
	}
	p := New(Sources{
		Model: "demo", Where: "file:///tmp/demo/store", Store: fs,
		Serve: func() serve.Stats { return served(60) },
		Join:  func() ingest.JoinStats { return join }, Train: func() continuous.Status { return train },
		Archive: func() ingest.ArchiveStats { return ingest.ArchiveStats{Examples: 7800 * 60, Files: 12, Bytes: 21e6} },
		Now:     func() time.Time { return now },
	})
	for i := 0; i <= 60; i++ {
		x := float64(i) / 60
		p.add(sample{
			At:          t0.Add(time.Duration(i*3) * time.Second),
			Join:        ingest.JoinStats{Impressions: int64(8000 * i), Installs: int64(300 * i)},
			Archive:     ingest.ArchiveStats{Examples: int64(7800 * i)},
			Trained:     int64(7900 * i),
			ProgAUC:     0.70 + 0.16*x*(2-x),
			ProgLogLoss: 0.25 - 0.13*x*(2-x),
			ProgCount:   20000,
			Lag:         map[string]int64{"join": int64(2000 + i%7*100), "train": 5000},
			Served:      served(i),
		})
	}
	return p
}

func TestStatusPage(t *testing.T) {
	srv := httptest.NewServer(testPage(t))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	checkStatusHTML(t, string(body))
}

// checkStatusHTML checks the page's parts: the stage table, every chart,
// and the version table with published and rejected versions.
func checkStatusHTML(t *testing.T, page string) {
	t.Helper()
	for _, want := range []string{
		`<table id="stages">`, `<td>join</td>`, `<td>archive</td>`, `<td>train</td>`,
		`id="chart-version-auc"`, `id="chart-version-logloss"`, `id="chart-progressive-auc"`,
		`id="chart-progressive-logloss"`, `id="chart-throughput"`, `<polyline`, `<circle`,
		`<td>serve</td>`, `300 requests`, `latency p50 0.6 ms, p99 14.4 ms (last 300 requests)`, `1 versions refused`, `id="chart-serve-latency"`,
		`<table id="versions">`, `(LATEST)`, `class="rejected"`, `max_auc_drop`, `0.8690`,
		`4 published, 1 rejected`, `id="prog-auc">0.8580`,
		`2100 pending (state 31.4 MB)`, `spill: 500 messages on disk (2.4 MB), 900 written, 400 read back, over budget now`,
		`3 closed early at max_pending`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(page, `<tr class="published`); n != 4 {
		t.Errorf("%d published rows, want 4", n)
	}
	// The drift table: LATEST's five largest distances, largest first.
	rows := strings.Split(page[strings.Index(page, `<table id="drift">`):], `<tr class="drift`)[1:]
	if len(rows) != 5 || !strings.HasPrefix(rows[0], ` drifted"><td>country</td><td>linf</td><td class="n">0.456</td><td class="n">0.300</td><td>drifted (warn)</td>`) ||
		!strings.Contains(rows[1], "<td>position</td>") || !strings.Contains(rows[4], "<td>price</td>") {
		t.Errorf("drift table rows:\n%s", strings.Join(rows, "\n"))
	}
	// LATEST's vocabularies, from its manifest.
	if !strings.Contains(page, `<tr><td>app_id</td><td class="n">5712</td><td class="n">5200</td><td>7d</td><td class="n">508</td><td class="n">160</td></tr>`) ||
		!strings.Contains(page, `<tr><td>country</td><td class="n">13</td><td class="n">12</td><td>none</td><td class="n"></td><td class="n"></td></tr>`) {
		t.Errorf("the page lacks LATEST's vocabularies")
	}
	if t.Failed() {
		t.Logf("page:\n%s", page)
	}
}

// TestStatusPageEmpty renders a page before anything happened.
func TestStatusPageEmpty(t *testing.T) {
	p := New(Sources{Model: "m", Store: &fakeStore{}, Train: func() continuous.Status { return continuous.Status{} }})
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "no candidate evaluated yet") || !strings.Contains(rec.Body.String(), "no version yet") {
		t.Fatalf("%d\n%s", rec.Code, rec.Body.String())
	}
}

// TestStatusPageChromium loads the page in headless Chromium: the DOM it
// builds must hold the charts and the version table, and its screenshot is
// kept in test-artifacts/status-page.png.
func TestStatusPageChromium(t *testing.T) {
	chromium := testenv.Chromium(t)
	srv := httptest.NewServer(testPage(t))
	defer srv.Close()
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(), "--window-size=1280,1600"}
		cmd := exec.CommandContext(ctx, chromium, append(append(base, args...), srv.URL+"/")...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", chromium, args, err, stderr.String())
		}
		return string(out)
	}
	dom := run("--dump-dom")
	checkStatusHTML(t, dom)
	if n := strings.Count(dom, "<svg"); n < 6 {
		t.Errorf("the DOM holds %d svg elements, want 6 charts", n)
	}
	dir := filepath.Join("..", "..", "test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot, err := filepath.Abs(filepath.Join(dir, "status-page.png"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(shot)
	run("--screenshot=" + shot)
	fi, err := os.Stat(shot)
	if err != nil || fi.Size() < 10000 {
		t.Fatalf("screenshot %s: %v (size %d)", shot, err, sizeOf(fi))
	}
	t.Logf("screenshot: %s (%d bytes)", shot, fi.Size())
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return 0
	}
	return fi.Size()
}

// The page words a version the way `wdstream models` does
// (publisher.Manifest.GateVerdict): a version without a gate report is
// publisher.Ungated, one with a report its verdict.
func TestVersionWordsAreTheModelsCommand(t *testing.T) {
	st := &fakeStore{latest: "v2", manifests: map[string]*publisher.Manifest{
		"v1": {Model: "m", Version: "v1"},
		"v2": {Model: "m", Version: "v2", Verdict: &publisher.Report{Passed: true}},
	}}
	rows, err := readVersions(context.Background(), st, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Verdict != publisher.Ungated || rows[1].Verdict != "passed" {
		t.Fatalf("rows %+v: want v1 %q and v2 passed", rows, publisher.Ungated)
	}
}
