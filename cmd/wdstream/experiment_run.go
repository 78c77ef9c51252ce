package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/wdstream/wdstream/experiment"
	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/serve"
	"github.com/wdstream/wdstream/simulate"
)

// experimentRun is one run of `wdstream experiment`.
type experimentRun struct {
	f       experimentFlags
	arms    []armSpec
	brokers []string
	logger  *slog.Logger
	stdout  io.Writer
	stderr  io.Writer
	logPath string

	live    *simulate.Live
	heldout []schemas.Example
	lines   []*armLine
	exp     *experiment.Experiment
	start   time.Time
}

// armLine is one arm's model line: its join and train stages and its
// server (a runEnv like `wdstream run`'s, with the demo's serving), and
// the producer of its users' installs.
type armLine struct {
	armSpec
	topics  string // PREFIX.NAME
	env     *runEnv
	prod    *ingest.EventProducer
	url     string
	client  *http.Client
	cancel  context.CancelFunc
	runDone chan error
}

func (x *experimentRun) run(ctx context.Context) error {
	x.start = time.Now()
	liveStart := x.start.Truncate(time.Second)
	w, err := simulate.NewWorld(experimentWorld(x.f, liveStart))
	if err != nil {
		return err
	}
	fmt.Fprintf(x.stdout, "wdstream experiment: %d arms (control %s), %d users, %d apps%s, seed %d; log %s\n",
		len(x.arms), x.arms[0].name, x.f.users, x.f.apps, map[bool]string{true: ", latent tastes"}[x.f.latent], x.f.seed, x.logPath)
	preDir := filepath.Join(x.f.dir, "pre")
	if err := x.prePeriod(ctx, w, preDir); err != nil {
		return fmt.Errorf("the pre-period: %w", err)
	}
	for _, a := range x.arms {
		t0 := time.Now()
		if err := x.backfill(ctx, a, preDir); err != nil {
			return fmt.Errorf("arm %s: the start model: %w", a.name, err)
		}
		fmt.Fprintf(x.stdout, "[%s] arm %s: start model trained on the pre-period (%s, %.1fs)\n", x.elapsed(), a.name, a.specPath, time.Since(t0).Seconds())
	}
	defer x.stopLines()
	for _, a := range x.arms {
		l, err := x.startLine(ctx, a)
		if err != nil {
			return fmt.Errorf("arm %s: %w", a.name, err)
		}
		x.lines = append(x.lines, l)
	}
	if err := x.waitServing(ctx); err != nil {
		return err
	}

	cfg := experiment.Config{
		Live: x.live, Paired: x.f.paired, Salt: x.f.salt, Start: liveStart.UnixMilli(), Rate: x.f.rate, Speed: x.f.speed,
		Candidates: x.f.candidates, Shown: x.f.shown, Requests: x.f.requests, MinImpressions: x.f.minImpressions,
	}
	if x.f.paired {
		// Each arm's users in a world of their own: the same replay of
		// the pre-period, so the same users, requests and dice.
		cfg.Lives = []*simulate.Live{x.live}
		for range x.arms[1:] {
			l, _, err := w.RunLive(ctx, x.f.preDays+1, func(simulate.Event) error { return nil })
			if err != nil {
				return err
			}
			cfg.Lives = append(cfg.Lives, l)
		}
	}
	if cfg.MinImpressions == 0 {
		cfg.MinImpressions = 1 // experiment.Config's 0 is its default: the flag's 0 is none
	}
	for _, l := range x.lines {
		cfg.Arms = append(cfg.Arms, experiment.Arm{Name: l.name, Score: l.score, Installs: l.installs})
	}
	if x.exp, err = experiment.New(cfg); err != nil {
		return err
	}
	window := x.arms[0].sp.Join.LabelWindow.D()
	split := "users split by a hash of user_id"
	if x.f.paired {
		split = "every request to every arm (paired)"
	}
	fmt.Fprintf(x.stdout, "[%s] traffic: %.0f requests/s of %d candidates, top %d shown, %s, for %s (fixed horizon%s); the label window (%s) passes in %.1fs of wall time\n",
		x.elapsed(), x.f.rate, x.f.candidates, x.f.shown, split, x.f.duration, map[bool]string{true: fmt.Sprintf(" or %d requests", x.f.requests)}[x.f.requests > 0],
		window, window.Seconds()/x.f.speed)
	for _, l := range x.lines {
		fmt.Fprintf(x.stdout, "  arm %-12s status page http://%s/   topics %s.*\n", l.name, l.env.httpAddr, l.topics)
	}
	if x.f.http != "" {
		addr, closePage, err := x.startPage()
		if err != nil {
			return err
		}
		defer closePage()
		fmt.Fprintf(x.stdout, "  live page        http://%s/   (JSON: ?format=json)\n", addr)
	}
	runCtx, stop := context.WithTimeout(ctx, x.f.duration)
	defer stop()
	dispDone := make(chan struct{})
	go func() { x.display(runCtx); close(dispDone) }()
	runErr := x.exp.Run(runCtx)
	stop()
	<-dispDone
	if runErr != nil {
		return runErr
	}
	// The report reads the store: a fresh deadline, as ctx may be
	// cancelled (Ctrl-C).
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	x.haltLines()
	rep := x.report(rctx)
	x.stopLines()
	return x.print(rep)
}

