package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wdstream/wdstream/experiment"
)

// experimentReport is the final report of `wdstream experiment`: the
// experiment's (acquisition, gain, verdict per arm) and each model line's.
type experimentReport struct {
	experiment.Report
	Lines   []lineReport `json:"lines"`
	Heldout int          `json:"heldout_examples"`
	Seconds float64      `json:"seconds"`
}

// lineReport is what one arm's model line did.
type lineReport struct {
	Name string `json:"name"`
	Spec string `json:"spec"`
	// Published and Rejected candidates of the train stage's gate.
	Published int `json:"versions_published"`
	Rejected  int `json:"versions_rejected"`
	// Latest is the version LATEST names at the end, OfflineAUC its AUC
	// on the held-out examples (the same for every arm).
	Latest     string  `json:"latest"`
	OfflineAUC float64 `json:"offline_auc"`
	LogLoss    float64 `json:"offline_logloss"`
	// The arm's join: impressions and installs read, examples and
	// positives emitted.
	JoinImpressions int64  `json:"join_impressions"`
	JoinInstalls    int64  `json:"join_installs"`
	Examples        int64  `json:"examples"`
	Positives       int64  `json:"positives"`
	Err             string `json:"error,omitempty"`
}

// lineStatus returns the line's counts (not its offline AUC).
func (l *armLine) status() lineReport {
	r := lineReport{Name: l.name, Spec: l.specPath}
	for _, ev := range l.env.train.Status().Publishes {
		switch {
		case ev.Published:
			r.Published++
		case ev.Version != "":
			r.Rejected++
		}
	}
	js := l.env.join.Stats()
	r.JoinImpressions, r.JoinInstalls, r.Examples, r.Positives = js.Impressions, js.Installs, js.Examples, js.Positives
	return r
}

// display prints the experiment's state every 10 seconds until ctx is done.
func (x *experimentRun) display(ctx context.Context) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rep := x.exp.Report()
		var b strings.Builder
		fmt.Fprintf(&b, "[%s] %d requests", x.elapsed(), rep.Requests)
		for i, a := range rep.Arms {
			st := x.lines[i].status()
			fmt.Fprintf(&b, " | %s: %d imps, %d installs, rate %.4f [%.4f, %.4f]", a.Name, a.Rate.Impressions, a.Rate.Installs, a.Rate.Rate, a.Rate.Low, a.Rate.High)
			if a.Gain != nil {
				fmt.Fprintf(&b, " gain %+.2f%%", 100*a.Gain.Gain)
			}
			fmt.Fprintf(&b, ", %d published, serving %s", st.Published, x.lines[i].env.serve.Version())
		}
		fmt.Fprintln(x.stdout, b.String())
	}
}

// report gathers the final report: the experiment's, each line's counts,
// and each arm's latest version evaluated on the held-out examples.
func (x *experimentRun) report(ctx context.Context) experimentReport {
	rep := experimentReport{Report: x.exp.Report(), Heldout: len(x.heldout), Seconds: time.Since(x.start).Seconds()}
	for _, l := range x.lines {
		r := l.status()
		lm, err := loadForScoring(ctx, x.f.store, l.name)
		if err == nil {
			r.Latest = lm.manifest.Version
			m, _, everr := lm.trainer.Evaluate(lm.bundle.State, x.heldout)
			err = everr
			r.OfflineAUC, r.LogLoss = m.AUC, m.LogLoss
		}
		if err != nil {
			r.Err = err.Error()
		}
		rep.Lines = append(rep.Lines, r)
	}
	return rep
}

// print writes the report: JSON with --json, else a table.
func (x *experimentRun) print(rep experimentReport) error {
	if x.f.jsonOut {
		enc := json.NewEncoder(x.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	out := x.stdout
	design := "users split by a hash of user_id"
	if rep.Paired {
		design = "paired: every request answered by every arm, the gains on the same users' paired counts"
	}
	fmt.Fprintf(out, "\n%d requests in %.0fs (%s); acquisition = installs per impression shown, 95%% intervals by the delta method with the user as the unit; verdict at the fixed horizon, with at least %d impressions an arm\n",
		rep.Requests, rep.Seconds, design, rep.MinImpressions)
	tw := tabwriter.NewWriter(out, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "arm\tusers\timpressions\tinstalls\tacquisition (95% CI)\tgain over control (95% CI)\toffline AUC\tversions published / rejected\tverdict")
	for i, a := range rep.Arms {
		l := rep.Lines[i]
		gain, verdict := "0% (control)", ""
		if a.Gain != nil {
			gain = fmt.Sprintf("%+.2f%% [%+.2f%%, %+.2f%%]", 100*a.Gain.Gain, 100*a.Gain.Low, 100*a.Gain.High)
			verdict = a.Verdict
		}
		auc := fmt.Sprintf("%.4f", l.OfflineAUC)
		if l.Err != "" {
			auc = "error: " + l.Err
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.4f [%.4f, %.4f]\t%s\t%s\t%d / %d\t%s\n", a.Name, a.Rate.Users, a.Rate.Impressions, a.Rate.Installs,
			a.Rate.Rate, a.Rate.Low, a.Rate.High, gain, auc, l.Published, l.Rejected, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\noffline AUC: each arm's latest version on the %d examples of the held-out day after the pre-period\n", rep.Heldout)
	for i, a := range rep.Arms {
		l := rep.Lines[i]
		fmt.Fprintf(out, "  %s: %d requests (%d failed), installs delivered %d; join: %d examples, %d positives; latest %s; served", a.Name, a.Requests, a.Errors, a.InstallsDelivered, l.Examples, l.Positives, l.Latest)
		for _, v := range a.Versions {
			fmt.Fprintf(out, " %s (%d)", v.Version, v.Requests)
		}
		fmt.Fprintln(out)
		if a.LastErr != "" {
			fmt.Fprintf(out, "    last error: %s\n", a.LastErr)
		}
	}
	return nil
}
