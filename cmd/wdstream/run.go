package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// stores
	_ "gocloud.dev/blob/s3blob"   // s3:// stores

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wdstream/wdstream/continuous"
	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// runCommand is the always-on service.
func runCommand() command {
	return command{
		name:    "run",
		summary: "run the always-on service: join live impressions and installs, archive the examples",
		run:     runRun,
	}
}

type runFlags struct {
	spec, brokers, store, model, stages string
	group, archiveGroup                 string
	topicImps, topicIns, topicEx, dlq   string
	archiveFileBytes                    int64
	archiveFlush, lateness              time.Duration
	logLevel                            string
	shutdown                            time.Duration
}

// runEnv is what every stage is built from.
type runEnv struct {
	f       *runFlags
	sp      *spec.Spec
	brokers []string
	bucket  *blob.Bucket
	logger  *slog.Logger
	svc     *serviceFlags
	auth    ingest.Auth
	reg     *prometheus.Registry
	join    *ingest.JoinStage
	train   *continuous.Stage
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
	f := &runFlags{}
	fs := newFlagSet("run", "--spec FILE --brokers LIST --store URL --model NAME [--stages join,archive] [flags]", stderr)
	fs.StringVar(&f.spec, "spec", "", "feature spec YAML (required; join.* sets the label window, idle advance and state cap)")
	fs.StringVar(&f.brokers, "brokers", "", "comma-separated Kafka bootstrap brokers host:port (required)")
	fs.StringVar(&f.store, "store", "", "object store URL for the archive: file:///dir, s3://bucket?region=... (required with the archive stage)")
	fs.StringVar(&f.model, "model", "", "model name: the archive writes under NAME/examples/ (required with the archive stage)")
	fs.StringVar(&f.stages, "stages", "join,archive,train", "comma-separated stages to run in this process: join, archive, train")
	fs.StringVar(&f.group, "group", ingest.DefaultJoinGroup, "consumer group of the join stage")
	fs.StringVar(&f.archiveGroup, "archive-group", ingest.DefaultArchiveGroup, "consumer group of the archive stage")
	fs.StringVar(&f.topicImps, "topic-impressions", ingest.DefaultImpressionsTopic, "impressions topic")
	fs.StringVar(&f.topicIns, "topic-installs", ingest.DefaultInstallsTopic, "installs topic")
	fs.StringVar(&f.topicEx, "topic-examples", ingest.DefaultExamplesTopic, "examples topic (created with the inputs' partition count when missing)")
	fs.StringVar(&f.dlq, "topic-dlq", ingest.DefaultDeadLetterTopic, "dead-letter topic for records that fail to decode or validate")
	fs.Int64Var(&f.archiveFileBytes, "archive-file-bytes", 128<<20, "archive Parquet file size at which a file is cut")
	fs.DurationVar(&f.archiveFlush, "archive-flush", 5*time.Minute, "an archive file open this long is cut and uploaded")
	fs.DurationVar(&f.lateness, "allowed-lateness", 0, "event-time slack subtracted from the merged stream's ts to form the join watermark")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long the stages may drain, checkpoint and commit before the process exits anyway")
	svc := &serviceFlags{}
	addServiceFlags(fs, svc)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return runUsage(fs, "--log-level "+f.logLevel+": want debug, info, warn or error")
	}
	env := &runEnv{f: f, svc: svc, reg: newRegistry(), logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	var err error
	if env.auth, err = svc.auth(); err != nil {
		return runUsage(fs, err.Error())
	}
	for _, b := range strings.Split(f.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			env.brokers = append(env.brokers, b)
		}
	}
	switch {
	case f.spec == "":
		return runUsage(fs, "--spec is required")
	case len(env.brokers) == 0:
		return runUsage(fs, "--brokers is required")
	}
	want := map[string]bool{}
	for _, s := range strings.Split(f.stages, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	var names []string
	for _, st := range runStages {
		names = append(names, st.name)
	}
	for s := range want {
		if !containsStr(names, s) {
			return runUsage(fs, fmt.Sprintf("--stages: unknown stage %q (stages: %s)", s, strings.Join(names, ", ")))
		}
	}
	if len(want) == 0 {
		return runUsage(fs, "--stages names no stage")
	}
	if (want["archive"] || want["train"]) && (f.store == "" || f.model == "") {
		return runUsage(fs, "the archive and train stages need --store and --model")
	}
	sp, err := spec.Load(f.spec)
	if err != nil {
		return err
	}
	env.sp = sp
	if f.store != "" {
		if env.bucket, err = blob.OpenBucket(ctx, f.store); err != nil {
			return fmt.Errorf("opening store %s: %w", f.store, err)
		}
		defer env.bucket.Close()
	}

	var runners []func(context.Context) error
	for _, st := range runStages {
		if !want[st.name] {
			continue
		}
		r, err := st.build(ctx, env)
		if err != nil {
			return fmt.Errorf("%s stage: %w", st.name, err)
		}
		runners = append(runners, r)
	}
	if svc.http != "" {
		mux := http.NewServeMux()
		srv, addr, err := serveHTTP(svc.http, env.reg, env.ready, mux)
		if err != nil {
			return fmt.Errorf("--http %s: %w", svc.http, err)
		}
		env.logger.Info("HTTP port open", "addr", addr.String(), "pages", "/metrics /healthz /readyz")
		runners = append(runners, srv)
	}
	env.logger.Info("wdstream run starting", "stages", f.stages, "brokers", f.brokers)
	// Every stage runs until ctx is done (SIGTERM, SIGINT), then drains;
	// the first stage that fails stops the others.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(runners))
	for i, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = r(sctx); errs[i] != nil {
				cancel()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		select {
		case <-done:
		case <-time.After(f.shutdown):
			env.logger.Error("stages did not stop within the shutdown timeout; exiting", "timeout", f.shutdown)
			return fmt.Errorf("shutdown: stages still running after %s", f.shutdown)
		}
	}
	env.logger.Info("wdstream run stopped")
	return errors.Join(errs...)
}

func buildJoinStage(ctx context.Context, env *runEnv) (func(context.Context) error, error) {
	j := env.sp.Join
	s, err := ingest.NewJoinStage(ingest.JoinConfig{
		Brokers: env.brokers, Group: env.f.group,
		Impressions: env.f.topicImps, Installs: env.f.topicIns, Examples: env.f.topicEx, DeadLetter: env.f.dlq,
		Window: j.LabelWindow.D(), IdleAdvance: j.IdleAdvance.D(), MaxPending: j.MaxPending,
		AllowedLateness: env.f.lateness, Logger: env.logger,
	})
	if err != nil {
		return nil, err
	}
	env.join = s
	registerJoinMetrics(env.reg, s.Stats)
	return func(ctx context.Context) error {
		err := s.Run(ctx)
		env.logger.Info("join stage stopped", "stats", fmt.Sprintf("%+v", s.Stats()))
		return err
	}, nil
}

func buildArchiveStage(ctx context.Context, env *runEnv) (func(context.Context) error, error) {
	a, err := ingest.NewArchiveStage(ingest.ArchiveConfig{
		Brokers: env.brokers, Group: env.f.archiveGroup, Topic: env.f.topicEx,
		Bucket: env.bucket, Prefix: env.f.model + "/examples/", Columns: specColumns(env.sp),
		FileBytes: env.f.archiveFileBytes, FlushInterval: env.f.archiveFlush, Logger: env.logger,
	})
	if err != nil {
		return nil, err
	}
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

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
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
