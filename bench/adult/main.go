// Command adult converts the UCI Adult census-income files of the TensorFlow
// Wide & Deep tutorial (bench/data/adult: adult.data, adult.test) to
// wdstream examples in Parquet, the input of `wdstream backfill --examples`
// and `wdstream eval`.
//
// Each row becomes one example:
//   - impression_id "<prefix>-<row>" (row counted from 1 after the header)
//     and ts = row (milliseconds after the epoch), so that the file's order
//     is its time order; user_id and app_id are empty (the data has none);
//   - label 1 when the income column is ">50K" (adult.test writes ">50K."
//     with a trailing period, which is dropped), 0 for "<=50K"; a
//     positive's install_ts (which the example contract requires with
//     label 1) is its ts;
//   - the census columns under their header names: age, fnlwgt,
//     education_num, capital_gain, capital_loss and hours_per_week as
//     numbers, the others (workclass, education, marital_status,
//     occupation, relationship, race, sex, native_country) as strings; a
//     missing value ("?") is null;
//   - age_bucket, a string: the tutorial's age buckets (boundaries 18, 25,
//     30, 35, 40, 45, 50, 55, 60, 65: "<18", "18-24", ..., "65+"), so that
//     a spec can cross age with other columns (a numeric feature cannot be
//     crossed).
//
// usage: go run ./bench/adult --in adult.data --out train.parquet [--prefix train]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wdstream/wdstream/schemas"
)

// header is the column order of both files (their first line).
var header = []string{"age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
	"occupation", "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week",
	"native_country", "ltgt50k"}

var numeric = map[string]bool{"age": true, "fnlwgt": true, "education_num": true,
	"capital_gain": true, "capital_loss": true, "hours_per_week": true}

// ageBounds are the tutorial's age bucket boundaries.
var ageBounds = []float64{18, 25, 30, 35, 40, 45, 50, 55, 60, 65}

func main() {
	in := flag.String("in", "", "adult.data or adult.test (required)")
	out := flag.String("out", "", "output Parquet file (required)")
	prefix := flag.String("prefix", "", "impression_id prefix (default: the input's base name)")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "adult: --in and --out are required")
		os.Exit(2)
	}
	if *prefix == "" {
		*prefix = filepath.Base(*in)
	}
	n, pos, err := convert(*in, *out, *prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "adult:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d examples, %d positives (>50K), written to %s\n", *in, n, pos, *out)
}

func columns() []schemas.Column {
	var cols []schemas.Column
	for _, h := range header[:len(header)-1] {
		k := schemas.KindString
		if numeric[h] {
			k = schemas.KindNumber
		}
		cols = append(cols, schemas.Column{Name: h, Kind: k})
	}
	return append(cols, schemas.Column{Name: "age_bucket", Kind: schemas.KindString})
}

func convert(inPath, outPath, prefix string) (n, pos int, err error) {
	in, err := os.Open(inPath)
	if err != nil {
		return 0, 0, err
	}
	defer in.Close()
	f, err := os.Create(outPath)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriter(f)
	w, err := schemas.NewExampleWriter(bw, columns())
	if err != nil {
		return 0, 0, err
	}
	if n, pos, err = rows(in, inPath, prefix, w.Write); err != nil {
		return n, pos, err
	}
	if err := w.Close(); err != nil {
		return n, pos, err
	}
	return n, pos, bw.Flush()
}

// rows parses the file (header line first, blank lines skipped) and calls
// write for every example.
func rows(r io.Reader, name, prefix string, write func(*schemas.Example) error) (n, pos int, err error) {
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			if text != strings.Join(header, ",") {
				return n, pos, fmt.Errorf("%s:1: header %q, want %q", name, text, strings.Join(header, ","))
			}
			continue
		}
		if text == "" {
			continue
		}
		ex, err := parse(text, n+1, prefix)
		if err != nil {
			return n, pos, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if err := write(ex); err != nil {
			return n, pos, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		n++
		pos += int(ex.Label)
	}
	return n, pos, sc.Err()
}

// parse turns one data line into example number row.
func parse(text string, row int, prefix string) (*schemas.Example, error) {
	vals := strings.Split(text, ",")
	if len(vals) != len(header) {
		return nil, fmt.Errorf("%d values, want %d", len(vals), len(header))
	}
	ex := &schemas.Example{}
	ex.ImpressionID = fmt.Sprintf("%s-%06d", prefix, row)
	ex.TS = int64(row)
	ex.Features = make(map[string]schemas.Value, len(header))
	for i, h := range header[:len(header)-1] {
		v := strings.TrimSpace(vals[i])
		if v == "?" || v == "" {
			continue // missing: null
		}
		if !numeric[h] {
			ex.Features[h] = schemas.String(v)
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h, err)
		}
		ex.Features[h] = schemas.Number(x)
		if h == "age" {
			ex.Features["age_bucket"] = schemas.String(ageBucket(x))
		}
	}
	switch label := strings.TrimSuffix(strings.TrimSpace(vals[len(vals)-1]), "."); label {
	case ">50K":
		// The example contract gives a positive an install_ts: its ts.
		ex.Label, ex.InstallTS, ex.HasInstallTS = 1, ex.TS, true
	case "<=50K":
	default:
		return nil, fmt.Errorf("label %q, want <=50K or >50K", label)
	}
	return ex, nil
}

// ageBucket names the tutorial bucket of age.
func ageBucket(age float64) string {
	if age < ageBounds[0] {
		return fmt.Sprintf("<%g", ageBounds[0])
	}
	for i := 1; i < len(ageBounds); i++ {
		if age < ageBounds[i] {
			return fmt.Sprintf("%g-%g", ageBounds[i-1], ageBounds[i]-1)
		}
	}
	return fmt.Sprintf("%g+", ageBounds[len(ageBounds)-1])
}
