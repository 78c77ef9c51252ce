package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/wdstream/wdstream/kafka"

	"github.com/wdstream/wdstream/continuous"
	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/serve"
	"github.com/wdstream/wdstream/simulate"
)

// demo is one run of `wdstream demo`.
type demo struct {
	f                 demoFlags
	rate              float64
	env               *runEnv
	brokers           []string
	w                 *simulate.World
	stdout            io.Writer
	specPath, logPath string
	start             time.Time
}

func (d *demo) storeDir() string { return strings.TrimPrefix(d.env.cfg.store, "file://") }

func (d *demo) header() {
	out := d.stdout
	cfg := d.w.Config()
	fmt.Fprintf(out, "wdstream demo: %s of a simulated app store (%d users, %d apps, %d impressions a simulated day, base rate %.2f) at %.0f events/s\n",
		d.f.duration, cfg.Users, cfg.Apps, cfg.ImpressionsPerDay, cfg.Truth.BaseRate, d.rate)
	fmt.Fprintf(out, "  Kafka (embedded):  %s   e.g. kcat -b %s -C -t examples -c 3\n", d.brokers[0], d.brokers[0])
	if d.env.httpAddr != nil {
		fmt.Fprintf(out, "  status page:       http://%s/   (metrics: http://%s/metrics)\n", d.env.httpAddr, d.env.httpAddr)
		fmt.Fprintf(out, "  scoring API:       POST http://%s/v1/models/%s/score   (the latest version, %d requests/s sent by the demo)\n",
			d.env.httpAddr, demoModel, demoRequestRate)
	}
	fmt.Fprintf(out, "  models (store):    %s\n", d.env.cfg.store)
	fmt.Fprintf(out, "  spec, log:         %s, %s\n", d.specPath, d.logPath)
	fmt.Fprintf(out, "  stages:            join, archive, train (a candidate every %s, gated on %d fresh examples); Ctrl-C stops early\n\n", d.f.every, d.f.fresh)
}

// simulate streams the world into the broker at the demo's rate, through
// `wdstream simulate --brokers`'s code path, until ctx is done.
func (d *demo) simulate(ctx context.Context) error {
	kf := &kafkaSimFlags{
		brokers: strings.Join(d.brokers, ","), rate: fmt.Sprint(d.rate), partitions: d.f.partitions,
		impTopic: ingest.DefaultImpressionsTopic, insTopic: ingest.DefaultInstallsTopic,
	}
	err := kf.run(ctx, d.w, io.Discard, io.Discard)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// isTerminal reports whether w is a terminal (live progress rewrites one
// line there; elsewhere a line is printed every 10s).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// display shows live progress until ctx is done: events/s, the join's lag,
// examples, progressive AUC, and each gate outcome as it happens.
func (d *demo) display(ctx context.Context) {
	tty := isTerminal(d.stdout)
	every := 2 * time.Second
	if !tty {
		every = 10 * time.Second
	}
	client := kafka.NewClient(d.brokers, kafka.Auth{})
	defer client.Close()
	tick := time.NewTicker(every)
	defer tick.Stop()
	seen := 0
	lastAt, lastIn := time.Now(), int64(0)
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprint(d.stdout, "\r\033[K")
			}
			d.printPublishes(&seen, false)
			fmt.Fprintf(d.stdout, "[%s] stopping: draining the stages, writing a last checkpoint\n", d.elapsed())
			return
		case <-tick.C:
		}
		js := d.env.join.Stats()
		ts := d.printPublishes(&seen, tty)
		now := time.Now()
		in := js.Impressions + js.Installs
		rate := float64(in-lastIn) / now.Sub(lastAt).Seconds()
		lastAt, lastIn = now, in
		lag := "?"
		lctx, cancel := context.WithTimeout(ctx, time.Second)
		if n, err := client.Lag(lctx, d.env.cfg.group, d.env.cfg.topicImps, d.env.cfg.topicIns); err == nil {
			lag = fmt.Sprint(n)
		}
		cancel()
		prog := "progressive AUC -"
		if ts.Progressive.Count > 0 {
			prog = fmt.Sprintf("progressive AUC %.4f (log loss %.4f)", ts.Progressive.AUC, ts.Progressive.LogLoss)
		}
		line := fmt.Sprintf("[%s] %5.0f events/s  join lag %s  examples %d joined, %d trained  %s  versions %d",
			d.elapsed(), rate, lag, js.Examples, ts.Examples, prog, countPublished(ts.Publishes))
		if d.env.serve != nil {
			if sv := d.env.serve.Stats(); sv.Requests > 0 {
				line += fmt.Sprintf("  served %d requests (p99 %.1f ms)", sv.Requests, float64(sv.P99)/1e6)
			}
		}
		if tty {
			fmt.Fprint(d.stdout, "\r\033[K"+line)
		} else {
			fmt.Fprintln(d.stdout, line)
		}
	}
}

