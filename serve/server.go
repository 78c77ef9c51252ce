package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/trainer"
)

// Config configures a Server. Store and Model are required.
type Config struct {
	Store *publisher.Store
	Model string
	// Workers score chunks in parallel (default GOMAXPROCS); Split is the
	// number of chunks a request's candidates are cut into (default 1:
	// one chunk; the paper's Table 2 compares 1, 2 and 4).
	Workers, Split int
	// Queue bounds the chunks waiting for a worker (default 64 x Workers,
	// about a tenth of a second of work for requests of 200 candidates
	// of the paper's model: room for the jitter of a steady rate, where 4
	// x Workers answered a few requests 503 at a third of the sustainable
	// rate): a request whose chunks do not all fit is answered 503 with
	// Retry-After, and one still waiting at its deadline too, so a burst
	// of long requests cannot starve short ones.
	Queue int
	// Timeout bounds one request from its arrival to its answer (default
	// 1s); a request past it is answered 503.
	Timeout time.Duration
	// MaxBody (bytes, default 4 MiB) and MaxCandidates (default 10,000)
	// limit a request; beyond them it is answered 413 or 400.
	MaxBody       int64
	MaxCandidates int
	// Poll is how often LATEST is read (default 10s; Reload loads at once).
	Poll       time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time

	// Impressions, when set, receives every candidate answered, with the
	// impression id the response returns (impressions.go; nil: no ids).
	Impressions ImpressionSink
}

func (c *Config) defaults() error {
	if c.Store == nil || c.Model == "" {
		return errors.New("serve: Store and Model are required")
	}
	if err := publisher.CheckName("model", c.Model); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if c.Workers < 0 || c.Split < 0 || c.Queue < 0 || c.Timeout < 0 || c.MaxBody < 0 || c.MaxCandidates < 0 || c.Poll < 0 {
		return errors.New("serve: negative workers, split, queue, timeout, limits or poll interval")
	}
	c.Workers = cmp.Or(c.Workers, defaultWorkers())
	c.Split = cmp.Or(c.Split, 1)
	c.Queue = cmp.Or(c.Queue, 64*c.Workers)
	c.Timeout = cmp.Or(c.Timeout, time.Second)
	c.MaxBody = cmp.Or(c.MaxBody, 4<<20)
	c.MaxCandidates = cmp.Or(c.MaxCandidates, 10_000)
	c.Poll = cmp.Or(c.Poll, 10*time.Second)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// loaded is one version, ready to score: its trainers (one per worker at a
// time: a Trainer keeps scratch buffers) come from a pool.
type loaded struct {
	bundle   *publisher.Bundle
	manifest *publisher.Manifest
	trainers sync.Pool
}

func (l *loaded) trainer() *trainer.Trainer { return l.trainers.Get().(*trainer.Trainer) }

// job is one chunk of a request's candidates.
type job struct {
	ctx  context.Context
	ld   *loaded
	exs  []schemas.Example
	out  []float32 // len(exs)
	done chan<- error
}

// Server scores candidates with the version LATEST names, reloading when
// LATEST moves (see the package doc).
type Server struct {
	cfg  Config
	cur  atomic.Pointer[loaded]
	jobs chan job
	met  *metrics

	reload   chan struct{} // a nudge to read LATEST now
	reloadMu sync.Mutex    // one load at a time
	waiting  bool          // "no version yet" was logged (under reloadMu)
}

// New checks cfg and returns a server with no model yet (Run loads it).
func New(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, jobs: make(chan job, cfg.Queue), met: newMetrics(cfg.Registerer, cfg.Model), reload: make(chan struct{}, 1)}, nil
}

// Ready reports whether a model is loaded.
func (s *Server) Ready() bool { return s.cur.Load() != nil }

// Version returns the version being served ("" before the first load).
func (s *Server) Version() string {
	if ld := s.cur.Load(); ld != nil {
		return ld.manifest.Version
	}
	return ""
}

