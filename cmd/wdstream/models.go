package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/wdstream/wdstream/drift"
	"github.com/wdstream/wdstream/publisher"
)

func modelsCommand() command {
	return command{
		name:    "models",
		summary: "list, show, roll back, pin and unpin published model versions",
		run:     runModels,
	}
}

const modelsSynopsis = `--store URL [--model NAME] [--verify] [--json]  list models, or a model's versions
       wdstream models show NAME@VERSION --store URL [--json]   a version's manifest, training statistics and drift against LATEST (or a rejected candidate's report)
       wdstream models rollback NAME [--to VERSION] [--reason TEXT] --store URL
       wdstream models pin NAME@VERSION --store URL
       wdstream models unpin NAME@VERSION --store URL
       wdstream models history NAME --store URL`

func runModels(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := newFlagSet("models", modelsSynopsis, stderr)
	storeURL := fs.String("store", "", "model store URL (required)")
	model := fs.String("model", "", "list this model's versions (list only)")
	jsonOut := fs.Bool("json", false, "print JSON")
	to := fs.String("to", "", "rollback: the version to go back to (default: the one before LATEST)")
	reason := fs.String("reason", "", "rollback: why, recorded in the history")
	verify := fs.Bool("verify", false, "list with --model: check every version's files against its manifest's checksums (default: only the version LATEST names)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *storeURL == "" {
		return flagError(fs, "--store is required")
	}
	if *model != "" {
		if err := checkModelName(*model); err != nil {
			return flagError(fs, "--model: "+err.Error())
		}
	}
	want := map[string]int{"": 0, "show": 1, "rollback": 1, "pin": 1, "unpin": 1, "history": 1}
	n, ok := want[sub]
	if !ok {
		return flagError(fs, fmt.Sprintf("unknown subcommand %q (want show, rollback, pin, unpin or history)", sub))
	}
	if len(pos) != n {
		return flagError(fs, fmt.Sprintf("models %s takes %d argument(s), got %d", sub, n, len(pos)))
	}
	if n == 1 {
		// Every name is checked before the store is opened.
		if _, _, err := parseModelRef(pos[0]); err != nil {
			return flagError(fs, err.Error())
		}
	}
	store, err := publisher.OpenStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "":
		if *model == "" {
			return listModels(ctx, store, stdout, stderr, *jsonOut)
		}
		return listVersions(ctx, store, *model, *verify, stdout, stderr, *jsonOut)
	case "show":
		return showVersion(ctx, store, pos[0], stdout, *jsonOut)
	case "rollback":
		name, v, err := parseModelRef(pos[0])
		if err != nil {
			return err
		}
		if v != "" {
			return flagError(fs, "rollback takes NAME; give the target with --to")
		}
		from, now, err := publisher.Rollback(ctx, store, name, *to, *reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rolled back %s: LATEST %s -> %s\n", name, from, now)
		return nil
	case "pin", "unpin":
		name, v, err := parseModelRef(pos[0])
		if err != nil {
			return err
		}
		if v == "" {
			return flagError(fs, sub+" takes NAME@VERSION")
		}
		if sub == "pin" {
			err = store.Pin(ctx, name, v)
		} else {
			err = store.Unpin(ctx, name, v)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%sned %s@%s\n", sub, name, v)
		return nil
	case "history":
		name, v, err := parseModelRef(pos[0])
		if err != nil {
			return err
		}
		if v != "" {
			return flagError(fs, "history takes NAME")
		}
		h, err := store.History(ctx, name)
		if err != nil {
			return err
		}
		if *jsonOut {
			return writeIndentedJSON(stdout, h)
		}
		for _, e := range h {
			extra := ""
			if e.Forced {
				extra = " (forced)"
			}
			if e.Reason != "" {
				extra += ": " + e.Reason
			}
			fmt.Fprintf(stdout, "%s  %-8s %s -> %s%s\n", e.Time.Format("2006-01-02 15:04:05Z"), e.Action, orDash(e.Previous), e.Version, extra)
		}
		return nil
	}
	return nil
}

// parseInterleaved parses flags and positional arguments in any order.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// checkModelName is the rule every command that takes --model (or a
// NAME[@VERSION] argument) runs before any work: the publisher's
// (publisher.CheckName), which the library and the service hold every
// name to as well.
func checkModelName(name string) error { return publisher.CheckName("model", name) }

// parseModelRef splits NAME[@VERSION] like publisher.ParseRef and holds
// NAME, and VERSION when given, to checkModelName's set.
func parseModelRef(ref string) (model, version string, err error) {
	model, version, err = publisher.ParseRef(ref)
	if err != nil {
		return "", "", err
	}
	if err := checkModelName(model); err != nil {
		return "", "", fmt.Errorf("model reference %q: %w", ref, err)
	}
	if version != "" {
		if err := publisher.CheckName("version", version); err != nil {
			return "", "", fmt.Errorf("model reference %q: %w", ref, err)
		}
	}
	return model, version, nil
}

// listModels lists every model with its version count and LATEST. A model
// whose LATEST cannot be read is listed with the reason in STATUS; the
// others are listed anyway.
func listModels(ctx context.Context, store *publisher.Store, w, stderr io.Writer, jsonOut bool) error {
	names, err := store.Models(ctx)
	if err != nil {
		return err
	}
	type row struct {
		Model    string `json:"model"`
		Latest   string `json:"latest,omitempty"`
		Versions int    `json:"versions"`
		Status   string `json:"status,omitempty"`
	}
	var rows []row
	for _, n := range names {
		vs, err := store.Versions(ctx, n)
		if err != nil {
			return err
		}
		r := row{Model: n, Versions: len(vs)}
		r.Latest, err = store.Latest(ctx, n)
		switch {
		case errors.Is(err, publisher.ErrCorrupt):
			r.Status = "unreadable LATEST: " + err.Error()
			fmt.Fprintf(stderr, "models: %s: %v\n", n, err)
		case err != nil && !errors.Is(err, publisher.ErrNoVersion):
			return err
		}
		rows = append(rows, r)
	}
	if jsonOut {
		return writeIndentedJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tVERSIONS\tLATEST\tSTATUS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Model, r.Versions, orDash(r.Latest), orDash(r.Status))
	}
	return tw.Flush()
}

