package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// stores
	_ "gocloud.dev/blob/s3blob"   // s3:// stores

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wdstream/wdstream/continuous"
	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/serve"
	"github.com/wdstream/wdstream/status"
)

// runCommand is the always-on service.
func runCommand() command {
	return command{
		name:    "run",
		summary: "run the always-on service: join live impressions and installs, archive the examples, train and publish",
		run:     runRun,
	}
}

// runConfig is what the stages of `wdstream run` are built from: the
// command's flags, or the settings of `wdstream demo`.
type runConfig struct {
	specPath, store, model            string
	brokers                           []string
	stages                            []string
	group, archiveGroup               string
	topicImps, topicIns, topicEx, dlq string
	archiveFileBytes                  int64
	archiveFlush, lateness            time.Duration
	shutdown                          time.Duration
	maxModelBytes                     spec.ByteSize
	svc                               serviceFlags
	// Train-stage knobs without a flag (0: continuous.Config's defaults);
	// the demo sets them for its small world.
	bootstrap, progressiveWindow int
	// servePoll, when set, also serves the model on the HTTP port
	// (POST /v1/models/NAME/score, package serve), following LATEST
	// every servePoll; the demo sets it.
	servePoll time.Duration
	// serveSink, with servePoll, logs what the server answers (the
	// experiment's arms); it runs with the server.
	serveSink *serve.KafkaImpressions
}

// defaultRunConfig returns the defaults of `wdstream run`'s flags.
func defaultRunConfig() runConfig {
	return runConfig{
		stages:           []string{"join", "archive", "train"},
		group:            ingest.DefaultJoinGroup,
		archiveGroup:     ingest.DefaultArchiveGroup,
		topicImps:        ingest.DefaultImpressionsTopic,
		topicIns:         ingest.DefaultInstallsTopic,
		topicEx:          ingest.DefaultExamplesTopic,
		dlq:              ingest.DefaultDeadLetterTopic,
		archiveFileBytes: 128 << 20,
		archiveFlush:     5 * time.Minute,
		shutdown:         30 * time.Second,
		svc:              defaultServiceFlags(),
	}
}

// runEnv is what every stage is built from, and the stages once built.
type runEnv struct {
	cfg     *runConfig
	sp      *spec.Spec
	bucket  *blob.Bucket
	logger  *slog.Logger
	auth    kafka.Auth
	reg     *prometheus.Registry
	join    *ingest.JoinStage
	archive *ingest.ArchiveStage
	train   *continuous.Stage
	serve   *serve.Server // nil unless cfg.servePoll is set
	status  *status.Page  // the page at / of the HTTP port
	// httpAddr is the HTTP port's address (nil without --http).
	httpAddr net.Addr
	runners  []func(context.Context) error
	closers  []func() error
}

// runStages lists the stages in stream order; `--stages` picks some. A
// stage is a function that builds its runner; the runner returns when ctx
// is done, after draining.
var runStages = []struct {
	name  string
	build func(ctx context.Context, env *runEnv) (func(context.Context) error, error)
}{
	{"join", buildJoinStage},
	{"archive", buildArchiveStage},
	{"train", buildTrainStage},
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultRunConfig()
	f := &cfg
	var brokers, stages, logLevel, logFormat string
	fs := newFlagSet("run", "--spec FILE --brokers LIST --store URL --model NAME [--stages join,archive,train] [flags]", stderr)
	fs.StringVar(&f.specPath, "spec", "", "feature spec YAML (required; join.* sets the label window, idle advance and state cap)")
	fs.StringVar(&brokers, "brokers", "", "comma-separated Kafka bootstrap brokers host:port (required)")
	fs.StringVar(&f.store, "store", "", "object store URL for the archive: file:///dir, s3://bucket?region=... (required with the archive stage)")
	fs.StringVar(&f.model, "model", "", "model name: the archive writes under NAME/examples/ (required with the archive stage)")
	fs.StringVar(&stages, "stages", strings.Join(f.stages, ","), "comma-separated stages to run in this process: join, archive, train")
	fs.StringVar(&f.group, "group", f.group, "consumer group of the join stage")
	fs.StringVar(&f.archiveGroup, "archive-group", f.archiveGroup, "consumer group of the archive stage")
	fs.StringVar(&f.topicImps, "topic-impressions", f.topicImps, "impressions topic")
	fs.StringVar(&f.topicIns, "topic-installs", f.topicIns, "installs topic")
	fs.StringVar(&f.topicEx, "topic-examples", f.topicEx, "examples topic (created with the inputs' partition count when missing)")
	fs.StringVar(&f.dlq, "topic-dlq", f.dlq, "dead-letter topic for records that fail to decode or validate")
	fs.Int64Var(&f.archiveFileBytes, "archive-file-bytes", f.archiveFileBytes, "archive Parquet file size at which a file is cut")
	fs.DurationVar(&f.archiveFlush, "archive-flush", f.archiveFlush, "an archive file open this long is cut and uploaded")
	fs.DurationVar(&f.lateness, "allowed-lateness", f.lateness, "event-time slack subtracted from the merged stream's ts to form the join watermark")
	fs.Var(&f.maxModelBytes, "max-model-bytes", maxModelBytesUsage)
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&logFormat, "log-format", "text", "text (logfmt key=value lines) or json (one JSON object per line, for log collectors)")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", f.shutdown, "on SIGTERM, how long the stages may drain, checkpoint and commit before the process exits anyway")
	addServiceFlags(fs, &f.svc)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return runUsage(fs, "--log-level "+logLevel+": want debug, info, warn or error")
	}
	f.brokers = splitComma(brokers)
	f.stages = splitComma(stages)
	if _, err := f.svc.auth(); err != nil {
		return runUsage(fs, err.Error())
	}
	switch {
	case f.specPath == "":
		return runUsage(fs, "--spec is required")
	case f.model != "" && checkModelName(f.model) != nil:
		return runUsage(fs, "--model: "+checkModelName(f.model).Error())
	case len(f.brokers) == 0:
		return runUsage(fs, "--brokers is required")
	case f.svc.pprof && f.svc.http == "":
		return runUsage(fs, "--pprof serves on the HTTP port: set --http too")
	}
	if err := f.checkStages(); err != nil {
		return runUsage(fs, err.Error())
	}
	sp, err := spec.LoadWith(f.specPath, spec.LoadOptions{MaxModelBytes: int64(f.maxModelBytes)})
	if err != nil {
		return err
	}
	var handler slog.Handler
	switch logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	case "json":
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	default:
		return runUsage(fs, "--log-format "+logFormat+": want text or json")
	}
	logger := slog.New(handler)
	env, err := startRun(ctx, f, sp, logger)
	if err != nil {
		return err
	}
	defer env.close()
	return env.run(ctx)
}

