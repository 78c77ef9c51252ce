package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wdstream/wdstream/drift"
	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/buildinfo"
	"github.com/wdstream/wdstream/internal/progress"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer"
	"github.com/wdstream/wdstream/warmstart"
)

func backfillCommand() command {
	return command{
		name:    "backfill",
		summary: "train a model from Parquet (examples, or impressions and installs) and publish it",
		run:     runBackfill,
	}
}

type backfillFlags struct {
	spec, store, model   string
	input                trainingInput
	warm, order, reinit  string
	overrides            specOverrides
	maxModelBytes        spec.ByteSize
	epochs, workers      int
	holdout              float64
	jsonOut              bool
	force                bool
	forceReason, brokers string
	hookWait             time.Duration
}

func runBackfill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backfill", "--spec FILE --store URL --model NAME (--examples GLOB | --impressions GLOB --installs GLOB) [flags]", stderr)
	var f backfillFlags
	fs.StringVar(&f.spec, "spec", "", "feature spec YAML (required)")
	fs.StringVar(&f.store, "store", "", "model store URL: file:///dir, s3://bucket?region=... (required)")
	fs.StringVar(&f.model, "model", "", "model name in the store (required)")
	f.input.register(fs)
	fs.StringVar(&f.warm, "warm-start", "latest", "latest (cold start when the model has no version yet), none, or a VERSION")
	fs.StringVar(&f.reinit, "reinit", "", "comma-separated tensors a changed spec may re-initialize (or drop) on warm start (e.g. tower/0/w, cross/0/w), or *")
	fs.IntVar(&f.epochs, "epochs", 0, "passes over the training data, the most with early stopping (0: the spec's model.epochs)")
	fs.Float64Var(&f.holdout, "holdout", 0.1, "the last fraction of the examples by time, held out for evaluation (0 to 0.9)")
	fs.StringVar(&f.overrides.mode, "mode", "", "override the spec's model.mode: wide, deep or wide_deep")
	fs.StringVar(&f.overrides.interaction, "interaction", "", "override the spec's model.interaction: none, dot or cross")
	fs.StringVar(&f.overrides.negativeSampling, "negative-sampling", "", "override the spec's model.negative_sampling: the share of negatives trained on, in (0, 1]")
	fs.Var(&f.maxModelBytes, "max-model-bytes", maxModelBytesUsage)
	fs.StringVar(&f.order, "order", string(trainer.OrderTime), "example order within an epoch: time or shuffle")
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "training threads (data-parallel shards of each batch)")
	fs.BoolVar(&f.jsonOut, "json", false, "print the published manifest (or the rejection report) as JSON")
	fs.BoolVar(&f.force, "force", false, "publish even when the validation gate rejects the candidate (needs --force-reason)")
	fs.StringVar(&f.forceReason, "force-reason", "", "why the gate is forced, recorded in the manifest and the history")
	fs.StringVar(&f.brokers, "brokers", "", "Kafka brokers (host:port,...) for the spec's hooks.kafka")
	fs.DurationVar(&f.hookWait, "hook-wait", 30*time.Second, "how long to wait for the publish hooks before exiting")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case f.spec == "" || f.store == "" || f.model == "":
		return flagError(fs, "--spec, --store and --model are required")
	case checkModelName(f.model) != nil:
		// Checked before any work: a name the store would refuse must not
		// cost a training run.
		return flagError(fs, "--model: "+checkModelName(f.model).Error())
	case f.input.check() != nil:
		return flagError(fs, f.input.check().Error())
	case f.warm != "latest" && f.warm != "none" && publisher.CheckName("version", f.warm) != nil:
		return flagError(fs, fmt.Sprintf("--warm-start %q: want latest, none or a version name", f.warm))
	case f.holdout < 0 || f.holdout > 0.9:
		return flagError(fs, fmt.Sprintf("--holdout %g: must be in [0, 0.9]", f.holdout))
	case f.order != string(trainer.OrderTime) && f.order != string(trainer.OrderShuffle):
		return flagError(fs, fmt.Sprintf("--order %q: want time or shuffle", f.order))
	case f.workers < 1:
		return flagError(fs, fmt.Sprintf("--workers %d: must be >= 1", f.workers))
	case f.force && strings.TrimSpace(f.forceReason) == "":
		return flagError(fs, "--force needs --force-reason")
	case !f.force && f.forceReason != "":
		return flagError(fs, "--force-reason goes with --force")
	}

	sp, err := loadSpec(f.spec, f.overrides, f.maxModelBytes)
	if err != nil {
		return err
	}
	exs, inputs, err := readTrainingData(ctx, "backfill", sp, &f.input, stderr)
	if err != nil {
		return err
	}
	slices.SortStableFunc(exs, func(a, b schemas.Example) int { return cmp.Compare(a.TS, b.TS) })
	nHold := int(float64(len(exs)) * f.holdout)
	train, hold := exs[:len(exs)-nHold], exs[len(exs)-nHold:]
	if len(train) == 0 {
		return fmt.Errorf("no training examples left after holding out %d of %d", nHold, len(exs))
	}

	opts := trainer.TrainOptions{
		Epochs: cmp.Or(f.epochs, sp.Model.Epochs), BatchSize: sp.Model.BatchSize, Order: trainer.Order(f.order),
		Seed: uint64(sp.Model.Seed), NegativeSampling: sp.Model.NegativeSampling.Rate(),
	}
	// Early stopping: the newest share of the training examples is the
	// validation split, neither fitted (vocabularies, quantiles) nor
	// trained on.
	if nVal := int(float64(len(train)) * sp.Model.EarlyStopping.Validation); opts.Epochs > 1 && nVal > 0 {
		if nVal == len(train) {
			return fmt.Errorf("model.early_stopping.validation %g leaves no training examples of %d", sp.Model.EarlyStopping.Validation, len(train))
		}
		train, opts.Validation = train[:len(train)-nVal], train[len(train)-nVal:]
		opts.Patience = sp.Model.EarlyStopping.Patience
		fmt.Fprintf(stderr, "backfill: early stopping: at most %d epochs on %d examples, each evaluated on the newest %d (patience %d)\n",
			opts.Epochs, len(train), nVal, opts.Patience)
		opts.OnEpoch = func(r trainer.EpochReport) {
			best := ""
			if r.Best {
				best = " (best so far)"
			}
			fmt.Fprintf(stderr, "backfill: epoch %d: training log loss %.4f, validation AUC %.4f, log loss %.4f%s\n",
				r.Epoch, r.TrainLoss, r.Validation.AUC, r.Validation.LogLoss, best)
		}
	}
	store, err := publisher.OpenStore(ctx, f.store)
	if err != nil {
		return err
	}
	defer store.Close()
	from, parent, err := startingPoint(ctx, store, sp, &f, train, stderr)
	if err != nil {
		return err
	}
	st, model := from.State, from.Model
	var evictions publisher.Evictions
	evictions.Add(from.Expired)

	tr := trainer.NewTrainer(model, f.workers)
	var bar *progress.Bar // its total is known once negative sampling has run
	opts.Progress = func(done, total int64) {
		if bar == nil {
			bar = progress.New(stderr, "backfill", "examples", total)
		}
		bar.Update(done)
	}
	start := time.Now()
	ts, err := tr.Train(ctx, st, train, opts)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	sampled := ""
	if ts.Dropped > 0 {
		sampled = fmt.Sprintf(", %d negatives dropped (model.negative_sampling %g)", ts.Dropped, opts.NegativeSampling)
	}
	fmt.Fprintf(stderr, "backfill: trained %d examples in %s (%.0f examples/s, %d workers, %s), final epoch log loss %.4f%s\n",
		ts.Examples, time.Since(start).Round(time.Millisecond), float64(ts.Examples)/time.Since(start).Seconds(), f.workers, trainer.BLAS(), ts.MeanLoss, sampled)
	if ts.BestEpoch > 0 {
		fmt.Fprintf(stderr, "backfill: early stopping: ran %d of at most %d epochs, kept epoch %d (validation log loss %.4f)\n",
			ts.Epochs, opts.Epochs, ts.BestEpoch, ts.History[ts.BestEpoch-1].Validation.LogLoss)
	}

	man := &publisher.Manifest{
		Model: f.model, Parent: parent,
		Data:  publisher.DataInfo{Examples: ts.Examples, FromTS: train[0].TS, ToTS: train[len(train)-1].TS, Inputs: inputs},
		Build: buildinfo.Manifest(),

		Vocabularies: evictions.Vocabularies(st),
	}
	if len(hold) > 0 {
		m, _, err := tr.Evaluate(st, hold)
		if err != nil {
			return fmt.Errorf("evaluating on the %d held-out examples: %w", len(hold), err)
		}
		man.Metrics = &m
	}
	// The statistics of what the version trained on: the reference of
	// the drift check of the next candidates.
	prof, err := drift.Of(sp, train)
	if err != nil {
		return err
	}
	return gateAndPublish(ctx, store, &publisher.Bundle{Spec: sp, State: st, Model: model, Profile: prof}, man, hold, &f, stdout, stderr)
}

