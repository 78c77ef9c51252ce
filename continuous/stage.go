package continuous

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wdstream/wdstream/drift"
	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/internal/backoff"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer"
)

// Config configures a Stage. Spec, Model, Store, Publisher, Brokers and
// Topic are required; every other zero value means the default its comment
// states.
type Config struct {
	Spec      *spec.Spec
	Model     string
	Store     *publisher.Store
	Publisher *publisher.Publisher
	Brokers   []string
	Auth      kafka.Auth
	Topic     string
	// TrainGroup is the consumer group the offsets are committed under
	// (monitoring only; checkpoints own the offsets). Default wdstream-train.
	TrainGroup string
	// StartDefault is where a partition without a recorded offset starts:
	// kafka.AtFirst (the zero value) or kafka.AtEnd.
	StartDefault kafka.StartAt
	// CheckpointEvery is the time between checkpoints. Default 1m.
	CheckpointEvery time.Duration
	// KeepCheckpoints is how many complete checkpoints are kept. Default 3
	// (all of them when TrainedLog is set).
	KeepCheckpoints int
	// TrainedLog writes the (impression_id, label) of every trained example
	// into the checkpoint that covers it (trained.txt).
	TrainedLog bool
	// Bootstrap is the number of examples fitted before the quantile
	// boundaries are fixed on a cold start. Default 10000.
	Bootstrap int
	// ProgressiveWindow is the number of recent examples the progressive
	// metrics cover. Default 100000.
	ProgressiveWindow int
	// BatchWait: a partial batch is trained after this long without a new
	// record. Default 1s.
	BatchWait time.Duration
	// FreshWait bounds how long a publish waits for its fresh set (low
	// traffic, the end of a stream): after it, the candidate goes to the
	// gate with the fresh examples held so far when they are at least a
	// tenth of validation.examples (and 200), else they are trained on and
	// this publish is skipped. Default 2m.
	FreshWait time.Duration
	// Workers is the trainer's thread count. Default GOMAXPROCS.
	Workers    int
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

func (c *Config) validate() error {
	var errs []error
	if c.Spec == nil || c.Store == nil || c.Publisher == nil {
		errs = append(errs, errors.New("train stage: spec, store and publisher are required"))
	}
	if c.Model == "" || len(c.Brokers) == 0 || c.Topic == "" {
		errs = append(errs, errors.New("train stage: model, brokers and topic are required"))
	}
	if c.CheckpointEvery < 0 || c.FreshWait < 0 || c.KeepCheckpoints < 0 || c.Bootstrap < 0 || c.ProgressiveWindow < 0 || c.BatchWait < 0 || c.Workers < 0 {
		errs = append(errs, errors.New("train stage: negative option"))
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.KeepCheckpoints, 3)
	def(&c.Bootstrap, 10000)
	def(&c.ProgressiveWindow, 100000)
	def(&c.Workers, runtime.GOMAXPROCS(0))
	if c.TrainGroup == "" {
		c.TrainGroup = "wdstream-train"
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = time.Minute
	}
	if c.BatchWait == 0 {
		c.BatchWait = time.Second
	}
	if c.FreshWait == 0 {
		c.FreshWait = 2 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return errors.Join(errs...)
}

// Stage is the train stage.
type Stage struct {
	cfg Config
	log *slog.Logger
	met *stageMetrics
	// client commits the read offsets for lag tools.
	client *kafka.Client
	// statsAt is when the featurizer's counters were last copied to met.
	statsAt time.Time

	mu     sync.Mutex // guards status
	status Status

	// Training state, owned by Run's goroutine.
	st       *featurize.State
	model    *trainer.Model
	tr       *trainer.Trainer
	prog     Progress
	batch    featurize.Batch
	preds    []float32
	window   *progressive
	trained  strings.Builder // ids since the last checkpoint (TrainedLog)
	boot     []schemas.Example
	fresh    []schemas.Example
	freshOn  bool
	freshAt  time.Time // when the fresh set began
	lastPub  time.Time
	pubCount int64 // examples trained at the last publish
	lastCkpt time.Time
	read     map[int]int64 // next offset read, per partition
	// freshFrom is read when the fresh set began: the data the candidate
	// covers.
	freshFrom    map[int]int64
	parts        int  // partitions of the examples topic
	dirty        bool // trained since the last checkpoint
	sinceSummary int
	// profile counts the examples trained since the last published
	// version, for the next candidate's statistics.
	profile *drift.Profiler
	// evictions records what the vocabularies' ttls evicted since the
	// last published version, for the next candidate's manifest.
	evictions publisher.Evictions
	// partTS is the newest example time read per partition since the
	// stage started: the ttls' clock (watermark).
	partTS map[int]int64
}

// Status is a snapshot for the status page and readiness.
type Status struct {
	Ready         bool
	Examples      int64
	Progressive   trainer.Metrics
	LastTS        int64
	Checkpoint    int64
	CheckpointAt  time.Time
	LastPublished string
	Publishes     []PublishEvent
	Started       time.Time
}

// PublishEvent is one gate outcome, for the status page.
type PublishEvent struct {
	Time      time.Time
	Version   string
	Published bool
	Verdict   string
	AUC       float64
	LogLoss   float64
	Examples  int64
}

// profileSample is the share of the trained examples whose values the
// next candidate's statistics count: on the playstore spec, counting one
// takes about 1.2 µs, against 5.4 µs per example for the whole stage at
// 186,000 examples/s (two threads), so counting every one would cost a
// fifth of the throughput and one in ten costs about 2%; a window of
// publish.every (5m) at even 100 examples/s still counts 3,000.
const profileSample = 0.1

// New checks cfg and returns a Stage.
func New(cfg Config) (*Stage, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	prof, err := drift.NewProfiler(cfg.Spec, drift.Options{Sample: profileSample})
	if err != nil {
		return nil, fmt.Errorf("train stage: %w", err)
	}
	return &Stage{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "train"),
		met:     newStageMetrics(cfg.Registerer),
		client:  kafka.NewClient(cfg.Brokers, cfg.Auth),
		window:  newProgressive(cfg.ProgressiveWindow),
		profile: prof,
	}, nil
}

// Status returns a snapshot of the stage's progress.
func (s *Stage) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Publishes = append([]PublishEvent(nil), st.Publishes...)
	return st
}

