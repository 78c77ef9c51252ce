package status

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wdstream/wdstream/continuous"
	"github.com/wdstream/wdstream/drift"
	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/serve"
)

// Store is what the status page reads from the model store: the listing
// `wdstream models` shows too. *publisher.Store implements it.
type Store interface {
	List(ctx context.Context, model string, limit int) (entries []publisher.Entry, latestErr error, err error)
}

// Sources are where the page's figures come from. A nil function
// means the part does not run in this process.
type Sources struct {
	Model   string
	Where   string // the store's redacted URL, shown on the page
	Join    func() ingest.JoinStats
	Archive func() ingest.ArchiveStats
	Train   func() continuous.Status
	// Serve is the scoring server of this process (nil: none).
	Serve func() serve.Stats
	Store Store // nil: no store
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

// sample is one point of the page's history.
type sample struct {
	At          time.Time
	Join        ingest.JoinStats
	Archive     ingest.ArchiveStats
	Trained     int64
	ProgAUC     float64
	ProgLogLoss float64
	ProgCount   int
	Served      serve.Stats
	Lag         map[string]int64
}

// Page serves the page and keeps its history (run sample).
type Page struct {
	src Sources

	mu      sync.Mutex
	samples []sample // oldest first, at most src.Keep

	vmu      sync.Mutex // guards the versions cache
	versions []versionRow
	vErr     string
	vAt      time.Time
}

// New returns the page of src; Run samples it, ServeHTTP renders it.
func New(src Sources) *Page {
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
	return &Page{src: src}
}

// sample records a point every src.Every until ctx is done.
// Run samples the sources every src.Every until ctx is done.
func (p *Page) Run(ctx context.Context) error {
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
func (p *Page) record(ctx context.Context) {
	s := sample{At: p.src.Now()}
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
	if p.src.Serve != nil {
		s.Served = p.src.Serve()
	}
	if p.src.Lag != nil {
		lctx, cancel := context.WithTimeout(ctx, p.src.Every)
		s.Lag = p.src.Lag(lctx)
		cancel()
	}
	p.add(s)
}

func (p *Page) add(s sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.samples = append(p.samples, s)
	if n := len(p.samples) - p.src.Keep; n > 0 {
		p.samples = append(p.samples[:0], p.samples[n:]...)
	}
}

func (p *Page) history() []sample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]sample(nil), p.samples...)
}

// versionRow is one line of the version table: a published version or a
// rejected candidate.
type versionRow struct {
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
	// Drift: the largest distances of the drift check (LATEST only).
	Drift []drift.Distance
	// Vocabs: the version's vocabularies as its manifest records them
	// (LATEST only).
	Vocabs []publisher.VocabInfo
}

// driftRows is how many distances the drift table shows.
const driftRows = 5

// maxVersionRows bounds the version table (and the store reads).
const maxVersionRows = 30

// statusVersions reads the store's versions and rejected candidates, newest
// last, cached for a few seconds.
func (p *Page) statusVersions(ctx context.Context) ([]versionRow, string) {
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
	rows, err := readVersions(ctx, p.src.Store, p.src.Model)
	p.versions, p.vErr = rows, ""
	if err != nil {
		p.src.Logger.Warn("status page: reading the store", "err", err)
		p.vErr = err.Error()
	}
	return p.versions, p.vErr
}

func readVersions(ctx context.Context, st Store, model string) ([]versionRow, error) {
	entries, latestErr, err := st.List(ctx, model, maxVersionRows)
	if err != nil {
		return nil, err
	}
	errs := []error{latestErr}
	var rows []versionRow
	for _, e := range entries {
		if e.Err != nil {
			errs = append(errs, e.Err)
			continue
		}
		r := versionRow{Version: e.Version, Time: e.Time(), Published: !e.Rejected, Latest: e.Latest, Verdict: e.Verdict()}
		if m := e.Manifest; m != nil {
			r.Examples = m.Data.Examples
			if e.Latest {
				r.Vocabs = m.Vocabularies
			}
			if e.Report == nil && m.Metrics != nil {
				r.AUC, r.LogLoss, r.Calib, r.HasMetric = m.Metrics.AUC, m.Metrics.LogLoss, m.Metrics.Calibration, true
			}
		}
		if e.Report != nil {
			fillFromReport(&r, e.Report)
			if e.Latest {
				r.Drift = publisher.LargestDrifts(e.Report, driftRows)
			}
		}
		rows = append(rows, r)
	}
	return rows, errors.Join(errs...)
}

func fillFromReport(r *versionRow, rep *publisher.Report) {
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

// ServeHTTP renders the page.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