// versionRow is one line of `models --model NAME`.
type versionRow struct {
	Version  string  `json:"version"`
	Created  string  `json:"created"`
	Parent   string  `json:"parent,omitempty"`
	AUC      float64 `json:"auc,omitempty"`
	LogLoss  float64 `json:"logloss,omitempty"`
	Verdict  string  `json:"verdict"`
	Latest   bool    `json:"latest,omitempty"`
	Pinned   bool    `json:"pinned,omitempty"`
	Rejected bool    `json:"rejected,omitempty"`
	Failed   string  `json:"failed,omitempty"`
	// Status is "verified" when the version's files were read and match
	// the manifest's checksums, "corrupt: REASON" when they do not,
	// "unreadable: REASON" when the manifest (or a rejection report)
	// cannot be read, and "" when the files were not checked.
	Status string `json:"status,omitempty"`
}

// Values of versionRow.Status (the reasons follow the prefixes).
const (
	statusVerified   = "verified"
	statusCorrupt    = "corrupt: "
	statusUnreadable = "unreadable: "
)

// listVersions lists a model's versions and rejected candidates. It lists
// what it can read and marks the rest: a manifest that does not parse is
// "unreadable", a version whose files do not match its manifest's
// checksums "corrupt". Checking checksums reads every file, so by default
// only the version LATEST names is checked (the one predict, eval and warm
// start load); verifyAll checks every version. A problem with LATEST is
// also said on stderr.
func listVersions(ctx context.Context, store *publisher.Store, model string, verifyAll bool, w, stderr io.Writer, jsonOut bool) error {
	entries, latestErr, err := store.List(ctx, model, 0)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return fmt.Errorf("model %s in %s: %w", model, store, publisher.ErrNoVersion)
	}
	if latestErr != nil {
		fmt.Fprintf(stderr, "models: %v\n", latestErr)
	}
	rows := make([]versionRow, 0, len(entries))
	for _, e := range entries {
		r := versionRow{Version: e.Version, Created: "-", Verdict: e.Verdict(), Latest: e.Latest, Pinned: e.Pinned, Rejected: e.Rejected}
		if t := e.Time(); !t.IsZero() {
			r.Created = t.Format("2006-01-02 15:04:05Z")
		}
		switch {
		case e.Err != nil:
			r.Status = statusUnreadable + reason(e.Err)
		case e.Manifest != nil:
			r.Parent = e.Manifest.Parent
			if m := e.Manifest.Metrics; m != nil {
				r.AUC, r.LogLoss = m.AUC, m.LogLoss
			}
			if verifyAll || r.Latest {
				err := store.VerifyFiles(ctx, e.Manifest)
				switch {
				case err == nil:
					r.Status = statusVerified
				case errors.Is(err, publisher.ErrCorrupt):
					r.Status = statusCorrupt + reason(err)
				default:
					return err
				}
			}
		case e.Report != nil && e.Report.Candidate != nil:
			r.AUC, r.LogLoss = e.Report.Candidate.AUC, e.Report.Candidate.LogLoss
		}
		if e.Report != nil {
			r.Failed = strings.Join(e.Report.Failed(), ",")
		}
		rows = append(rows, r)
	}
	for _, r := range rows {
		if r.Latest && r.Status != statusVerified {
			fmt.Fprintf(stderr, "models: LATEST names %s@%s, which predict, eval and warm start will refuse: %s\n", model, r.Version, r.Status)
		}
	}
	if jsonOut {
		return writeIndentedJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// STATUS comes last: its reasons are long.
	fmt.Fprintln(tw, "VERSION\tCREATED\tPARENT\tAUC\tLOGLOSS\tVERDICT\tFLAGS\tSTATUS")
	for _, r := range rows {
		var flags []string
		if r.Latest {
			flags = append(flags, "LATEST")
		}
		if r.Pinned {
			flags = append(flags, "pinned")
		}
		if r.Failed != "" {
			flags = append(flags, "failed: "+r.Failed)
		}
		auc, ll := "-", "-"
		if r.AUC != 0 || r.LogLoss != 0 {
			auc, ll = fmt.Sprintf("%.4f", r.AUC), fmt.Sprintf("%.4f", r.LogLoss)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Version, r.Created, orDash(r.Parent), auc, ll, r.Verdict,
			orDash(strings.Join(flags, " ")), orDash(r.Status))
	}
	return tw.Flush()
}