func (s *Stage) setStatus(fn func(*Status)) {
	s.mu.Lock()
	fn(&s.status)
	s.mu.Unlock()
}

// Run trains until ctx is done, then trains what it holds, writes a last
// checkpoint and returns.
func (s *Stage) Run(ctx context.Context) error {
	s.setStatus(func(st *Status) { st.Started = s.cfg.Now() })
	defer s.client.Close()
	if err := s.restore(ctx); err != nil {
		return err
	}
	src, err := s.openSource(ctx)
	if err != nil {
		return err
	}
	if src == nil { // stopped before the topic could be read
		return nil
	}
	s.parts = src.Partitions()
	defer func() {
		if src != nil {
			src.Close()
		}
	}()
	s.setStatus(func(st *Status) { st.Ready = true })
	s.lastCkpt, s.lastPub = s.cfg.Now(), s.cfg.Now()
	s.pubCount = s.prog.Examples

	dec := &schemas.Decoder{}
	var recs []kafka.SourceRecord
	var exs []schemas.Example
	timer := time.NewTimer(s.cfg.BatchWait)
	defer timer.Stop()
	bs := s.cfg.Spec.Model.BatchSize
	for {
		full := false
		select {
		case <-ctx.Done():
			return s.stop(ctx, dec, recs, exs)
		case err := <-src.Err():
			// A broker outage, a moved partition leader...: train what
			// was read, then read on from there once the brokers answer.
			s.log.Warn("reading the examples topic failed; reopening it where the stage is", "err", err)
			s.met.sourceRestarts.Inc()
			s.setStatus(func(st *Status) { st.Ready = false })
			if err := s.consume(ctx, dec, recs, exs[:0], false); err != nil {
				return err
			}
			recs = recs[:0]
			src.Close()
			if src, err = s.openSource(ctx); err != nil {
				return err
			}
			if src == nil { // stopped while the brokers were away
				return s.stop(ctx, dec, nil, exs)
			}
			s.parts = src.Partitions()
			s.setStatus(func(st *Status) { st.Ready = true })
			s.log.Info("reading the examples topic again", "offsets", s.read)
		case r := <-src.Records():
			recs = append(recs, r)
			full = len(recs) >= bs
		case <-timer.C:
			full = len(recs) > 0
			timer.Reset(s.cfg.BatchWait)
		}
		if full {
			if err := s.consume(ctx, dec, recs, exs[:0], false); err != nil {
				return err
			}
			recs = recs[:0]
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(s.cfg.BatchWait)
		}
		if s.freshOn && s.cfg.Now().Sub(s.freshAt) >= s.cfg.FreshWait {
			if err := s.freshTimeout(ctx); err != nil {
				return err
			}
		}
		if s.cfg.Now().Sub(s.lastCkpt) >= s.cfg.CheckpointEvery && !s.holding() {
			if err := s.checkpoint(ctx); err != nil {
				s.met.checkpointErr.Inc()
				s.log.Error("checkpoint failed; retrying at the next interval", "err", err)
			}
			s.lastCkpt = s.cfg.Now()
		}
	}
}

