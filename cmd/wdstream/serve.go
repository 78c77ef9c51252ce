package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/serve"
	"github.com/wdstream/wdstream/trainer"
)

func serveCommand() command {
	return command{
		name:    "serve",
		summary: "score candidates online with the version LATEST names, following LATEST",
		run:     runServe,
	}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "--store URL --model NAME --http ADDR [flags]", stderr)
	storeURL := fs.String("store", "", "model store URL (required)")
	model := fs.String("model", "", "model name (required)")
	addr := fs.String("http", "", "address of the HTTP port: POST /v1/models/NAME/score, /metrics, /healthz, /readyz (required, e.g. 127.0.0.1:8080)")
	var cfg serve.Config
	fs.IntVar(&cfg.Workers, "workers", 0, "goroutines scoring chunks (0: GOMAXPROCS)")
	fs.IntVar(&cfg.Split, "split", 1, "chunks a request's candidates are cut into, scored in parallel")
	fs.IntVar(&cfg.Queue, "queue", 0, "chunks that may wait for a worker (0: 64 x workers); a request that does not fit is answered 503")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "deadline of one request (0: 1s)")
	fs.Int64Var(&cfg.MaxBody, "max-body", 0, "largest request body in bytes (0: 4 MiB)")
	fs.IntVar(&cfg.MaxCandidates, "max-candidates", 0, "most candidates in one request (0: 10000)")
	fs.DurationVar(&cfg.Poll, "poll", 0, "how often LATEST is read (0: 10s)")
	brokers := fs.String("brokers", "", "comma-separated Kafka bootstrap brokers host:port (for --model-events and --log-impressions)")
	kauth := kafkaAuthFlags{kafkaPassEnv: "WDSTREAM_KAFKA_PASSWORD"}
	kauth.add(fs)
	var events serveEventFlags
	events.add(fs)
	var impFlags serveImpressionFlags
	impFlags.add(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *storeURL == "" || *model == "" || *addr == "" {
		return flagError(fs, "--store, --model and --http are required")
	}
	if err := checkModelName(*model); err != nil {
		return flagError(fs, "--model: "+err.Error())
	}
	auth, err := kauth.auth()
	if err != nil {
		return flagError(fs, err.Error())
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// Scoring is parallel across requests and chunks (--workers,
	// --split): each chunk's products run on one BLAS thread, as the
	// paper's Table 2 splits a batch over threads, rather than on
	// OpenBLAS's own threads, which would contend with the other workers
	// and the HTTP goroutines (no effect in the pure Go build).
	trainer.SetBLASThreads(1)
	store, err := publisher.OpenStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	reg := newRegistry()
	cfg.Store, cfg.Model, cfg.Logger, cfg.Registerer = store, *model, logger, reg
	impressions, err := impFlags.sink(splitComma(*brokers), auth, logger, reg)
	if err != nil {
		return flagError(fs, err.Error())
	}
	if impressions != nil {
		cfg.Impressions = impressions
	}
	srv, err := serve.New(cfg)
	if err != nil {
		return flagError(fs, err.Error())
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", srv.Handler())
	var heard sync.WaitGroup // hearing of publishes: until serve returns
	defer heard.Wait()
	ectx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	if err := events.start(ectx, srv, splitComma(*brokers), auth, mux, &heard); err != nil {
		return flagError(fs, err.Error())
	}
	runHTTP, bound, err := serveHTTP(*addr, reg, srv.Ready, mux)
	if err != nil {
		return fmt.Errorf("--http %s: %w", *addr, err)
	}
	logger.Info("HTTP port open", "addr", bound.String(), "model", *model)
	// The workers outlive the HTTP port: a SIGTERM drains the requests in
	// flight first, then stops scoring.
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = srv.Run(wctx)
	}()
	if impressions != nil { // drains its queue once the HTTP port has
		wg.Go(func() { _ = impressions.Run(wctx) })
	}
	err = runHTTP(ctx)
	stopWorkers()
	wg.Wait()
	logger.Info("serve stopped", "model", *model, "version", srv.Version())
	return err
}
