package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wdstream/wdstream/internal/backoff"
	"github.com/wdstream/wdstream/kafka"
)

// Default topic and group names.
const (
	DefaultImpressionsTopic = "impressions"
	DefaultInstallsTopic    = "installs"
	DefaultExamplesTopic    = "examples"
	DefaultDeadLetterTopic  = "examples-dlq"
	DefaultJoinGroup        = "wdstream-join"
	DefaultArchiveGroup     = "wdstream-archive"
)

// JoinConfig configures a JoinStage. Zero fields take the documented
// defaults; Brokers and Window are required.
type JoinConfig struct {
	Brokers []string
	// Auth (TLS, SASL) for every connection of the stage. Default:
	// plaintext without authentication.
	Auth kafka.Auth
	// Group is the consumer group id. Default DefaultJoinGroup.
	Group string
	// Topics. Defaults: impressions, installs, examples, examples-dlq.
	Impressions, Installs, Examples, DeadLetter string
	// Window is the label window (spec join.label_window). Required.
	Window time.Duration
	// IdleAdvance (spec join.idle_advance): an input caught up and silent
	// this long counts as empty up to wall clock minus IdleAdvance. Default 1m.
	IdleAdvance time.Duration
	// AllowedLateness is subtracted from the merged event time to form the
	// watermark. Default 0 (negative: 0).
	AllowedLateness time.Duration
	// MaxPending caps pending impressions over all partitions (spec
	// join.max_pending), split evenly over the partitions: it bounds the
	// count, hence the index (see MaxStateBytes), and when a partition
	// reaches its share the oldest impression is closed early (Forced).
	// Default 2,000,000.
	MaxPending int
	// MaxStateBytes (spec join.max_state_bytes) is the memory budget of
	// the join state of this stage, over the partitions it runs: the
	// messages of the pending impressions kept in memory plus an estimate
	// of the rest (join.Joiner.IndexBytes). Over it, the messages of new
	// pending impressions go to SpillDir until the state is back under 7/8
	// of it; no impression is closed early because of it. 0 (default): no
	// budget, every message stays in memory.
	MaxStateBytes int64
	// SpillDir (spec join.spill_dir) holds the spill files, in a
	// directory of this stage's (see the package doc). Default: the OS
	// temp dir (os.TempDir). Used only with MaxStateBytes.
	SpillDir string
	// SpillSegmentBytes: size at which a spill file is cut (at most 1
	// GiB). Default 64 MiB.
	SpillSegmentBytes int64
	// FlushInterval: produce and commit at least this often. Default 1s.
	FlushInterval time.Duration
	// FlushRecords, FlushBytes: hand a batch to the partition's producer
	// when this many examples (or bytes of them) wait. Defaults 20,000 and
	// 4 MiB (one produce request). Up to three batches per partition are in
	// memory at once: one filling, one waiting, one being produced.
	FlushRecords int
	FlushBytes   int
	// Compression of produced batches. The zero value is zstd at its
	// fastest level; kafka.None turns compression off (gzip, snappy and lz4
	// at kafka-go's levels).
	Compression kafka.Compression
	// DrainTimeout bounds the final produce and commit at shutdown. Default 25s.
	DrainTimeout time.Duration
	// FetchMaxBytes per fetch request (compressed bytes). Default 1 MiB:
	// a fetch is decompressed and parsed before the merge sees any of it,
	// so smaller fetches start the merge sooner and overlap with it.
	FetchMaxBytes int64
	// Logger; nil: no logging.
	Logger *slog.Logger
	// Registerer receives the stage's metrics (wdstream_join_*); nil: none.
	Registerer prometheus.Registerer
}

func (c *JoinConfig) validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("join stage: no brokers")
	}
	if c.Window <= 0 {
		return fmt.Errorf("join stage: label window must be > 0, got %v", c.Window)
	}
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&c.Group, DefaultJoinGroup)
	def(&c.Impressions, DefaultImpressionsTopic)
	def(&c.Installs, DefaultInstallsTopic)
	def(&c.Examples, DefaultExamplesTopic)
	def(&c.DeadLetter, DefaultDeadLetterTopic)
	if c.IdleAdvance <= 0 {
		c.IdleAdvance = time.Minute
	}
	c.AllowedLateness = max(c.AllowedLateness, 0)
	if c.MaxPending <= 0 {
		c.MaxPending = 2_000_000
	}
	c.MaxStateBytes = max(c.MaxStateBytes, 0)
	if c.SpillSegmentBytes <= 0 {
		c.SpillSegmentBytes = 64 << 20
	}
	if c.SpillSegmentBytes > maxSpillSegment {
		return fmt.Errorf("join stage: spill segment bytes must be at most %d, got %d", maxSpillSegment, c.SpillSegmentBytes)
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = time.Second
	}
	if c.FlushRecords <= 0 {
		c.FlushRecords = 20_000
	}
	if c.FlushBytes <= 0 {
		c.FlushBytes = 4 << 20
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 25 * time.Second
	}
	if c.FetchMaxBytes <= 0 {
		c.FetchMaxBytes = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	topics := map[string]bool{}
	for _, t := range []string{c.Impressions, c.Installs, c.Examples, c.DeadLetter} {
		if topics[t] {
			return fmt.Errorf("join stage: topic %q used twice", t)
		}
		topics[t] = true
	}
	return nil
}

// JoinStage is the streaming join: it reads impressions and installs in a
// consumer group and writes examples (see the package doc).
type JoinStage struct {
	cfg        JoinConfig
	client     *kafka.Client
	logger     *slog.Logger
	stats      joinCounters
	partitions int // of the input topics
	dlqParts   int
	budget     stateBudget

	forcedMu  sync.Mutex
	forcedLog time.Time
}