// gateAndPublish runs the validation gate on the candidate with the
// held-out examples as the fresh ones, publishes it (or keeps the
// rejection report), prints the verdict one line per check, and waits a
// bounded time for the hooks. A rejection is an error (non-zero exit).
func gateAndPublish(ctx context.Context, store *publisher.Store, b *publisher.Bundle, man *publisher.Manifest, hold []schemas.Example, f *backfillFlags, stdout, stderr io.Writer) error {
	var brokers []string
	for _, b := range strings.Split(f.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	hooks, err := publisher.NewHooks(b.Spec.Hooks, publisher.HookConfig{KafkaBrokers: brokers})
	if err != nil {
		return fmt.Errorf("spec %s: %w", f.spec, err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pub, err := publisher.New(store, publisher.Options{Hooks: hooks, Logger: logger})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "backfill: validating the candidate on %d held-out examples (dry run included)\n", min(len(hold), b.Spec.Validation.Examples))
	res, perr := pub.Publish(ctx, b, man, hold, publisher.PublishOptions{Force: f.force, ForceReason: f.forceReason})
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.hookWait)
	defer cancel()
	if err := pub.Close(closeCtx); err != nil {
		fmt.Fprintf(stderr, "backfill: hooks: %v\n", err)
	}
	if perr != nil {
		return perr
	}
	if f.jsonOut {
		if res.Published {
			return writeIndentedJSON(stdout, res.Manifest)
		}
		if err := writeIndentedJSON(stdout, res.Report); err != nil {
			return err
		}
	} else if err := res.Report.WriteText(stdout); err != nil {
		return err
	}
	if !res.Published {
		return fmt.Errorf("candidate %s@%s rejected by the gate (%s); report kept at %s/%s/rejected/%s.json; --force --force-reason TEXT publishes anyway",
			man.Model, res.Version, strings.Join(res.Report.Failed(), ", "), store, man.Model, res.Version)
	}
	if f.jsonOut {
		return nil
	}
	fmt.Fprintf(stdout, "published %s@%s to %s\n", man.Model, man.Version, store)
	if res.LatestNote != "" {
		fmt.Fprintf(stdout, "LATEST: %s\n", res.LatestNote)
	} else if !res.Latest {
		fmt.Fprintf(stdout, "LATEST stays on a newer version published meanwhile\n")
	}
	if man.Metrics != nil {
		printMetrics(stdout, "holdout", man.Metrics)
	}
	return nil
}

// maxModelBytesUsage documents the --max-model-bytes flag of the commands
// that load a spec to train.
const maxModelBytesUsage = "memory budget of the spec's model (parameters with optimizer state plus one batch), e.g. 4GiB, 512MiB, or off (default 4GiB)"

// specOverrides are the flags that override a spec's model section.
type specOverrides struct {
	// --mode, --interaction, --negative-sampling: "" keeps the file's.
	mode, interaction, negativeSampling string
}

// loadSpec reads the spec file with the overrides applied (and validated
// with them), refusing a model above budget (0: the default,
// spec.DefaultMaxModelBytes).
func loadSpec(path string, o specOverrides, budget spec.ByteSize) (*spec.Spec, error) {
	m, ix := spec.Mode(o.mode), spec.Interaction(o.interaction)
	if m != "" && m != spec.ModeWide && m != spec.ModeDeep && m != spec.ModeWideDeep {
		return nil, fmt.Errorf("--mode %q: want wide, deep or wide_deep", o.mode)
	}
	if ix != "" && ix != spec.InteractionNone && ix != spec.InteractionDot && ix != spec.InteractionCross {
		return nil, fmt.Errorf("--interaction %q: want none, dot or cross", o.interaction)
	}
	var rate float64
	if o.negativeSampling != "" {
		var err error
		if rate, err = strconv.ParseFloat(o.negativeSampling, 64); err != nil || !(rate > 0 && rate <= 1) {
			return nil, fmt.Errorf("--negative-sampling %q: want a share of the negatives in (0, 1]", o.negativeSampling)
		}
	}
	sp, err := spec.LoadWith(path, spec.LoadOptions{MaxModelBytes: int64(budget), Mode: m, Interaction: ix, NegativeSampling: rate})
	if err != nil {
		var with []string
		if m != "" {
			with = append(with, "--mode "+string(m))
		}
		if ix != "" {
			with = append(with, "--interaction "+string(ix))
		}
		if rate != 0 {
			with = append(with, "--negative-sampling "+o.negativeSampling)
		}
		if len(with) > 0 {
			return nil, fmt.Errorf("with %s: %w", strings.Join(with, " "), err)
		}
	}
	return sp, err
}

// trainingInput is the training data of the commands that train: labeled
// examples, or raw impressions and installs joined with the spec's label
// window.
type trainingInput struct {
	examples, impressions, installs string
}

func (in *trainingInput) register(fs *flag.FlagSet) {
	fs.StringVar(&in.examples, "examples", "", "labeled examples: a glob of Parquet or JSONL files, local or in a bucket URL")
	fs.StringVar(&in.impressions, "impressions", "", "raw impressions to join with --installs (glob)")
	fs.StringVar(&in.installs, "installs", "", "raw installs to join with --impressions (glob)")
}

// check reports a missing or half-given input.
func (in *trainingInput) check() error {
	switch {
	case (in.examples == "") == (in.impressions == "" && in.installs == ""):
		return errors.New("give either --examples or both --impressions and --installs")
	case in.examples == "" && (in.impressions == "" || in.installs == ""):
		return errors.New("--impressions and --installs go together")
	}
	return nil
}

// readTrainingData reads labeled examples, or joins raw events with the
// spec's label window through the same join as the streaming stage.
func readTrainingData(ctx context.Context, cmd string, sp *spec.Spec, in *trainingInput, stderr io.Writer) ([]schemas.Example, []string, error) {
	if in.examples != "" {
		files, err := ingest.Glob(ctx, in.examples)
		if err != nil {
			return nil, nil, err
		}
		defer files.Close()
		exs, err := ingest.ReadExamples(ctx, files)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stderr, "%s: read %d examples from %d files\n", cmd, len(exs), len(files.Names()))
		return exs, files.Names(), nil
	}
	imps, err := readGlob(ctx, in.impressions, ingest.ReadImpressions)
	if err != nil {
		return nil, nil, err
	}
	ins, err := readGlob(ctx, in.installs, ingest.ReadInstalls)
	if err != nil {
		return nil, nil, err
	}
	exs, js, err := join.Offline(imps, ins, sp.Join.LabelWindow.D())
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "%s: joined %d impressions and %d installs: %d examples, %d positives (%d matched, %d duplicate, %d late, %d orphan, %d outside the window)\n", cmd,
		len(imps), len(ins), js.Emitted, js.Positives, js.Matched, js.Duplicates, js.Late, js.Orphans, js.OutOfWindow)
	return exs, []string{in.impressions, in.installs}, nil
}

