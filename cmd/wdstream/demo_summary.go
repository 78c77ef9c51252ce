package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wdstream/wdstream/kafka"

	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/simulate"
	"github.com/wdstream/wdstream/trainer"
	"github.com/wdstream/wdstream/trainer/metrics"
)

// demoResult is what the summary reports.
type demoResult struct {
	Events, Examples, Trained int64
	Published, Passed         int
	Rejected                  int
	Latest                    string
	GateAUC                   float64
	EvalN, EvalPos            int
	AUC, LogLoss, Oracle      float64
	Fraction                  float64
}

// summary prints the table the demo ends with.
func (d *demo) summary(ctx context.Context, interrupted bool) error {
	r, err := d.result(ctx)
	out := d.stdout
	how := "--duration reached"
	if interrupted {
		how = "interrupted"
	}
	fmt.Fprintf(out, "\nwdstream demo: summary after %s (%s)\n", time.Since(d.start).Truncate(time.Second), how)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, v) }
	row("events (impressions + installs in Kafka)", fmt.Sprint(r.Events))
	row("examples (joined / trained)", fmt.Sprintf("%d / %d", r.Examples, r.Trained))
	row("versions published (passed the gate)", fmt.Sprintf("%d (%d), %d rejected", r.Published, r.Passed, r.Rejected))
	if r.Latest != "" {
		row("latest version", demoModel+"@"+r.Latest)
		row("  its gate AUC (fresh set at publish)", fmt.Sprintf("%.4f", r.GateAUC))
		if r.EvalN > 0 {
			row("  its AUC on held-out recent examples", fmt.Sprintf("%.4f (log loss %.4f)", r.AUC, r.LogLoss))
			row("  oracle AUC (true_p) on the same examples", fmt.Sprintf("%.4f", r.Oracle))
			row("  (AUC - 0.5) / (oracle - 0.5)", fmt.Sprintf("%.3f", r.Fraction))
		}
	}
	if d.env.serve != nil {
		sv := d.env.serve.Stats()
		row("served (scoring API)", fmt.Sprintf("%d requests, %d candidates; latency p50 %.1f ms, p99 %.1f ms; %d versions loaded, last %s",
			sv.Requests, sv.Candidates, float64(sv.P50)/1e6, float64(sv.P99)/1e6, sv.Reloads, cmp.Or(sv.Version, "none")))
	}
	row("models", d.storeDir()+"/"+demoModel+"/versions/")
	row("archived examples (Parquet)", d.storeDir()+"/"+demoModel+"/examples/")
	tw.Flush()
	if r.EvalN > 0 {
		fmt.Fprintf(out, "  Held-out recent examples: the %d examples (%d positive) of the examples topic after the offsets\n"+
			"  the latest version's manifest records (the gate's fresh set and everything later), none of which\n"+
			"  it trained on. The oracle AUC ranks the same examples by the simulator's true install probability\n"+
			"  (the true_p column, never a feature) against the same realized labels.\n", r.EvalN, r.EvalPos)
	}
	fmt.Fprintf(out, "  Inspect: go run ./cmd/wdstream models --store %s --model %s\n", d.env.cfg.store, demoModel)
	return err
}