// printPublishes prints the gate outcomes after the first *seen, counts
// them in *seen, and returns the train stage's status.
func (d *demo) printPublishes(seen *int, tty bool) continuous.Status {
	ts := d.env.train.Status()
	for _, ev := range ts.Publishes[min(*seen, len(ts.Publishes)):] {
		if tty {
			fmt.Fprint(d.stdout, "\r\033[K")
		}
		fmt.Fprintln(d.stdout, publishLine(d.start, ev))
	}
	*seen = len(ts.Publishes)
	return ts
}

func (d *demo) elapsed() string {
	e := time.Since(d.start).Truncate(time.Second)
	return fmt.Sprintf("%d:%02d", int(e.Minutes()), int(e.Seconds())%60)
}

func countPublished(evs []continuous.PublishEvent) int {
	n := 0
	for _, e := range evs {
		if e.Published {
			n++
		}
	}
	return n
}

// publishLine is one gate outcome for the terminal.
func publishLine(start time.Time, ev continuous.PublishEvent) string {
	e := ev.Time.Sub(start).Truncate(time.Second)
	at := fmt.Sprintf("%d:%02d", int(e.Minutes()), int(e.Seconds())%60)
	what := "rejected"
	if ev.Published {
		what = "published"
	}
	if ev.Version == "" {
		return fmt.Sprintf("[%s] candidate not evaluated: %s", at, ev.Verdict)
	}
	return fmt.Sprintf("[%s] %s %s@%s after %d examples: gate AUC %.4f, log loss %.4f (%s)",
		at, what, demoModel, ev.Version, ev.Examples, ev.AUC, ev.LogLoss, ev.Verdict)
}

// The demo's trickle of score requests: demoRequestRate requests a second,
// each the next demoCandidates impressions of the simulated world.
const (
	demoRequestRate = 5
	demoCandidates  = 20
)

// request sends score requests to the demo's own scoring API until ctx is
// done, as a client of the serving fleet would: the candidates are the
// impressions of another run of the same world (one user's columns, each
// app's own). Answers before the first version is published are 503 and
// are not counted as served.
func (d *demo) request(ctx context.Context) {
	if d.env.httpAddr == nil || d.env.serve == nil {
		return
	}
	w, err := simulate.NewWorld(d.w.Config())
	if err != nil {
		return
	}
	url := fmt.Sprintf("http://%s/v1/models/%s/score", d.env.httpAddr, demoModel)
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(time.Second / demoRequestRate)
	defer tick.Stop()
	var batch []schemas.Impression
	_, _ = w.Run(ctx, func(ev simulate.Event) error {
		if ev.Impression == nil {
			return nil
		}
		batch = append(batch, *ev.Impression)
		if len(batch) < demoCandidates {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		req := serve.Request{UserID: batch[0].UserID, TS: time.Now().UnixMilli()}
		for i := range batch {
			req.Candidates = append(req.Candidates, serve.CandidateOf(&batch[i]))
		}
		batch = batch[:0]
		body, err := json.Marshal(req)
		if err != nil {
			return err
		}
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		hreq.Header.Set("Content-Type", "application/json")
		if resp, err := client.Do(hreq); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		return nil
	})
}
