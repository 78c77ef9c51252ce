package continuous

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/ingest"
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
	Auth      ingest.Auth
	Topic     string
	// TrainGroup is the consumer group the offsets are committed under
	// (monitoring only; checkpoints own the offsets). Default wdstream-train.
	TrainGroup string
	// StartDefault is where a partition without a recorded offset starts:
	// kafka.FirstOffset (default) or kafka.LastOffset.
	StartDefault int64
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
	if c.CheckpointEvery < 0 || c.KeepCheckpoints < 0 || c.Bootstrap < 0 || c.ProgressiveWindow < 0 || c.BatchWait < 0 || c.Workers < 0 {
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
	if c.StartDefault == 0 {
		c.StartDefault = kafka.FirstOffset
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = time.Minute
	}
	if c.BatchWait == 0 {
		c.BatchWait = time.Second
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
	lastPub  time.Time
	pubCount int64 // examples trained at the last publish
	lastCkpt time.Time
	read     map[int]int64 // next offset read, per partition
	// freshFrom is read when the fresh set began: the data the candidate
	// covers.
	freshFrom    map[int]int64
	dirty        bool // trained since the last checkpoint
	sinceSummary int
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

// New checks cfg and returns a Stage.
func New(cfg Config) (*Stage, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Stage{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "train"),
		met:    newStageMetrics(cfg.Registerer),
		window: newProgressive(cfg.ProgressiveWindow),
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
	if err := s.restore(ctx); err != nil {
		return err
	}
	src, err := ingest.OpenSource(ctx, ingest.SourceConfig{
		Brokers: s.cfg.Brokers, Topic: s.cfg.Topic, Auth: s.cfg.Auth,
		Start: s.prog.Offsets, StartDefault: s.cfg.StartDefault,
	})
	if err != nil {
		return err
	}
	defer src.Close()
	s.setStatus(func(st *Status) { st.Ready = true })
	s.lastCkpt, s.lastPub = s.cfg.Now(), s.cfg.Now()
	s.pubCount = s.prog.Examples

	dec := &schemas.Decoder{}
	var recs []ingest.Record
	var exs []schemas.Example
	timer := time.NewTimer(s.cfg.BatchWait)
	defer timer.Stop()
	bs := s.cfg.Spec.Model.BatchSize
	for {
		full := false
		select {
		case <-ctx.Done():
			// Stop intake; train what was read, checkpoint, commit.
			err := s.consume(context.WithoutCancel(ctx), dec, recs, exs[:0], true)
			if cerr := s.checkpoint(context.WithoutCancel(ctx)); cerr != nil && err == nil {
				err = cerr
			}
			s.log.Info("train stage stopped", "examples", s.prog.Examples, "checkpoint", s.prog.Seq)
			return err
		case err := <-src.Err():
			return err
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
		if s.cfg.Now().Sub(s.lastCkpt) >= s.cfg.CheckpointEvery && !s.holding() {
			if err := s.checkpoint(ctx); err != nil {
				s.met.checkpointErr.Inc()
				s.log.Error("checkpoint failed; retrying at the next interval", "err", err)
			}
			s.lastCkpt = s.cfg.Now()
		}
	}
}

// consume decodes a batch of records and routes the examples: bootstrap,
// fresh set for a publish, or training. final trains everything held.
func (s *Stage) consume(ctx context.Context, dec *schemas.Decoder, recs []ingest.Record, exs []schemas.Example, final bool) error {
	for _, r := range recs {
		var ex schemas.Example
		if err := dec.Example(r.Value, &ex); err != nil {
			s.met.badRecords.Inc()
			s.log.Warn("skipping an undecodable example", "partition", r.Partition, "offset", r.Offset, "err", err)
		} else {
			exs = append(exs, ex)
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
		s.freshOn = true
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
// these read offsets, and a checkpoint is only taken when no read example
// is held untrained (bootstrap or fresh set), so they always mean
// "trained".
func (s *Stage) advance(r ingest.Record) {
	if s.read == nil {
		s.read = map[int]int64{}
	}
	s.read[r.Partition] = r.Offset + 1
}

// holding reports whether read examples wait untrained.
func (s *Stage) holding() bool { return len(s.boot) > 0 || len(s.fresh) > 0 }