// Stats returns what the server did since it started.
func (s *Server) Stats() Stats { return s.met.snapshot() }

// Reload asks Run to read LATEST now (a publish hook heard of a new
// version); it never blocks.
func (s *Server) Reload() {
	select {
	case s.reload <- struct{}{}:
	default:
	}
}

// Run starts the workers, loads the version LATEST names and follows
// LATEST (every Poll, and at once after Reload) until ctx is done. A
// version that fails to load is refused and logged; the one loaded before
// keeps serving.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx)
		}()
	}
	defer wg.Wait()
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		s.follow(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.reload:
		}
	}
}

// follow loads the version LATEST names when it is not the one served.
func (s *Server) follow(ctx context.Context) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	latest, err := s.cfg.Store.Latest(ctx, s.cfg.Model)
	if errors.Is(err, publisher.ErrNoVersion) {
		// Nothing published yet: normal before the first publish, said once.
		if !s.waiting {
			s.waiting = true
			s.cfg.Logger.Info("no version published yet; waiting for one", "model", s.cfg.Model)
		}
		return
	}
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("reading LATEST", "model", s.cfg.Model, "err", err)
		}
		return
	}
	if latest == s.Version() || latest == s.met.refusedVersion() {
		return
	}
	err = s.load(ctx, latest)
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.Is(err, publisher.ErrCorrupt) || errors.Is(err, publisher.ErrNoVersion) || errors.Is(err, errDryRun):
		// The version itself is bad: refused until LATEST moves.
		s.met.refuse(latest)
		s.cfg.Logger.Error("refusing a version: the served one stays", "model", s.cfg.Model, "version", latest, "serving", s.Version(), "err", err)
	default:
		// The store could not be read (down, a timeout): say so and try
		// again at the next poll; the version may well be sound.
		s.cfg.Logger.Warn("loading a version failed; retrying at the next poll", "model", s.cfg.Model, "version", latest, "serving", s.Version(), "err", err)
	}
}

// errDryRun marks a version whose dry-run batch failed.
var errDryRun = errors.New("dry-run batch")

// load reads the version (every checksum verified: publisher.Load), scores
// one batch with it off the request path (which also sizes the model to
// its vocabularies once, so scoring never writes to it), refuses one that
// gives a non-finite score, then swaps it in. Requests in flight finish on
// the version they started with.
func (s *Server) load(ctx context.Context, version string) error {
	start := time.Now()
	b, m, err := publisher.Load(ctx, s.cfg.Store, s.cfg.Model, version)
	if err != nil {
		return err
	}
	ld := &loaded{bundle: b, manifest: m}
	ld.trainers.New = func() any { return trainer.NewTrainer(b.Model, 1) }
	probe := []schemas.Example{{Impression: schemas.Impression{TS: 1, UserID: "dry-run", AppID: "dry-run", Features: map[string]schemas.Value{}}}}
	scores, err := ld.trainer().Score(b.State, probe, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", errDryRun, err)
	}
	if nonFinite(scores) >= 0 {
		return fmt.Errorf("%w: the score %v is not a finite number", errDryRun, scores[0])
	}
	prev := s.cur.Swap(ld)
	s.met.served(m.Version)
	from := ""
	if prev != nil {
		from = prev.manifest.Version
	}
	s.cfg.Logger.Info("serving a version", "model", s.cfg.Model, "version", m.Version, "previous", from, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// work scores chunks until ctx is done.
func (s *Server) work(ctx context.Context) {
	var b featurize.Batch
	var p []float32
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-s.jobs:
			if err := j.ctx.Err(); err != nil {
				j.done <- err
				continue
			}
			t := j.ld.trainer()
			err := j.ld.bundle.State.Transform(&b, j.exs)
			if err == nil {
				p = t.Predict(p, &b)
				copy(j.out, p)
			}
			j.ld.trainers.Put(t)
			j.done <- err
		}
	}
}

