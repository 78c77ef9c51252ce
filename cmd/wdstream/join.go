package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/schemas"
)

func joinCommand() command {
	return command{
		name:    "join",
		summary: "label impressions with installs offline (the streaming join's logic) into examples Parquet",
		run:     runJoin,
	}
}

func runJoin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("join", "--impressions GLOB --installs GLOB --out FILE [--label-window D | --spec FILE]", stderr)
	impGlob := fs.String("impressions", "", "impressions: glob of Parquet or JSONL files, local or in a bucket URL (required)")
	insGlob := fs.String("installs", "", "installs: glob of Parquet or JSONL files (required)")
	out := fs.String("out", "", "examples Parquet file to write (required)")
	specPath := fs.String("spec", "", "take the label window from this spec's join.label_window")
	window := fs.Duration("label-window", 0, "label window (default: the spec's, else 30m)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *impGlob == "" || *insGlob == "" || *out == "" {
		return flagError(fs, "--impressions, --installs and --out are required")
	}
	if in, err := inputAt(*out, *impGlob, *insGlob); err != nil {
		return err
	} else if in != "" {
		return flagError(fs, fmt.Sprintf("--out %s is the input file %s: write the examples elsewhere", *out, in))
	}
	if *window < 0 {
		return flagError(fs, fmt.Sprintf("--label-window %v: must be positive", *window))
	}
	if *window == 0 {
		*window = defaultLabelWindow
		if *specPath != "" {
			sp, err := loadSpec(*specPath, specOverrides{}, 0)
			if err != nil {
				return err
			}
			*window = sp.Join.LabelWindow.D()
		}
	}
	imps, err := readGlob(ctx, *impGlob, ingest.ReadImpressions)
	if err != nil {
		return err
	}
	ins, err := readGlob(ctx, *insGlob, ingest.ReadInstalls)
	if err != nil {
		return err
	}
	exs, st, err := join.Offline(imps, ins, *window)
	if err != nil {
		return err
	}
	if err := writeExamples(*out, exs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "join: %d impressions, %d installs -> %d examples (%d positives) in %s; installs: %d matched, %d duplicate, %d late, %d orphan, %d outside the window\n",
		len(imps), len(ins), st.Emitted, st.Positives, *out, st.Matched, st.Duplicates, st.Late, st.Orphans, st.OutOfWindow)
	return nil
}

// inputAt returns the file among those the local patterns match that out
// names ("" when none): the same cleaned absolute path or, when out
// exists, the same file (os.SameFile: a link, another path to it). Bucket
// patterns are skipped: out is a local file.
func inputAt(out string, patterns ...string) (string, error) {
	absOut, err := filepath.Abs(out)
	if err != nil {
		return "", fmt.Errorf("--out %s: %w", out, err)
	}
	outInfo, statErr := os.Stat(out)
	for _, p := range patterns {
		if u, err := url.Parse(p); err == nil && len(u.Scheme) > 1 {
			if u.Scheme != "file" {
				continue
			}
			p = u.Path // as ingest.Glob reads a file:// pattern
		}
		names, err := filepath.Glob(p)
		if err != nil {
			continue // ingest.Glob reports a bad pattern
		}
		for _, n := range names {
			if a, err := filepath.Abs(n); err == nil && a == absOut {
				return n, nil
			}
			if statErr != nil {
				continue
			}
			if fi, err := os.Stat(n); err == nil && os.SameFile(fi, outInfo) {
				return n, nil
			}
		}
	}
	return "", nil
}

const defaultLabelWindow = 30 * time.Minute // the spec's default

func readGlob[T any](ctx context.Context, pattern string, read func(context.Context, *ingest.Files) ([]T, error)) ([]T, error) {
	files, err := ingest.Glob(ctx, pattern)
	if err != nil {
		return nil, err
	}
	defer files.Close()
	return read(ctx, files)
}

// featureColumns infers the feature columns of examples: every column name
// with the kind of its first non-null value, sorted by name.
func featureColumns(exs []schemas.Example) []schemas.Column {
	kinds := map[string]schemas.Kind{}
	for i := range exs {
		for name, v := range exs[i].Features {
			if v.Kind != schemas.KindNull && kinds[name] == schemas.KindNull {
				kinds[name] = v.Kind
			}
		}
	}
	cols := make([]schemas.Column, 0, len(kinds))
	for name, k := range kinds {
		cols = append(cols, schemas.Column{Name: name, Kind: k})
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].Name < cols[j].Name })
	return cols
}

// writeExamples writes examples Parquet to a temporary file renamed into
// place when complete.
func writeExamples(path string, exs []schemas.Example) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".join-*")
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	w, err := schemas.NewExampleWriter(tmp, featureColumns(exs))
	if err != nil {
		tmp.Close()
		return fmt.Errorf("output %s: %w", path, err)
	}
	for i := range exs {
		if err := w.Write(&exs[i]); err != nil {
			tmp.Close()
			return fmt.Errorf("output %s: example %s: %w", path, exs[i].ImpressionID, err)
		}
	}
	if err := w.Close(); err != nil {
		tmp.Close()
		return fmt.Errorf("output %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("output %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
