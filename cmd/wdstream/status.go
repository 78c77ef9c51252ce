package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wdstream/wdstream/continuous"
	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/publisher"
)

// The status page: the HTTP port's /, server-rendered (html/template and
// inline SVG, no script). It shows each stage's throughput and lag, the
// model versions with their gate verdicts, and charts of AUC and log loss
// across versions and of the progressive metrics over time.

// versionStore is what the status page reads from the model store;
// *publisher.Store implements it.
type versionStore interface {
	Versions(ctx context.Context, model string) ([]string, error)
	Manifest(ctx context.Context, model, version string) (*publisher.Manifest, error)
	Latest(ctx context.Context, model string) (string, error)
	Rejected(ctx context.Context, model string) ([]string, error)
	RejectedReport(ctx context.Context, model, version string) (*publisher.Report, error)
}

// statusSources are where the page's figures come from. A nil function
// means the part does not run in this process.
type statusSources struct {
	Model   string
	Where   string // the store's redacted URL, shown on the page
	Join    func() ingest.JoinStats
	Archive func() ingest.ArchiveStats
	Train   func() continuous.Status
	Store   versionStore // nil: no store
	// Lag returns, per stage, the records its consumer group has not
	// committed yet (Kafka's consumer lag); nil or missing: unknown.
	Lag    func(ctx context.Context) map[string]int64
	Now    func() time.Time
	Logger *slog.Logger
	// Every is the sampling interval of the charts over time (default 2s);
	// Keep the number of samples kept (default 900).
	Every time.Duration
	Keep  int
}

// statusSample is one point of the page's history.
type statusSample struct {
	At          time.Time
	Join        ingest.JoinStats
	Archive     ingest.ArchiveStats
	Trained     int64
	ProgAUC     float64
	ProgLogLoss float64
	ProgCount   int
	Lag         map[string]int64
}

// statusPage serves the page and keeps its history (run sample).
type statusPage struct {
	src statusSources

	mu      sync.Mutex
	samples []statusSample // oldest first, at most src.Keep

	vmu      sync.Mutex // guards the versions cache
	versions []statusVersion
	vErr     string
	vAt      time.Time
}

func newStatusPage(src statusSources) *statusPage {
	if src.Now == nil {
		src.Now = time.Now
	}
	if src.Every <= 0 {
		src.Every = 2 * time.Second
	}
	if src.Keep <= 0 {
		src.Keep = 900
	}
	if src.Logger == nil {
		src.Logger = slog.New(slog.DiscardHandler)
	}
	return &statusPage{src: src}
}

// sample records a point every src.Every until ctx is done.
func (p *statusPage) sample(ctx context.Context) error {
	t := time.NewTicker(p.src.Every)
	defer t.Stop()
	p.record(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			p.record(ctx)
		}
	}
}

// record takes one sample now.
func (p *statusPage) record(ctx context.Context) {
	s := statusSample{At: p.src.Now()}
	if p.src.Join != nil {
		s.Join = p.src.Join()
	}
	if p.src.Archive != nil {
		s.Archive = p.src.Archive()
	}
	if p.src.Train != nil {
		st := p.src.Train()
		s.Trained = st.Examples
		s.ProgAUC, s.ProgLogLoss, s.ProgCount = st.Progressive.AUC, st.Progressive.LogLoss, st.Progressive.Count
	}
	if p.src.Lag != nil {
		lctx, cancel := context.WithTimeout(ctx, p.src.Every)
		s.Lag = p.src.Lag(lctx)
		cancel()
	}
	p.add(s)
}

func (p *statusPage) add(s statusSample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.samples = append(p.samples, s)
	if n := len(p.samples) - p.src.Keep; n > 0 {
		p.samples = append(p.samples[:0], p.samples[n:]...)
	}
}

func (p *statusPage) history() []statusSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]statusSample(nil), p.samples...)
}

// statusVersion is one line of the version table: a published version or a
// rejected candidate.
type statusVersion struct {
	Version   string
	Time      time.Time
	Published bool
	Latest    bool
	Verdict   string // passed, forced, rejected, error: ...
	AUC       float64
	LogLoss   float64
	Calib     float64
	Examples  int64 // trained on (published versions)
	Fresh     int   // fresh examples the gate evaluated on
	Baseline  string
	BaseAUC   float64
	Failed    string // failed checks
	HasMetric bool
}

// maxVersionRows bounds the version table (and the store reads).
const maxVersionRows = 30

// statusVersions reads the store's versions and rejected candidates, newest
// last, cached for a few seconds.
func (p *statusPage) statusVersions(ctx context.Context) ([]statusVersion, string) {
	p.vmu.Lock()
	defer p.vmu.Unlock()
	if p.src.Store == nil {
		return nil, ""
	}
	if now := p.src.Now(); now.Sub(p.vAt) < 3*time.Second && !p.vAt.IsZero() {
		return p.versions, p.vErr
	} else {
		p.vAt = now
	}
	rows, err := readStatusVersions(ctx, p.src.Store, p.src.Model)
	p.versions, p.vErr = rows, ""
	if err != nil {
		p.src.Logger.Warn("status page: reading the store", "err", err)
		p.vErr = err.Error()
	}
	return p.versions, p.vErr
}

func readStatusVersions(ctx context.Context, st versionStore, model string) ([]statusVersion, error) {
	var rows []statusVersion
	var errs []error
	latest, err := st.Latest(ctx, model)
	if err != nil && !errors.Is(err, publisher.ErrNoVersion) {
		errs = append(errs, err)
	}
	vs, err := st.Versions(ctx, model)
	errs = append(errs, err)
	for _, v := range tail(vs, maxVersionRows) {
		m, err := st.Manifest(ctx, model, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r := statusVersion{Version: v, Time: m.Created, Published: true, Latest: v == latest, Verdict: "published", Examples: m.Data.Examples}
		if m.Verdict != nil {
			fillFromReport(&r, m.Verdict)
			r.Verdict = m.Verdict.Verdict()
		} else if m.Metrics != nil {
			r.AUC, r.LogLoss, r.Calib, r.HasMetric = m.Metrics.AUC, m.Metrics.LogLoss, m.Metrics.Calibration, true
			r.Verdict = "published without the gate"
		}
		rows = append(rows, r)
	}
	rej, err := st.Rejected(ctx, model)
	errs = append(errs, err)
	for _, v := range tail(rej, maxVersionRows) {
		rep, err := st.RejectedReport(ctx, model, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r := statusVersion{Version: v, Time: rep.Time, Verdict: rep.Verdict()}
		fillFromReport(&r, rep)
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Version < rows[j].Version })
	return tail(rows, maxVersionRows), errors.Join(errs...)
}

func fillFromReport(r *statusVersion, rep *publisher.Report) {
	if c := rep.Candidate; c != nil {
		r.AUC, r.LogLoss, r.Calib, r.HasMetric = c.AUC, c.LogLoss, c.Calibration, true
	}
	r.Fresh, r.Baseline = rep.Examples, rep.Baseline
	if b := rep.BaselineMetrics; b != nil {
		r.BaseAUC = b.AUC
	}
	r.Failed = strings.Join(rep.Failed(), ", ")
	if r.Time.IsZero() {
		r.Time = rep.Time
	}
}

func tail[T any](s []T, n int) []T {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// ServeHTTP renders the page.
func (p *statusPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := p.data(r.Context())
	var buf bytes.Buffer
	if err := statusTemplate.Execute(&buf, d); err != nil {
		p.src.Logger.Error("status page", "err", err)
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
