// Command examples labels simulated impressions with their installs and
// writes the labeled examples as one Parquet file per UTC day of the
// impressions' ts: OUT/day-001.parquet, OUT/day-002.parquet, ...
//
// It runs the product's offline join (ingest/join.Offline, the one backfill
// uses) over all the days at once, so an impression near midnight still
// gets its install from the next day's file, and only then splits the
// examples by day. The files are the input of `wdstream eval` (and of
// `wdstream backfill --examples`) in bench/continuous.sh.
//
// usage: go run ./bench/examples --impressions GLOB --installs GLOB --out DIR [--label-window 30m]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/schemas"
)

func main() {
	impGlob := flag.String("impressions", "", "impressions: glob of Parquet or JSONL files (required)")
	insGlob := flag.String("installs", "", "installs: glob of Parquet or JSONL files (required)")
	out := flag.String("out", "", "output directory (required)")
	window := flag.Duration("label-window", 30*time.Minute, "label window of the join")
	flag.Parse()
	if *impGlob == "" || *insGlob == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "examples: --impressions, --installs and --out are required")
		os.Exit(2)
	}
	if err := run(context.Background(), *impGlob, *insGlob, *out, *window); err != nil {
		fmt.Fprintln(os.Stderr, "examples:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, impGlob, insGlob, out string, window time.Duration) error {
	impFiles, err := ingest.Glob(ctx, impGlob)
	if err != nil {
		return err
	}
	defer impFiles.Close()
	insFiles, err := ingest.Glob(ctx, insGlob)
	if err != nil {
		return err
	}
	defer insFiles.Close()
	imps, err := ingest.ReadImpressions(ctx, impFiles)
	if err != nil {
		return err
	}
	ins, err := ingest.ReadInstalls(ctx, insFiles)
	if err != nil {
		return err
	}
	exs, st, err := join.Offline(imps, ins, window)
	if err != nil {
		return err
	}
	if len(exs) == 0 {
		return fmt.Errorf("no examples")
	}
	slices.SortStableFunc(exs, func(a, b schemas.Example) int {
		switch {
		case a.TS < b.TS:
			return -1
		case a.TS > b.TS:
			return 1
		}
		return 0
	})
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	cols := columns(exs)
	const day = 24 * 3_600_000
	first := exs[0].TS / day
	for lo := 0; lo < len(exs); {
		d := exs[lo].TS / day
		hi := lo
		pos := 0
		for hi < len(exs) && exs[hi].TS/day == d {
			pos += int(exs[hi].Label)
			hi++
		}
		name := filepath.Join(out, fmt.Sprintf("day-%03d.parquet", d-first+1))
		if err := write(name, cols, exs[lo:hi]); err != nil {
			return err
		}
		fmt.Printf("%s: %d examples, %d positives\n", name, hi-lo, pos)
		lo = hi
	}
	fmt.Printf("joined %d impressions and %d installs: %d examples, %d positives\n", len(imps), len(ins), st.Emitted, st.Positives)
	return nil
}

// columns returns every feature column of exs with its kind, by name.
func columns(exs []schemas.Example) []schemas.Column {
	kinds := map[string]schemas.Kind{}
	for i := range exs {
		for name, v := range exs[i].Features {
			if v.Kind != schemas.KindNull {
				kinds[name] = v.Kind
			}
		}
	}
	cols := make([]schemas.Column, 0, len(kinds))
	for name, k := range kinds {
		cols = append(cols, schemas.Column{Name: name, Kind: k})
	}
	slices.SortFunc(cols, func(x, y schemas.Column) int { return strings.Compare(x.Name, y.Name) })
	return cols
}

func write(name string, cols []schemas.Column, exs []schemas.Example) (err error) {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := schemas.NewExampleWriter(bw, cols)
	if err != nil {
		return err
	}
	for i := range exs {
		if err := w.Write(&exs[i]); err != nil {
			return fmt.Errorf("%s: example %d: %w", name, i, err)
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return bw.Flush()
}