func (x *experimentRun) elapsed() string {
	e := time.Since(x.start).Truncate(time.Second)
	return fmt.Sprintf("%d:%02d", int(e.Minutes()), int(e.Seconds())%60)
}

// startPage serves the experiment's live page on --http.
func (x *experimentRun) startPage() (string, func(), error) {
	ln, err := net.Listen("tcp", freeAddr(x.f.http))
	if err != nil {
		return "", nil, fmt.Errorf("--http %s: %w", x.f.http, err)
	}
	lines := slices.Clone(x.lines)
	status := func() []experiment.LineStatus {
		var out []experiment.LineStatus
		for _, l := range lines {
			st := l.status()
			out = append(out, experiment.LineStatus{Name: l.name, StatusURL: "http://" + l.env.httpAddr.String() + "/",
				Published: st.Published, Rejected: st.Rejected, Serving: l.env.serve.Version(), Examples: st.Examples, Positives: st.Positives})
		}
		return out
	}
	mux := http.NewServeMux()
	mux.Handle("/{$}", experiment.NewPage(x.exp, status))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// prePeriod replays the world's pre-period and the held-out day after it:
// the pre-period's impressions and every install go to Parquet files in
// dir (the arms' backfills join them), the held-out day's impressions are
// joined with the control's label window into the examples every arm's
// offline AUC is measured on (also written to DIR/heldout.parquet, for
// `wdstream eval`).
func (x *experimentRun) prePeriod(ctx context.Context, w *simulate.World, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	impFile, err := os.Create(filepath.Join(dir, "impressions.parquet"))
	if err != nil {
		return err
	}
	defer impFile.Close()
	iw, err := schemas.NewImpressionWriter(impFile, simulate.ImpressionColumns())
	if err != nil {
		return err
	}
	heldFrom := w.Start() + int64(x.f.preDays)*24*3600*1000
	var held []schemas.Impression
	var installs []schemas.Install
	live, rep, err := w.RunLive(ctx, x.f.preDays+1, func(ev simulate.Event) error {
		switch {
		case ev.Install != nil:
			installs = append(installs, *ev.Install)
		case ev.Impression.TS >= heldFrom:
			held = append(held, *ev.Impression)
		default:
			return iw.Write(ev.Impression)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := iw.Close(); err != nil {
		return err
	}
	if err := impFile.Close(); err != nil {
		return err
	}
	x.live = live
	insFile, err := os.Create(filepath.Join(dir, "installs.parquet"))
	if err != nil {
		return err
	}
	defer insFile.Close()
	inw, err := schemas.NewInstallWriter(insFile)
	if err != nil {
		return err
	}
	for i := range installs {
		if err := inw.Write(&installs[i]); err != nil {
			return err
		}
	}
	if err := errors.Join(inw.Close(), insFile.Close()); err != nil {
		return err
	}
	exs, _, err := join.Offline(held, installs, x.arms[0].sp.Join.LabelWindow.D())
	if err != nil {
		return err
	}
	x.heldout = exs
	if err := writeExamplesFile(filepath.Join(x.f.dir, "heldout.parquet"), exs); err != nil {
		return err
	}
	fmt.Fprintf(x.stdout, "[%s] pre-period: %d days, %d impressions, %d installs; held-out day: %d examples\n",
		x.elapsed(), x.f.preDays, rep.Impressions-len(held), len(installs), len(exs))
	return nil
}

// writeExamplesFile writes exs to a Parquet file at path.
func writeExamplesFile(path string, exs []schemas.Example) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := schemas.NewExampleWriter(f, featureColumns(exs))
	if err != nil {
		return err
	}
	for i := range exs {
		if err := w.Write(&exs[i]); err != nil {
			return err
		}
	}
	return errors.Join(w.Close(), f.Close())
}

// backfill trains the arm's start model on the pre-period and publishes it
// under the arm's name: `wdstream backfill` itself, its output in the log.
func (x *experimentRun) backfill(ctx context.Context, a armSpec, preDir string) error {
	args := []string{"--spec", a.specPath, "--store", x.f.store, "--model", a.name, "--warm-start", "none",
		"--impressions", filepath.Join(preDir, "impressions.parquet"), "--installs", filepath.Join(preDir, "installs.parquet"),
		"--workers", fmt.Sprint(max(x.f.workers, 2))}
	out := &bytes.Buffer{}
	err := runBackfill(ctx, args, out, out)
	x.logger.Info("backfill of the start model", "arm", a.name, "output", out.String())
	if err != nil {
		return fmt.Errorf("%w (backfill said: %s)", err, lastLines(out.String(), 3))
	}
	return nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	return string(bytes.Join(lines[max(len(lines)-n, 0):], []byte(" | ")))
}

// startLine starts the arm's model line: its topics, the join and train
// stages of `wdstream run` on them (the train stage warm-starts from the
// start model LATEST names), and the arm's server, which follows LATEST
// and logs the impressions it serves (the top --shown) to the arm's
// impressions topic.
func (x *experimentRun) startLine(ctx context.Context, a armSpec) (*armLine, error) {
	l := &armLine{armSpec: a, topics: x.f.topicPrefix + "." + a.name, client: &http.Client{Timeout: 10 * time.Second}}
	var err error
	l.prod, err = ingest.NewEventProducer(ctx, x.brokers, kafka.Auth{}, l.topics+".impressions", l.topics+".installs", x.f.partitions)
	if err != nil {
		return nil, fmt.Errorf("creating the topics: %w", err)
	}
	logger := x.logger.With("arm", a.name)
	sink, err := serve.NewKafkaImpressions(serve.KafkaImpressionsConfig{
		Brokers: x.brokers, Topic: l.topics + ".impressions", Shown: x.f.shown, Logger: logger.With("component", "impressions"),
	})
	if err != nil {
		return nil, err
	}
	rc := defaultRunConfig()
	rc.brokers, rc.store, rc.model, rc.specPath = x.brokers, x.f.store, a.name, a.specPath
	rc.stages = []string{"join", "train"}
	rc.group = l.topics + ".join"
	rc.topicImps, rc.topicIns, rc.topicEx, rc.dlq = l.topics+".impressions", l.topics+".installs", l.topics+".examples", l.topics+".dlq"
	rc.svc.trainGroup = l.topics + ".train"
	rc.svc.workers = x.f.workers
	rc.svc.http = "127.0.0.1:0"
	rc.svc.checkpointEvery = 30 * time.Second
	rc.svc.freshWait = time.Minute
	rc.shutdown = 20 * time.Second
	rc.servePoll = x.f.poll
	rc.serveSink = sink
	l.env, err = startRun(ctx, &rc, a.sp, logger)
	if err != nil {
		return nil, err
	}
	l.url = fmt.Sprintf("http://%s/v1/models/%s/score", l.env.httpAddr, a.name)
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	l.runDone = make(chan error, 1)
	go func() { l.runDone <- l.env.run(lctx) }()
	return l, nil
}

// waitServing waits until every arm's server has loaded its start model.
func (x *experimentRun) waitServing(ctx context.Context) error {
	deadline := time.Now().Add(2 * time.Minute)
	for _, l := range x.lines {
		for !l.env.serve.Ready() {
			select {
			case err := <-l.runDone:
				l.runDone <- err
				return fmt.Errorf("arm %s stopped before serving: %v", l.name, err)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("arm %s: no model served after 2 minutes (see %s)", l.name, x.logPath)
			}
		}
	}
	return nil
}

// haltLines stops every arm's line: its stages drain (the join emits what
// its watermark allows, the train stage writes a last checkpoint) and its
// server stops; a second call does nothing.
func (x *experimentRun) haltLines() {
	for _, l := range x.lines {
		l.cancel()
	}
	for _, l := range x.lines {
		if l.runDone == nil {
			continue
		}
		if err := <-l.runDone; err != nil {
			x.logger.Warn("arm stopped with an error", "arm", l.name, "err", err)
		}
		l.runDone = nil
	}
}

// stopLines halts the lines and releases what they opened.
func (x *experimentRun) stopLines() {
	x.haltLines()
	for _, l := range x.lines {
		l.env.close()
	}
	x.lines = nil
}

// score sends req to the arm's scoring API.
func (l *armLine) score(ctx context.Context, req *serve.Request) (*serve.Response, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var out serve.Response
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decoding the answer: %w", err)
	}
	return &out, nil
}

// installs produces installs to the arm's installs topic.
func (l *armLine) installs(ctx context.Context, ins []schemas.Install) error {
	for i := range ins {
		l.prod.Install(&ins[i])
	}
	return l.prod.Flush(ctx)
}