// splitComma splits a comma-separated list, dropping empty items.
func splitComma(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// checkStages checks the stage names and what they need.
func (c *runConfig) checkStages() error {
	var names []string
	for _, st := range runStages {
		names = append(names, st.name)
	}
	for _, s := range c.stages {
		if !slices.Contains(names, s) {
			return fmt.Errorf("--stages: unknown stage %q (stages: %s)", s, strings.Join(names, ", "))
		}
	}
	if len(c.stages) == 0 {
		return errors.New("--stages names no stage")
	}
	if (slices.Contains(c.stages, "archive") || slices.Contains(c.stages, "train")) && (c.store == "" || c.model == "") {
		return errors.New("the archive and train stages need --store and --model")
	}
	return nil
}

// startRun builds the stages cfg names, in stream order, and opens the HTTP
// port when cfg.svc.http is set (its / is the status page). Nothing runs
// until run; close releases what startRun opened.
func startRun(ctx context.Context, cfg *runConfig, sp *spec.Spec, logger *slog.Logger) (_ *runEnv, err error) {
	if err := cfg.checkStages(); err != nil {
		return nil, err
	}
	if len(cfg.brokers) == 0 {
		return nil, errors.New("no brokers")
	}
	env := &runEnv{cfg: cfg, sp: sp, reg: newRegistry(), logger: logger}
	defer func() {
		if err != nil {
			env.close()
		}
	}()
	if env.auth, err = cfg.svc.auth(); err != nil {
		return nil, err
	}
	if cfg.store != "" {
		// Opened as the publisher opens stores, so that a file:// store
		// on another filesystem than the temp dir works for the archive too.
		st, err := publisher.OpenStore(ctx, cfg.store)
		if err != nil {
			return nil, err
		}
		env.bucket = st.Bucket()
		env.closers = append(env.closers, st.Close)
	}
	for _, st := range runStages {
		if !slices.Contains(cfg.stages, st.name) {
			continue
		}
		r, err := st.build(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("%s stage: %w", st.name, err)
		}
		env.runners = append(env.runners, r)
	}
	if cfg.servePoll > 0 && cfg.svc.http != "" {
		if err := buildServer(ctx, env); err != nil {
			return nil, err
		}
	}
	if cfg.svc.http != "" {
		registerLagMetrics(env)
		mux := http.NewServeMux()
		if env.status, err = newRunStatusPage(ctx, env); err != nil {
			return nil, err
		}
		mux.Handle("/{$}", env.status)
		pages := "/ (status) /metrics /healthz /readyz"
		if env.serve != nil {
			mux.Handle("/v1/", env.serve.Handler())
			pages += " /v1/models/" + cfg.model + "/score"
		}
		if cfg.svc.pprof {
			mountPprof(mux)
			pages += " /debug/pprof/"
		}
		env.runners = append(env.runners, env.status.Run)
		srv, addr, err := serveHTTP(cfg.svc.http, env.reg, env.ready, mux)
		if err != nil {
			return nil, fmt.Errorf("--http %s: %w", cfg.svc.http, err)
		}
		env.httpAddr = addr
		env.logger.Info("HTTP port open", "addr", addr.String(), "pages", pages)
		env.runners = append(env.runners, srv)
	}
	return env, nil
}

// buildServer makes env serve the model it trains (the demo): a scoring
// server on a store of its own, following LATEST every cfg.servePoll.
func buildServer(ctx context.Context, env *runEnv) error {
	st, err := publisher.OpenStore(ctx, env.cfg.store)
	if err != nil {
		return err
	}
	env.closers = append(env.closers, st.Close)
	cfg := serve.Config{
		Store: st, Model: env.cfg.model, Poll: env.cfg.servePoll,
		Registerer: env.reg, Logger: env.logger.With("component", "serve"),
	}
	if env.cfg.serveSink != nil {
		cfg.Impressions = env.cfg.serveSink
		env.runners = append(env.runners, env.cfg.serveSink.Run)
	}
	env.serve, err = serve.New(cfg)
	if err != nil {
		return err
	}
	env.runners = append(env.runners, env.serve.Run)
	return nil
}

// close releases what startRun opened.
func (env *runEnv) close() {
	for i := len(env.closers) - 1; i >= 0; i-- {
		if err := env.closers[i](); err != nil {
			env.logger.Warn("closing", "err", err)
		}
	}
	env.closers = nil
}

// run runs every stage until ctx is done (SIGTERM, SIGINT) or one fails,
// then stops them in stream order within the shutdown timeout (see
// runInOrder).
func (env *runEnv) run(ctx context.Context) error {
	env.logger.Info("wdstream run starting", "stages", strings.Join(env.cfg.stages, ","), "brokers", strings.Join(env.cfg.brokers, ","))
	err := runInOrder(ctx, env.runners, env.cfg.shutdown, env.logger)
	if err != nil {
		return err
	}
	env.logger.Info("wdstream run stopped")
	return nil
}

func buildJoinStage(ctx context.Context, env *runEnv) (func(context.Context) error, error) {
	j := env.sp.Join
	s, err := ingest.NewJoinStage(ingest.JoinConfig{
		Brokers: env.cfg.brokers, Auth: env.auth, Group: env.cfg.group,
		Impressions: env.cfg.topicImps, Installs: env.cfg.topicIns, Examples: env.cfg.topicEx, DeadLetter: env.cfg.dlq,
		Window: j.LabelWindow.D(), IdleAdvance: j.IdleAdvance.D(), MaxPending: j.MaxPending,
		MaxStateBytes: int64(j.MaxStateBytes), SpillDir: j.SpillDir,
		AllowedLateness: env.cfg.lateness, Logger: env.logger, Registerer: env.reg,
	})
	if err != nil {
		return nil, err
	}
	env.join = s
	return func(ctx context.Context) error {
		err := s.Run(ctx)
		env.logger.Info("join stage stopped", "stats", fmt.Sprintf("%+v", s.Stats()))
		return err
	}, nil
}

func buildArchiveStage(ctx context.Context, env *runEnv) (func(context.Context) error, error) {
	a, err := ingest.NewArchiveStage(ingest.ArchiveConfig{
		Brokers: env.cfg.brokers, Auth: env.auth, Group: env.cfg.archiveGroup, Topic: env.cfg.topicEx,
		Bucket: env.bucket, Prefix: env.cfg.model + "/examples/", Columns: specColumns(env.sp),
		FileBytes: env.cfg.archiveFileBytes, FlushInterval: env.cfg.archiveFlush, Logger: env.logger, Registerer: env.reg,
	})
	if err != nil {
		return nil, err
	}
	env.archive = a
	return func(ctx context.Context) error {
		err := a.Run(ctx)
		env.logger.Info("archive stage stopped", "stats", fmt.Sprintf("%+v", a.Stats()))
		return err
	}, nil
}

// specColumns declares the spec's feature columns for the archive files.
func specColumns(sp *spec.Spec) []schemas.Column {
	var cols []schemas.Column
	for _, f := range sp.Features {
		switch f.Name {
		case "impression_id", "ts", "user_id", "app_id", "label", "install_ts":
			continue
		}
		k := schemas.KindString
		switch f.Type {
		case spec.Numeric:
			k = schemas.KindNumber
		case spec.CategoricalList:
			k = schemas.KindStrings
		}
		cols = append(cols, schemas.Column{Name: f.Name, Kind: k})
	}
	return cols
}

func runUsage(fs interface{ Output() io.Writer }, msg string) error {
	fmt.Fprintf(fs.Output(), "wdstream run: %s (see wdstream run --help)\n", msg)
	return errUsage
}

// ready reports whether every stage of the process is running.
func (env *runEnv) ready() bool {
	if env.train != nil && !env.train.Status().Ready {
		return false
	}
	if env.join != nil && env.join.Stats().Assigned == 0 {
		return false
	}
	return true
}
