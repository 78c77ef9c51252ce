package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/trainer"
)

func evalCommand() command {
	return command{
		name:    "eval",
		summary: "evaluate a published model on labeled examples: AUC, log loss, calibration",
		run:     runEval,
	}
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "--store URL --model NAME[@VERSION] --input GLOB [--json]", stderr)
	storeURL := fs.String("store", "", "model store URL (required)")
	ref := fs.String("model", "", "NAME or NAME@VERSION (default: the version LATEST names) (required)")
	input := fs.String("input", "", "labeled examples: glob of Parquet or JSONL files (required)")
	jsonOut := fs.Bool("json", false, "print the metrics as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *storeURL == "" || *ref == "" || *input == "" {
		return flagError(fs, "--store, --model and --input are required")
	}
	if _, _, err := parseModelRef(*ref); err != nil {
		return flagError(fs, "--model: "+err.Error())
	}
	lm, err := loadForScoring(ctx, *storeURL, *ref)
	if err != nil {
		return err
	}
	exs, err := readExamples(ctx, *input)
	if err != nil {
		return err
	}
	m, _, err := lm.trainer.Evaluate(lm.bundle.State, exs)
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Model   string          `json:"model"`
			Version string          `json:"version"`
			Metrics trainer.Metrics `json:"metrics"`
		}{lm.manifest.Model, lm.manifest.Version, m})
	}
	printMetrics(stdout, lm.manifest.Model+"@"+lm.manifest.Version, &m)
	return nil
}

// loaded is a published model ready to score.
type loaded struct {
	bundle   *publisher.Bundle
	manifest *publisher.Manifest
	trainer  *trainer.Trainer
}

// loadForScoring loads NAME[@VERSION] through the publisher's loader, the
// same one the gate's dry run uses.
func loadForScoring(ctx context.Context, storeURL, ref string) (*loaded, error) {
	model, version, err := parseModelRef(ref)
	if err != nil {
		return nil, err
	}
	store, err := publisher.OpenStore(ctx, storeURL)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	b, man, err := publisher.Load(ctx, store, model, version)
	if err != nil {
		return nil, err
	}
	return &loaded{bundle: b, manifest: man, trainer: trainer.NewTrainer(b.Model, runtime.GOMAXPROCS(0))}, nil
}

func readExamples(ctx context.Context, pattern string) ([]schemas.Example, error) {
	files, err := ingest.Glob(ctx, pattern)
	if err != nil {
		return nil, err
	}
	defer files.Close()
	exs, err := ingest.ReadExamples(ctx, files)
	if err != nil {
		return nil, err
	}
	if len(exs) == 0 {
		return nil, fmt.Errorf("input %q holds no examples", pattern)
	}
	return exs, nil
}