// result gathers the figures of the summary.
func (d *demo) result(ctx context.Context) (demoResult, error) {
	var r demoResult
	var errs []error
	client := kafka.NewClient(d.brokers, kafka.Auth{})
	defer client.Close()
	for _, t := range []string{d.env.cfg.topicImps, d.env.cfg.topicIns} {
		n, err := client.Size(ctx, t)
		errs = append(errs, err)
		r.Events += n
	}
	r.Examples = d.env.join.Stats().Examples
	ts := d.env.train.Status()
	r.Trained = ts.Examples
	for _, ev := range ts.Publishes {
		if ev.Version != "" && !ev.Published {
			r.Rejected++
		}
	}
	store, err := publisher.OpenStore(ctx, d.env.cfg.store)
	if err != nil {
		return r, errors.Join(append(errs, err)...)
	}
	defer store.Close()
	vs, err := store.Versions(ctx, demoModel)
	errs = append(errs, err)
	r.Published = len(vs)
	for _, v := range vs {
		if m, err := store.Manifest(ctx, demoModel, v); err == nil && m.Verdict != nil && m.Verdict.Passed {
			r.Passed++
		}
	}
	latest, err := store.Latest(ctx, demoModel)
	if errors.Is(err, publisher.ErrNoVersion) {
		return r, errors.Join(errs...)
	}
	if err != nil {
		return r, errors.Join(append(errs, err)...)
	}
	r.Latest = latest
	b, man, err := publisher.Load(ctx, store, demoModel, latest)
	if err != nil {
		return r, errors.Join(append(errs, err)...)
	}
	if man.Verdict != nil && man.Verdict.Candidate != nil {
		r.GateAUC = man.Verdict.Candidate.AUC
	}
	start := map[int]int64{}
	for k, off := range man.Data.Offsets {
		if rest, ok := strings.CutPrefix(k, d.env.cfg.topicEx+"/"); ok {
			if p, err := strconv.Atoi(rest); err == nil {
				start[p] = off
			}
		}
	}
	exs, err := readExamplesFrom(ctx, d.brokers, d.env.cfg.topicEx, start)
	if err != nil {
		return r, errors.Join(append(errs, err)...)
	}
	if len(exs) == 0 {
		return r, errors.Join(errs...)
	}
	m, _, err := trainer.NewTrainer(b.Model, d.f.workers).Evaluate(b.State, exs)
	if err != nil {
		return r, errors.Join(append(errs, err)...)
	}
	trueP := make([]float64, len(exs))
	labels := make([]float64, len(exs))
	for i := range exs {
		trueP[i] = exs[i].Features[simulate.ColTrueP].Num
		labels[i] = float64(exs[i].Label)
	}
	oracle, err := metrics.AUC(trueP, labels)
	if err != nil {
		return r, errors.Join(append(errs, fmt.Errorf("oracle AUC: %w", err))...)
	}
	r.EvalN, r.EvalPos, r.AUC, r.LogLoss, r.Oracle = m.Count, m.Positives, m.AUC, m.LogLoss, oracle
	if oracle > 0.5 {
		r.Fraction = (m.AUC - 0.5) / (oracle - 0.5)
	}
	return r, errors.Join(errs...)
}

// readExamplesFrom reads the examples of topic from the given offsets (a
// partition not named: from its start) to the current end.
func readExamplesFrom(ctx context.Context, brokers []string, topic string, start map[int]int64) ([]schemas.Example, error) {
	c := kafka.NewClient(brokers, kafka.Auth{})
	defer c.Close()
	offs, err := c.Offsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	left := 0
	from := map[int]int64{}
	ends := map[int]int64{}
	for _, o := range offs {
		s, ok := start[o.Partition]
		if !ok || s < o.First {
			s = o.First
		}
		from[o.Partition], ends[o.Partition] = s, o.End
		if s < o.End {
			left++
		}
	}
	if left == 0 {
		return nil, nil
	}
	src, err := kafka.OpenSource(ctx, kafka.SourceConfig{Brokers: brokers, Topic: topic, Start: from})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dec := &schemas.Decoder{}
	var exs []schemas.Example
	done := map[int]bool{}
	for left > 0 {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("reading %s: %w", topic, ctx.Err())
		case err := <-src.Err():
			return nil, err
		case rec := <-src.Records():
			if rec.Offset >= ends[rec.Partition] {
				continue
			}
			var ex schemas.Example
			if err := dec.Example(rec.Value, &ex); err == nil {
				exs = append(exs, ex)
			}
			if rec.Offset == ends[rec.Partition]-1 && !done[rec.Partition] {
				done[rec.Partition] = true
				left--
			}
		}
	}
	return exs, nil
}