// stop ends Run: intake has stopped; it trains what was read (recs
// included), checkpoints and commits.
func (s *Stage) stop(ctx context.Context, dec *schemas.Decoder, recs []kafka.SourceRecord, exs []schemas.Example) error {
	ctx = context.WithoutCancel(ctx)
	err := s.consume(ctx, dec, recs, exs[:0], true)
	if cerr := s.checkpoint(ctx); cerr != nil && err == nil {
		err = cerr
	}
	s.log.Info("train stage stopped", "examples", s.prog.Examples, "checkpoint", s.prog.Seq)
	return err
}

// openSource opens the examples topic where the stage is: from the next
// offset not yet read of every partition read so far (restored from a
// checkpoint or a published version, or read since), else from
// StartDefault. The topic may not exist yet when the join stage starts in
// the same process (it creates it), and the brokers may be unreachable for
// a while: it retries until ctx is done, and then returns a nil Source.
func (s *Stage) openSource(ctx context.Context) (*kafka.Source, error) {
	bo := backoff.New(250*time.Millisecond, 5*time.Second)
	for {
		src, err := kafka.OpenSource(ctx, kafka.SourceConfig{
			Brokers: s.cfg.Brokers, Topic: s.cfg.Topic, Auth: s.cfg.Auth,
			Start: maps.Clone(s.read), StartDefault: s.cfg.StartDefault,
		})
		if err == nil {
			return src, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		wait := bo.Next()
		s.log.Warn("cannot read the examples topic yet; retrying", "topic", s.cfg.Topic, "err", err, "backoff", wait)
		if !backoff.Sleep(ctx, wait) {
			return nil, nil
		}
	}
}

// consume decodes a batch of records and routes the examples: bootstrap,
// fresh set for a publish, or training. final trains everything held.
func (s *Stage) consume(ctx context.Context, dec *schemas.Decoder, recs []kafka.SourceRecord, exs []schemas.Example, final bool) error {
	for _, r := range recs {
		var ex schemas.Example
		if err := dec.Example(r.Value, &ex); err != nil {
			s.met.badRecords.Inc()
			s.log.Warn("skipping an undecodable example", "partition", r.Partition, "offset", r.Offset, "err", err)
		} else {
			exs = append(exs, ex)
			if s.partTS == nil {
				s.partTS = map[int]int64{}
			}
			s.partTS[r.Partition] = max(s.partTS[r.Partition], ex.TS)
		}
		// The record is consumed either way; its offset moves with the
		// batch it belongs to (trained below, or held and trained later:
		// the checkpoint waits for held examples, see heldOffsets).
		s.advance(r)
	}
	switch {
	case s.model == nil:
		s.boot = append(s.boot, exs...)
		if len(s.boot) >= s.cfg.Bootstrap || (final && len(s.boot) > 0) {
			return s.bootstrap(ctx)
		}
		return nil
	case s.freshOn:
		s.fresh = append(s.fresh, exs...)
		switch {
		case final: // shutting down: train them, publish next time
			fresh := s.fresh
			s.fresh, s.freshOn = nil, false
			return s.train(fresh)
		case len(s.fresh) >= s.cfg.Spec.Validation.Examples:
			return s.publish(ctx)
		}
		return nil
	}
	if err := s.train(exs); err != nil {
		return err
	}
	if s.publishDue() && !final {
		if s.prog.Seq == 0 {
			// No checkpoint yet: write one first, so that a restart
			// resumes from a checkpoint (whose trained log, with
			// TrainedLog, covers these examples) rather than from the
			// version about to be published.
			if err := s.checkpoint(ctx); err != nil {
				s.met.checkpointErr.Inc()
				s.log.Error("checkpoint before the first publish failed", "err", err)
			}
			s.lastCkpt = s.cfg.Now()
		}
		s.freshOn, s.freshAt = true, s.cfg.Now()
		s.freshFrom = maps.Clone(s.read)
	}
	return nil
}

func (s *Stage) publishDue() bool {
	p := s.cfg.Spec.Publish
	if p.EveryExamples > 0 && s.prog.Examples-s.pubCount >= int64(p.EveryExamples) {
		return true
	}
	return p.Every > 0 && s.cfg.Now().Sub(s.lastPub) >= p.Every.D()
}

// advance records that r was read. The offsets a checkpoint records are
// these read offsets, or freshFrom while a fresh set is held (everything
// read before it was trained, nothing after), and no checkpoint is taken
// during the bootstrap, so they always mean "trained".
func (s *Stage) advance(r kafka.SourceRecord) {
	if s.read == nil {
		s.read = map[int]int64{}
	}
	s.read[r.Partition] = r.Offset + 1
}

// holding reports whether read examples wait untrained in a way a
// checkpoint cannot record: the bootstrap (there is no model yet). A held
// fresh set does not stop checkpoints (see checkpointOffsets).
func (s *Stage) holding() bool { return len(s.boot) > 0 }

// checkpointOffsets returns the next offsets not trained on.
func (s *Stage) checkpointOffsets() map[int]int64 {
	if s.freshOn {
		return maps.Clone(s.freshFrom)
	}
	return maps.Clone(s.read)
}

// freshTimeout ends a fresh set that did not fill within FreshWait: the
// candidate goes to the gate with what was held, when that is enough for
// a meaningful comparison, else the held examples are trained on and this
// publish is skipped (the next one is due a full period later).
func (s *Stage) freshTimeout(ctx context.Context) error {
	need := max(200, s.cfg.Spec.Validation.Examples/10)
	if len(s.fresh) >= need {
		s.log.Info("fresh set not full in time: gating the candidate on what arrived", "fresh", len(s.fresh), "want", s.cfg.Spec.Validation.Examples, "waited", s.cfg.FreshWait)
		return s.publish(ctx)
	}
	s.log.Info("fresh set not full in time and too small for the gate: training on it, publish skipped", "fresh", len(s.fresh), "need", need, "waited", s.cfg.FreshWait)
	fresh := s.fresh
	s.fresh, s.freshOn = nil, false
	s.lastPub, s.pubCount = s.cfg.Now(), s.prog.Examples
	s.met.publishes.WithLabelValues("skipped").Inc()
	return s.train(fresh)
}
