package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/simulate"
)

// demoCommand runs the whole service on this machine with nothing but Go:
// an in-process Kafka-protocol broker, a file:// store, the simulator
// streaming into the broker, and every stage of `wdstream run`.
func demoCommand() command {
	return command{
		name:    "demo",
		summary: "see it work: an embedded Kafka broker, a file:// store, the simulator and every stage of run, then a summary",
		run:     runDemo,
	}
}

// demoModel is the model name the demo publishes under.
const demoModel = "demo"

type demoFlags struct {
	duration, every   time.Duration
	dir, http, rate   string
	kafkaPort         int
	partitions, fresh int
	users, apps       int
	perDay, days      int
	seed              uint64
	baseRate          float64
	alpha, lr         float64
	workers           int
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := demoFlags{}
	fs := newFlagSet("demo", "[--duration 3m] [flags]", stderr)
	fs.DurationVar(&f.duration, "duration", 3*time.Minute, "run this long, then stop and print the summary (Ctrl-C stops it early, with the same summary)")
	fs.StringVar(&f.dir, "dir", "", "folder for the store (DIR/store), the spec and the log (default: a new folder under the system's temp dir)")
	fs.StringVar(&f.http, "http", "127.0.0.1:8080", "address of the status page and /metrics (the next free port when taken)")
	fs.IntVar(&f.kafkaPort, "kafka-port", 0, "port of the embedded Kafka broker on 127.0.0.1 (0: any free port)")
	fs.StringVar(&f.rate, "rate", "8000/s", "events per second the simulator streams")
	fs.IntVar(&f.partitions, "partitions", 4, "partitions of the topics")
	fs.DurationVar(&f.every, "publish-every", 30*time.Second, "publish.every of the demo's spec: time between candidates")
	fs.IntVar(&f.fresh, "fresh", 10000, "validation.examples of the demo's spec: fresh examples each gate evaluates on")
	fs.IntVar(&f.users, "users", 2000, "users in the simulated world")
	fs.IntVar(&f.apps, "apps", 100, "apps in the simulated world's catalog")
	fs.IntVar(&f.perDay, "impressions-per-day", 100000, "impressions per simulated day (with --rate: how fast the simulated clock runs)")
	fs.IntVar(&f.days, "days", 30, "simulated days (the world's tastes drift over them)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the simulated world")
	fs.Float64Var(&f.baseRate, "base-rate", 0.10, "mean install probability of an impression in the simulated world")
	fs.Float64Var(&f.alpha, "ftrl-alpha", 0.1, "model.ftrl.alpha of the demo's spec")
	fs.Float64Var(&f.lr, "learning-rate", 0.1, "model.adagrad.learning_rate of the demo's spec")
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "training threads")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rate, err := parseRate(f.rate)
	switch {
	case err != nil:
		return flagError(fs, err.Error())
	case f.duration <= 0:
		return flagError(fs, "--duration must be positive")
	case f.partitions < 1 || f.fresh < 1 || f.users < 1 || f.apps < 10 || f.perDay < 1 || f.days < 1:
		return flagError(fs, "--partitions, --fresh, --users, --impressions-per-day and --days must be positive, --apps at least 10")
	case f.every <= 0:
		return flagError(fs, "--publish-every must be positive")
	}

	// The folder: store, spec, log.
	if f.dir == "" {
		if f.dir, err = os.MkdirTemp("", "wdstream-demo-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return err
	}
	if f.dir, err = filepath.Abs(f.dir); err != nil {
		return err
	}
	sp, specYAML, err := demoSpec(f.every, f.fresh, f.alpha, f.lr)
	if err != nil {
		return fmt.Errorf("the demo's spec: %w", err)
	}
	specPath := filepath.Join(f.dir, "spec.yaml")
	if err := os.WriteFile(specPath, specYAML, 0o644); err != nil {
		return err
	}
	logPath := filepath.Join(f.dir, "wdstream.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))

	// The embedded broker.
	kopts := []kfake.Opt{kfake.NumBrokers(1)}
	if f.kafkaPort > 0 {
		kopts = append(kopts, kfake.Ports(f.kafkaPort))
	}
	cluster, err := kfake.NewCluster(kopts...)
	if err != nil {
		return fmt.Errorf("starting the embedded Kafka broker: %w", err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	// The world: its event times start now, so that they are live for the
	// join (see demoWorld).
	w, err := simulate.NewWorld(demoWorld(f, time.Now()))
	if err != nil {
		return err
	}
	// The topics exist before the join stage looks for them.
	if err := kafka.NewClient(brokers, kafka.Auth{}).EnsureTopics(ctx, f.partitions, ingest.DefaultImpressionsTopic, ingest.DefaultInstallsTopic); err != nil {
		return fmt.Errorf("creating the topics: %w", err)
	}

	rc := defaultRunConfig()
	rc.brokers = brokers
	rc.store = "file://" + filepath.ToSlash(filepath.Join(f.dir, "store"))
	rc.model = demoModel
	rc.specPath = specPath
	rc.archiveFlush = 30 * time.Second
	rc.svc.checkpointEvery = 30 * time.Second
	rc.svc.workers = f.workers
	rc.svc.http = freeAddr(f.http)
	rc.bootstrap = 5000
	rc.progressiveWindow = 20000
	rc.servePoll = 2 * time.Second
	if err := os.MkdirAll(filepath.Join(f.dir, "store"), 0o755); err != nil {
		return err
	}
	env, err := startRun(ctx, &rc, sp, logger)
	if err != nil {
		return err
	}
	defer env.close()

	d := &demo{f: f, rate: rate, env: env, brokers: brokers, w: w, stdout: stdout, specPath: specPath, logPath: logPath, start: time.Now()}
	d.header()
	runCtx, stop := context.WithTimeout(ctx, f.duration)
	defer stop()
	simDone := make(chan error, 1)
	go func() { simDone <- d.simulate(runCtx) }()
	dispDone := make(chan struct{})
	go func() { d.display(runCtx); close(dispDone) }()
	reqDone := make(chan struct{})
	go func() { d.request(runCtx); close(reqDone) }()
	runErr := env.run(runCtx)
	stop()
	simErr := <-simDone
	<-dispDone
	<-reqDone
	if runErr != nil {
		return runErr
	}
	if simErr != nil && !errors.Is(simErr, context.Canceled) && !errors.Is(simErr, context.DeadlineExceeded) {
		return fmt.Errorf("simulator: %w", simErr)
	}
	// The summary reads the broker and the store: a fresh deadline, as
	// ctx may be cancelled (Ctrl-C).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	return d.summary(sctx, ctx.Err() != nil)
}

// demoWorld sizes the simulated world. Its first day starts at now: the
// simulator streams in event-time order faster than real time, so event
// times run ahead of the wall clock. The join merges by event time and
// only uses the wall clock for inputs that have been quiet for
// join.idle_advance (ingest's "Order and watermark"): with historical
// event times, such a pause would close every pending impression at once
// and later installs would count as late; with event times at or after
// now that rule never fires, and the labels are the simulator's own (the
// ingest tests shift event times the same way).
func demoWorld(f demoFlags, now time.Time) simulate.Config {
	t := simulate.DefaultTruth()
	t.BaseRate = f.baseRate
	return simulate.Config{
		Seed: f.seed, Users: f.users, Apps: f.apps, NewAppsPerDay: max(f.apps/50, 1), Days: f.days,
		ImpressionsPerDay: f.perDay, Start: now.Truncate(time.Second), Truth: &t,
	}
}

// freeAddr returns addr when it can be listened on, else the same host
// with any free port.
func freeAddr(addr string) string {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return addr
	}
	host, _, serr := net.SplitHostPort(addr)
	if serr != nil {
		return addr
	}
	return net.JoinHostPort(host, "0")
}