// errBusy: the queue had no room for a request's chunks.
var errBusy = errors.New("every worker is busy and the queue is full")

// score scores exs with ld, split into chunks over the workers.
func (s *Server) score(ctx context.Context, ld *loaded, exs []schemas.Example) ([]float32, error) {
	out := make([]float32, len(exs))
	n := min(s.cfg.Split, len(exs))
	done := make(chan error, n)
	sent := 0
	for k := range n {
		lo, hi := k*len(exs)/n, (k+1)*len(exs)/n
		select {
		case s.jobs <- job{ctx: ctx, ld: ld, exs: exs[lo:hi], out: out[lo:hi], done: done}:
			sent++
		default:
		}
	}
	var err error
	if sent < n {
		err = errBusy
	}
	// Every chunk sent is answered (a worker skips one whose request is
	// done): wait for all, so that no worker writes into out afterwards.
	for range sent {
		err = cmp.Or(err, <-done)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Handler serves the API: POST /v1/models/NAME/score.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/models/{name}/score", s.handleScore)
	return mux
}

func (s *Server) handleScore(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if name := r.PathValue("name"); name != s.cfg.Model {
		httpError(w, http.StatusNotFound, fmt.Sprintf("model %q: this server serves %q", name, s.cfg.Model))
		return
	}
	ld := s.cur.Load()
	if ld == nil {
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "no model loaded yet")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: more than %d bytes (--max-body)", s.cfg.MaxBody))
			return
		}
		httpError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	// The body's format decides the answer's; what follows the decoding is
	// shared.
	var exs []schemas.Example
	write := writeJSON
	if isArrowStream(r.Header.Get("Content-Type")) {
		exs, err = s.arrowExamples(body)
		write = writeArrow
	} else {
		exs, err = decodeRequest(body, s.cfg.MaxCandidates, s.cfg.Now().UnixMilli())
	}
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	scores, err := s.score(ctx, ld, exs)
	var ee *featurize.ExampleError
	switch {
	case errors.As(err, &ee):
		httpError(w, http.StatusBadRequest, fmt.Sprintf("candidates: %v", err))
		return
	case err != nil:
		s.met.overload()
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "not scored: "+err.Error())
		return
	}
	// A sound version gives finite scores on valid input, and the dry run
	// refuses one that does not; a version that still gives a NaN or an
	// infinity for some candidate is the server's fault: 500, said before
	// any byte of an answer is written.
	if i := nonFinite(scores); i >= 0 {
		s.met.nonFiniteAnswer()
		s.cfg.Logger.Error("a score is not a finite number; the request is answered 500", "model", s.cfg.Model, "version", ld.manifest.Version,
			"candidate", i, "app_id", exs[i].AppID, "score", scores[i])
		httpError(w, http.StatusInternalServerError, fmt.Sprintf("candidates[%d]: version %s gives a score that is not a finite number (%v)", i, ld.manifest.Version, scores[i]))
		return
	}
	resp := Response{Model: s.cfg.Model, Version: ld.manifest.Version, Scores: scores, Ranking: rank(scores)}
	if s.cfg.Impressions != nil {
		resp.ImpressionIDs = s.logServed(exs, resp.Ranking)
	}
	if err := write(w, &resp); err != nil {
		s.cfg.Logger.Debug("writing a score answer", "err", err)
	}
	s.met.request(time.Since(start), len(exs))
}

// writeJSON answers resp as JSON.
func writeJSON(w http.ResponseWriter, resp *Response) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(resp)
}

// nonFinite returns the index of the first score that is NaN or infinite,
// or -1.
func nonFinite(scores []float32) int {
	for i, x := range scores {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return i
		}
	}
	return -1
}

// rank returns the indices of scores, highest score first (ties in
// request order).
func rank(scores []float32) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	return idx
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "status": strconv.Itoa(code)})
}
