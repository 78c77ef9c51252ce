package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/tune"
)

func tuneCommand() command {
	return command{
		name:    "tune",
		summary: "search the spec's model settings on the newest examples (successive halving) and write the best spec",
		run:     runTune,
	}
}

type tuneFlags struct {
	spec, out, mode                string
	input                          trainingInput
	validation                     float64
	trials, eta, parallel, workers int
	seed                           uint64
	budget                         time.Duration
	force                          bool
	maxModelBytes                  spec.ByteSize
}

func runTune(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tune", "--spec FILE --out FILE (--examples GLOB | --impressions GLOB --installs GLOB) [flags]", stderr)
	var f tuneFlags
	fs.StringVar(&f.spec, "spec", "", "feature spec YAML whose model section is searched (required)")
	fs.StringVar(&f.out, "out", "", "where to write the best spec (required; not the input spec)")
	f.input.register(fs)
	fs.Float64Var(&f.validation, "validation", 0.2, "the newest share of the examples, on which trials are scored (0 to 0.9, exclusive)")
	fs.StringVar(&f.mode, "mode", string(tune.ModeBackfill), "backfill (epochs with early stopping, then evaluate) or stream (one pass, progressive validation, as the service)")
	fs.IntVar(&f.trials, "trials", 27, "trials sampled for the first rung (trial 0 is the input spec)")
	fs.IntVar(&f.eta, "eta", 3, "each rung keeps the best 1/eta of its trials and trains on eta times the examples")
	fs.DurationVar(&f.budget, "budget", 30*time.Minute, "wall clock of the search, 0 for none; when it runs out the best of the highest rung reached is written")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the sampled trials")
	fs.IntVar(&f.parallel, "parallel", max(1, runtime.GOMAXPROCS(0)/2), "trials trained at once, sharing --workers")
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "training threads in all: each trial gets workers/parallel")
	fs.BoolVar(&f.force, "force", false, "overwrite --out when it exists")
	fs.Var(&f.maxModelBytes, "max-model-bytes", maxModelBytesUsage+"; bounds every trial's spec")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case f.spec == "" || f.out == "":
		return flagError(fs, "--spec and --out are required")
	case f.input.check() != nil:
		return flagError(fs, f.input.check().Error())
	case !(f.validation > 0 && f.validation < 0.9):
		return flagError(fs, fmt.Sprintf("--validation %g: must be in (0, 0.9)", f.validation))
	case f.mode != string(tune.ModeBackfill) && f.mode != string(tune.ModeStream):
		return flagError(fs, fmt.Sprintf("--mode %q: want backfill or stream", f.mode))
	case f.trials < 1:
		return flagError(fs, fmt.Sprintf("--trials %d: must be >= 1", f.trials))
	case f.eta < 2:
		return flagError(fs, fmt.Sprintf("--eta %d: must be >= 2", f.eta))
	case f.budget < 0:
		return flagError(fs, fmt.Sprintf("--budget %s: must be >= 0", f.budget))
	case f.parallel < 1:
		return flagError(fs, fmt.Sprintf("--parallel %d: must be >= 1", f.parallel))
	case f.workers < 1:
		return flagError(fs, fmt.Sprintf("--workers %d: must be >= 1", f.workers))
	}
	if err := checkOut(f.out, f.spec, f.force); err != nil {
		return err
	}
	sp, err := loadSpec(f.spec, specOverrides{}, f.maxModelBytes)
	if err != nil {
		return err
	}
	exs, _, err := readTrainingData(ctx, "tune", sp, &f.input, stderr)
	if err != nil {
		return err
	}
	slices.SortStableFunc(exs, func(a, b schemas.Example) int { return cmp.Compare(a.TS, b.TS) })
	nVal := int(float64(len(exs)) * f.validation)
	if nVal == 0 || nVal == len(exs) {
		return fmt.Errorf("--validation %g of %d examples leaves %d to validate on and %d to train on: both need some", f.validation, len(exs), nVal, len(exs)-nVal)
	}
	train, val := exs[:len(exs)-nVal], exs[len(exs)-nVal:]
	fmt.Fprintf(stderr, "tune: %d training examples (%s to %s), scored on the newest %d (%s to %s); mode %s, %d trials, eta %d, %d at a time with %d threads each, budget %s\n",
		len(train), tsText(train[0].TS), tsText(train[len(train)-1].TS), len(val), tsText(val[0].TS), tsText(val[len(val)-1].TS),
		f.mode, f.trials, f.eta, f.parallel, max(1, f.workers/f.parallel), budgetLeftText(f.budget))

	res, err := tune.Search(ctx, sp, train, val, tune.Options{
		Mode: tune.Mode(f.mode), Trials: f.trials, Eta: f.eta, Seed: f.seed, Budget: f.budget,
		Parallel: f.parallel, Workers: f.workers, Load: spec.LoadOptions{MaxModelBytes: int64(f.maxModelBytes)},
		OnRun: func(p tune.Progress) { printTuneProgress(stderr, p) },
	})
	if err != nil {
		return err
	}
	if err := res.WriteTable(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nsearch: %s\n", res.Describe())
	if res.Best == nil {
		if run, ok := res.Trials[0].Last(); ok && run.Err != nil {
			return fmt.Errorf("no trial succeeded; trial 0 (the input spec): %w", run.Err)
		}
		if res.Stop == tune.StopCancelled {
			return fmt.Errorf("interrupted before any trial finished: nothing written to %s", f.out)
		}
		return fmt.Errorf("no trial finished within --budget %s: nothing written to %s", f.budget, f.out)
	}
	best, base := bestLine(res), baseLine(res)
	fmt.Fprintf(stdout, "%s\n%s\n", best, base)
	header := tuneHeader(&f, args, res, val, best, base)
	if err := writeTunedSpec(&f, res.Best.Spec, header); err != nil {
		return err
	}
	// The written file must load as any spec does: check it as a user will.
	if _, err := spec.LoadWith(f.out, spec.LoadOptions{MaxModelBytes: int64(f.maxModelBytes)}); err != nil {
		return fmt.Errorf("the written spec does not load (a bug): %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", f.out)
	return nil
}

// checkOut refuses an --out that is the input spec, or that exists without
// --force, or whose directory is missing: before the search, not after.
func checkOut(out, in string, force bool) error {
	absOut, err1 := filepath.Abs(out)
	absIn, err2 := filepath.Abs(in)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if absOut == absIn {
		return fmt.Errorf("--out %s is the input --spec: write the tuned spec to another file", out)
	}
	st, err := os.Stat(out)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("--out %s is a directory: name the file to write", out)
	case err == nil:
		if inSt, err := os.Stat(in); err == nil && os.SameFile(st, inSt) {
			return fmt.Errorf("--out %s is the input --spec (a link to it): write the tuned spec to another file", out)
		}
		if !force {
			return fmt.Errorf("--out %s exists: pass --force to overwrite it", out)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--out: %w", err)
	}
	if st, err := os.Stat(filepath.Dir(absOut)); err != nil || !st.IsDir() {
		return fmt.Errorf("--out %s: directory %s does not exist", out, filepath.Dir(out))
	}
	return nil
}

func printTuneProgress(w io.Writer, p tune.Progress) {
	r := p.Run
	what := fmt.Sprintf("validation AUC %.4f, log loss %.5f", r.Metrics.AUC, r.Metrics.LogLoss)
	if r.Err != nil {
		what = "failed: " + r.Err.Error()
	}
	role := ""
	if r.Baseline {
		role = " (the input spec, for comparison)"
	}
	budget := ""
	if p.Budget > 0 {
		budget = ", budget " + budgetLeftText(p.Budget-p.Elapsed) + " left"
	}
	fmt.Fprintf(w, "tune: rung %d/%d, trial %d%s: %s: %s (%s, %d examples trained); runs left: at most %d%s\n",
		r.Rung, p.Rungs-1, p.Trial, role, p.Values, what, r.Duration.Round(10*time.Millisecond), r.Trained, p.Left, budget)
}

func budgetLeftText(d time.Duration) string {
	switch {
	case d == 0:
		return "none"
	case d < 0:
		return "0s"
	}
	return d.Round(time.Second).String()
}

func tsText(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

func bestLine(res *tune.Result) string {
	r := res.BestRun
	return fmt.Sprintf("best: trial %d at rung %d: validation AUC %.4f, log loss %.5f", res.Best.ID, r.Rung, r.Metrics.AUC, r.Metrics.LogLoss)
}

func baseLine(res *tune.Result) string {
	r := res.Base
	switch {
	case !res.BaseOK:
		return "base: trial 0 (the input spec) did not finish a run"
	case r.Err != nil:
		return fmt.Sprintf("base: trial 0 (the input spec) at rung %d: failed: %v", r.Rung, r.Err)
	}
	return fmt.Sprintf("base: trial 0 (the input spec) at rung %d: validation AUC %.4f, log loss %.5f", r.Rung, r.Metrics.AUC, r.Metrics.LogLoss)
}

// tuneHeader returns the comment lines that head the written spec: what
// the search was, on what, and what it found against the input spec.
func tuneHeader(f *tuneFlags, args []string, res *tune.Result, val []schemas.Example, best, base string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellWord(a)
	}
	sizes := make([]string, len(res.Rungs))
	for i, r := range res.Rungs {
		sizes[i] = strconv.Itoa(r.Examples)
	}
	searched := "Searched: model.ftrl, model.adagrad, model.epochs, model.hidden, model.interaction, every embedding_dim and hash_buckets."
	if res.Mode == tune.ModeStream {
		searched = "Searched: model.ftrl, model.adagrad, model.hidden, model.interaction, every embedding_dim and hash_buckets (not model.epochs: one pass)."
	}
	lines := []string{
		fmt.Sprintf("Written by wdstream tune on %s: the best model settings found for %s.", time.Now().UTC().Format("2006-01-02 15:04 UTC"), f.spec),
		"Command: wdstream tune " + strings.Join(quoted, " "),
		fmt.Sprintf("Search: mode %s, seed %d, eta %d, rungs of %s training examples; %s.", f.mode, f.seed, f.eta, strings.Join(sizes, "/"), res.Describe()),
		fmt.Sprintf("Validation: the newest %g%% of the examples, %d examples (%s to %s).", 100*f.validation, len(val), tsText(val[0].TS), tsText(val[len(val)-1].TS)),
		strings.ToUpper(best[:1]) + best[1:] + ".",
		strings.ToUpper(base[:1]) + base[1:] + ".",
		searched,
		"Chosen on this validation split: measure the gain on later data before trusting it.",
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("# " + strings.ReplaceAll(l, "\n", " ") + "\n")
	}
	return b.String()
}

// shellWord quotes an argument for a shell when it needs it.
func shellWord(s string) string {
	safe := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:=,+@%", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	if strings.ContainsAny(s, "'\n\r") {
		return strconv.Quote(s)
	}
	return "'" + s + "'"
}