// NewJoinStage checks cfg.
func NewJoinStage(cfg JoinConfig) (*JoinStage, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &JoinStage{cfg: cfg, client: kafka.NewClient(cfg.Brokers, cfg.Auth), logger: cfg.Logger.With("component", "join")}
	s.budget.max, s.budget.logger, s.budget.segBytes = cfg.MaxStateBytes, s.logger, cfg.SpillSegmentBytes
	if cfg.Registerer != nil {
		registerJoinMetrics(cfg.Registerer, s.Stats)
	}
	return s, nil
}

// Stats returns the counters so far.
func (s *JoinStage) Stats() JoinStats {
	st := s.stats.snapshot()
	b := &s.budget
	st.StateBytes = b.total.Load()
	if b.spilling.Load() {
		st.Spilling = 1
	}
	st.Spilled, st.SpillReads, st.SpillLive, st.SpillDiskBytes = b.c.written.Load(), b.c.read.Load(), b.c.live.Load(), b.c.diskBytes.Load()
	return st
}

// ErrPartitionMismatch is returned by Run when the input topics do not have
// the same partition count.
var ErrPartitionMismatch = errors.New("impressions and installs topics must have the same partition count")

// Run checks the topics (creating examples and the dead-letter topic when
// missing) and runs the stage until ctx is done; it then stops intake,
// produces and commits what it has, and returns nil.
func (s *JoinStage) Run(ctx context.Context) error {
	c := &s.cfg
	counts, err := s.client.PartitionCounts(ctx, c.Impressions, c.Installs)
	if err != nil {
		return err
	}
	ni, okI := counts[c.Impressions]
	ns, okS := counts[c.Installs]
	switch {
	case !okI || !okS:
		return fmt.Errorf("join stage: topic %s or %s does not exist (create both with the same partition count, e.g. with wdstream simulate --brokers)", c.Impressions, c.Installs)
	case ni != ns:
		return fmt.Errorf("join stage: %w: %s has %d, %s has %d; a user's impressions and installs must meet in the same partition number", ErrPartitionMismatch, c.Impressions, ni, c.Installs, ns)
	}
	s.partitions = ni
	if c.MaxStateBytes > 0 {
		root, err := openSpillRoot(c.SpillDir, s.logger)
		if err != nil {
			return fmt.Errorf("join stage: %w", err)
		}
		s.budget.root = root
		defer func() {
			if err := root.close(); err != nil {
				s.logger.Warn("deleting the spill directory", "dir", root.dir, "err", err)
			}
		}()
	}
	if _, err := s.client.EnsureTopic(ctx, c.Examples, ni, ni); err != nil {
		return fmt.Errorf("join stage: %w", err)
	}
	if s.dlqParts, err = s.client.EnsureTopic(ctx, c.DeadLetter, ni, 0); err != nil {
		return fmt.Errorf("join stage: %w", err)
	}
	spillDir := ""
	if s.budget.root != nil {
		spillDir = s.budget.root.dir
	}
	s.logger.Info("join stage starting", "group", c.Group, "partitions", ni, "window", c.Window, "idle_advance", c.IdleAdvance,
		"allowed_lateness", c.AllowedLateness, "max_pending", c.MaxPending, "max_state_bytes", c.MaxStateBytes, "spill_dir", spillDir)
	g := &kafka.GroupRunner{
		Brokers: c.Brokers, Auth: c.Auth, Group: c.Group, Topics: []string{c.Impressions, c.Installs},
		Logger: s.logger, Work: s.runPartition,
	}
	return g.Run(ctx)
}

// runPartition runs partition p until ctx is done, restarting it from its
// committed offsets after any error (a produce or commit that failed, a
// broker that went away): the restart path is the crash-recovery path.
func (s *JoinStage) runPartition(ctx context.Context, gen kafka.Generation, p int) error {
	s.stats.assigned.Add(1)
	defer s.stats.assigned.Add(-1)
	bo := backoff.New(500*time.Millisecond, 10*time.Second)
	for {
		jp, err := s.newPartition(ctx, gen, p)
		if err == nil {
			err = jp.run(ctx)
			jp.close()
		}
		if err == nil || ctx.Err() != nil {
			if err != nil && !errors.Is(err, context.Canceled) {
				s.logger.Warn("partition stopped with an error", "partition", p, "err", err)
			}
			return nil
		}
		if isFatalGroupErr(err) {
			return err
		}
		s.stats.restarts.Add(1)
		wait := bo.Next()
		s.logger.Warn("partition failed, restarting from its committed offsets", "partition", p, "err", err, "backoff", wait)
		backoff.Sleep(ctx, wait)
	}
}

// isFatalGroupErr reports errors after which the generation is over.
func isFatalGroupErr(err error) bool { return kafka.GenerationEnded(err) }

// noteForced logs the forced closes at most every 10 s.
func (s *JoinStage) noteForced(p int, n int64) {
	total := s.stats.forced.Add(n)
	s.forcedMu.Lock()
	defer s.forcedMu.Unlock()
	if time.Since(s.forcedLog) < 10*time.Second {
		return
	}
	s.forcedLog = time.Now()
	s.logger.Warn("join state full: closing the oldest pending impressions before their window ends (labels may be 0 too early); raise join.max_pending (join.max_state_bytes bounds the memory) or check the watermark",
		"partition", p, "forced_total", total, "max_pending", s.cfg.MaxPending)
}
