package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/schemas"
)

func predictCommand() command {
	return command{
		name:    "predict",
		summary: "score examples or impressions with a published model, to CSV or Parquet",
		run:     runPredict,
	}
}

func runPredict(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("predict", "--store URL --model NAME[@VERSION] --input GLOB --output FILE", stderr)
	storeURL := fs.String("store", "", "model store URL (required)")
	ref := fs.String("model", "", "NAME or NAME@VERSION (default: the version LATEST names) (required)")
	input := fs.String("input", "", "examples or impressions: glob of Parquet or JSONL files (required); labels are not needed")
	output := fs.String("output", "", "output file: CSV with header impression_id,score, or Parquet when it ends in .parquet (required; - for stdout CSV)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *storeURL == "" || *ref == "" || *input == "" || *output == "" {
		return flagError(fs, "--store, --model, --input and --output are required")
	}
	if _, _, err := parseModelRef(*ref); err != nil {
		return flagError(fs, "--model: "+err.Error())
	}
	lm, err := loadForScoring(ctx, *storeURL, *ref)
	if err != nil {
		return err
	}
	exs, err := readScoringInput(ctx, *input)
	if err != nil {
		return err
	}
	scores, err := lm.trainer.Score(lm.bundle.State, exs, 0)
	if err != nil {
		return err
	}
	// eval refuses such a model through its metrics; predict must not
	// hand NaN or Inf on as scores, so it refuses before writing anything.
	if i := firstNonFinite(scores); i >= 0 {
		return fmt.Errorf("%s@%s gives impression %q (example %d of %d) the score %v, not a finite number: refusing the model; nothing written to %s",
			lm.manifest.Model, lm.manifest.Version, exs[i].ImpressionID, i+1, len(exs), scores[i], *output)
	}
	if err := writeScores(*output, stdout, exs, scores); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "predict: scored %d examples with %s@%s into %s\n", len(exs), lm.manifest.Model, lm.manifest.Version, *output)
	return nil
}

// firstNonFinite returns the index of the first NaN or infinite score, or
// -1.
func firstNonFinite(scores []float32) int {
	for i, v := range scores {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i
		}
	}
	return -1
}

// writeScores writes impression_id,score rows, as CSV or Parquet, to a
// temporary file renamed into place when complete.
func writeScores(path string, stdout io.Writer, exs []schemas.Example, scores []float32) error {
	if path == "-" {
		return writeCSV(stdout, exs, scores)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".predict-*")
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if strings.HasSuffix(path, ".parquet") {
		err = writeScoresParquet(tmp, exs, scores)
	} else {
		err = writeCSV(tmp, exs, scores)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	return nil
}

// writeCSV writes the impression_id,score rows (encoding/csv quotes ids
// that need it).
func writeCSV(out io.Writer, exs []schemas.Example, scores []float32) error {
	w := csv.NewWriter(out)
	_ = w.Write([]string{"impression_id", "score"})
	for i := range exs {
		_ = w.Write([]string{exs[i].ImpressionID, strconv.FormatFloat(float64(scores[i]), 'g', -1, 32)})
	}
	w.Flush()
	return w.Error()
}

type scoreRow struct {
	ImpressionID string  `parquet:"impression_id"`
	Score        float32 `parquet:"score"`
}

func writeScoresParquet(w io.Writer, exs []schemas.Example, scores []float32) error {
	pw := parquet.NewGenericWriter[scoreRow](w, parquet.Compression(&parquet.Zstd))
	rows := make([]scoreRow, 0, 4096)
	for i := range exs {
		rows = append(rows, scoreRow{exs[i].ImpressionID, scores[i]})
		if len(rows) == cap(rows) || i == len(exs)-1 {
			if _, err := pw.Write(rows); err != nil {
				return err
			}
			rows = rows[:0]
		}
	}
	return pw.Close()
}

// readScoringInput reads labeled examples, or impressions when the files
// have no label column.
func readScoringInput(ctx context.Context, pattern string) ([]schemas.Example, error) {
	exs, err := readExamples(ctx, pattern)
	var fe *schemas.FieldError
	if err == nil || !errors.As(err, &fe) || fe.Field != schemas.ColLabel {
		return exs, err
	}
	files, err := ingest.Glob(ctx, pattern)
	if err != nil {
		return nil, err
	}
	defer files.Close()
	imps, err := ingest.ReadImpressions(ctx, files)
	if err != nil {
		return nil, err
	}
	exs = make([]schemas.Example, len(imps))
	for i := range imps {
		exs[i].Impression = imps[i]
	}
	return exs, nil
}