// reason is err's message for a STATUS cell, without the ErrCorrupt prefix
// that the status word already says.
func reason(err error) string {
	return strings.TrimPrefix(err.Error(), publisher.ErrCorrupt.Error()+": ")
}

func showVersion(ctx context.Context, store *publisher.Store, ref string, w io.Writer, jsonOut bool) error {
	name, v, err := parseModelRef(ref)
	if err != nil {
		return err
	}
	if v == "" {
		if v, err = store.Latest(ctx, name); err != nil {
			return err
		}
	}
	m, err := store.Manifest(ctx, name, v)
	if errors.Is(err, publisher.ErrNoVersion) {
		rep, rerr := store.RejectedReport(ctx, name, v)
		if rerr != nil {
			return err
		}
		if jsonOut {
			return writeIndentedJSON(w, rep)
		}
		return rep.WriteText(w)
	}
	if err != nil {
		return err
	}
	if jsonOut {
		return writeIndentedJSON(w, m)
	}
	latest, _ := store.Latest(ctx, name)
	fmt.Fprintf(w, "%s@%s  created %s  parent %s  spec %s  mode %s  params %d", m.Model, m.Version,
		m.Created.Format("2006-01-02 15:04:05Z"), orDash(m.Parent), m.Spec, m.Mode, m.Params)
	if v == latest {
		fmt.Fprint(w, "  (LATEST)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "data: %d examples, ts %d..%d, %d inputs\n", m.Data.Examples, m.Data.FromTS, m.Data.ToTS, len(m.Data.Inputs))
	if m.Metrics != nil {
		printMetrics(w, "holdout", m.Metrics)
	}
	if m.Forced {
		fmt.Fprintf(w, "FORCED past the gate: %s\n", m.ForceReason)
	}
	if m.Verdict != nil {
		if err := m.Verdict.WriteText(w); err != nil {
			return err
		}
	}
	printVocabularies(w, m.Vocabularies)
	if err := showDrift(ctx, store, m, latest, w); err != nil {
		return err
	}
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "file %s  %d bytes  sha256 %s\n", n, m.Files[n].Size, m.Files[n].SHA256)
	}
	return nil
}

// printVocabularies prints a version's vocabularies: ids, strings in use
// and, with a ttl, what it evicted since the parent version.
func printVocabularies(w io.Writer, vs []publisher.VocabInfo) {
	for _, v := range vs {
		fmt.Fprintf(w, "vocabulary %s: %d ids, %d strings", v.Feature, v.IDs, v.Admitted)
		if v.TTL != "" {
			fmt.Fprintf(w, ", ttl %s: %d free ids, %d evicted since the parent", v.TTL, v.Free, v.Evicted)
			if len(v.EvictedStrings) > 0 {
				more := ""
				if int64(len(v.EvictedStrings)) < v.Evicted {
					more = fmt.Sprintf(" and %d more", v.Evicted-int64(len(v.EvictedStrings)))
				}
				fmt.Fprintf(w, " (%s%s)", strings.Join(v.EvictedStrings, ", "), more)
			}
		}
		fmt.Fprintln(w)
	}
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// showDrift prints the statistics a version recorded of its training data
// and, when LATEST names another version that recorded some, the drift
// from LATEST's to this version's, with this version's spec's thresholds.
func showDrift(ctx context.Context, store *publisher.Store, m *publisher.Manifest, latest string, w io.Writer) error {
	prof, err := store.Profile(ctx, m)
	if err != nil {
		return err
	}
	if prof == nil {
		fmt.Fprintln(w, "statistics: none recorded (published before they were kept)")
		return nil
	}
	if err := prof.WriteText(w); err != nil {
		return err
	}
	if latest == "" || latest == m.Version {
		return nil
	}
	lm, err := store.Manifest(ctx, m.Model, latest)
	if err != nil {
		return err
	}
	ref, err := store.Profile(ctx, lm)
	if err != nil {
		return err
	}
	if ref == nil {
		fmt.Fprintf(w, "drift against LATEST %s@%s: not measured, it recorded no statistics\n", m.Model, latest)
		return nil
	}
	sp, err := store.Spec(ctx, m)
	if err != nil {
		return err
	}
	ds, unmatched := drift.Compare(ref, prof, sp.Validation.Drift)
	fmt.Fprintf(w, "drift against LATEST %s@%s (statistics of %d examples):\n", m.Model, latest, ref.Examples)
	if len(unmatched) > 0 {
		fmt.Fprintf(w, "  not in LATEST's statistics: %s\n", strings.Join(unmatched, ", "))
	}
	return drift.WriteDistances(w, ds)
}