// startingPoint loads the version --warm-start names (none: cold start)
// and returns the featurizer state and model to train, fitted on train, as
// warmstart's rule says: a previous version with the same spec is
// continued, one with another spec is rebuilt for it (--reinit).
func startingPoint(ctx context.Context, store *publisher.Store, sp *spec.Spec, f *backfillFlags, train []schemas.Example, stderr io.Writer) (*warmstart.Start, string, error) {
	var prev *publisher.Bundle
	var parent string
	if f.warm != "none" {
		version := f.warm
		if version == "latest" {
			version = ""
		}
		var b *publisher.Bundle
		var man *publisher.Manifest
		var err error
		if version == "" {
			// LATEST, or the newest intact version before it when it is
			// corrupt.
			var skipped []error
			b, man, skipped, err = publisher.LoadNewestIntact(ctx, store, f.model)
			for _, e := range skipped {
				fmt.Fprintf(stderr, "backfill: warm start: skipping a version that cannot be loaded: %v\n", e)
			}
			if err == nil && len(skipped) > 0 {
				fmt.Fprintf(stderr, "backfill: warm start falls back to %s@%s, the newest intact version\n", f.model, man.Version)
			}
		} else {
			b, man, err = publisher.Load(ctx, store, f.model, version)
		}
		switch {
		case err == nil:
			prev, parent = b, man.Version
		case errors.Is(err, publisher.ErrNoVersion) && f.warm == "latest":
			fmt.Fprintf(stderr, "backfill: %s has no published version yet: cold start\n", f.model)
		default:
			return nil, "", fmt.Errorf("warm start from %s: %w", f.model, err)
		}
	}
	var reinit []string
	if f.reinit != "" {
		reinit = strings.Split(f.reinit, ",")
	}
	start, err := warmstart.Prepare(prev, sp, train, warmstart.Options{AllowRebuild: true, Reinit: reinit, From: f.model + "@" + parent})
	if err != nil {
		return nil, "", err
	}
	switch start.Kind {
	case warmstart.Continue:
		fmt.Fprintf(stderr, "backfill: warm start from %s@%s (same spec: continuing its vocabularies and optimizer state)\n", f.model, parent)
	case warmstart.Rebuild:
		fmt.Fprintf(stderr, "backfill: warm start from %s@%s with a changed spec: %s\n", f.model, parent, start.Warm)
	}
	for _, e := range start.Expired {
		v := start.State.Vocab(e.Feature)
		fmt.Fprintf(stderr, "backfill: %s: ttl %s evicted %d strings not seen within it of the newest example (%d in use, %d ids)\n",
			e.Feature, spec.Duration(v.TTL()), len(e.IDs), v.Len(), v.Size())
	}
	return start, parent, nil
}

func printMetrics(w io.Writer, label string, m *trainer.Metrics) {
	fmt.Fprintf(w, "%s: examples %d, AUC %.4f, log loss %.4f, calibration %.3f (mean prediction %.4f, mean label %.4f)\n",
		label, m.Count, m.AUC, m.LogLoss, m.Calibration, m.MeanPred, m.MeanLabel)
}