// writeTunedSpec writes the header and the spec's canonical YAML to --out:
// a temporary file, synced, then linked in place (so an --out created
// meanwhile is not overwritten) or, with --force, renamed over it.
func writeTunedSpec(f *tuneFlags, sp *spec.Spec, header string) (err error) {
	body, err := sp.Marshal()
	if err != nil {
		return err
	}
	data := append([]byte(header+"\n"), body...)
	dir := filepath.Dir(f.out)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the link or rename: a no-op or the spare name
	if _, err := tmp.Write(data); err != nil {
		return errors.Join(fmt.Errorf("writing %s: %w", tmp.Name(), err), tmp.Close())
	}
	if err := tmp.Sync(); err != nil {
		return errors.Join(fmt.Errorf("syncing %s: %w", tmp.Name(), err), tmp.Close())
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if f.force {
		err = os.Rename(tmp.Name(), f.out)
	} else if err = os.Link(tmp.Name(), f.out); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("--out %s was created during the search: pass --force to overwrite it", f.out)
	} else if _, serr := os.Lstat(f.out); err != nil && errors.Is(serr, fs.ErrNotExist) {
		err = os.Rename(tmp.Name(), f.out) // a file system without hard links
	}
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("--out: opening directory %s to sync: %w", dir, err)
	}
	return errors.Join(d.Sync(), d.Close())
}
