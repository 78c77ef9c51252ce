package simulate

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wdstream/wdstream/schemas"
)

// dayFile is one output file of one day, written under name+".tmp" and
// renamed to name by close.
type dayFile struct {
	name string
	day  int
	f    *os.File
	buf  *bufio.Writer
	// exactly one of these is set for Parquet files
	imps  *schemas.ImpressionWriter
	insts *schemas.InstallWriter
	line  []byte // JSONL scratch
}

// The two kinds of files, an index of sink.created.
const (
	kindImpressions = iota
	kindInstalls
)

func kindDir(kind int) string {
	if kind == kindImpressions {
		return "impressions"
	}
	return "installs"
}

// openDayFile starts the file of kind for day (0-based).
func openDayFile(opts WriteOptions, kind, day int, cols []schemas.Column) (*dayFile, error) {
	name := filepath.Join(opts.Dir, kindDir(kind), fmt.Sprintf("day-%03d.%s", day+1, opts.Format))
	f, err := os.Create(name + ".tmp")
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", name, err)
	}
	df := &dayFile{name: name, day: day, f: f, buf: bufio.NewWriterSize(f, 1<<20)}
	if opts.Format == FormatParquet {
		if kind == kindImpressions {
			df.imps, err = schemas.NewImpressionWriter(df.buf, cols, opts.Parquet...)
		} else {
			df.insts, err = schemas.NewInstallWriter(df.buf, opts.Parquet...)
		}
		if err != nil {
			df.remove()
			return nil, fmt.Errorf("starting %s: %w", name, err)
		}
	}
	return df, nil
}

func (df *dayFile) writeImpression(imp *schemas.Impression) error {
	var err error
	if df.imps != nil {
		err = df.imps.Write(imp)
	} else {
		df.line = append(schemas.AppendImpressionJSON(df.line[:0], imp), '\n')
		_, err = df.buf.Write(df.line)
	}
	if err != nil {
		return fmt.Errorf("writing impression %s to %s: %w", imp.ImpressionID, df.name, err)
	}
	return nil
}

func (df *dayFile) writeInstall(in *schemas.Install) error {
	var err error
	if df.insts != nil {
		err = df.insts.Write(in)
	} else {
		df.line = append(schemas.AppendInstallJSON(df.line[:0], in), '\n')
		_, err = df.buf.Write(df.line)
	}
	if err != nil {
		return fmt.Errorf("writing install of %s by %s to %s: %w", in.AppID, in.UserID, df.name, err)
	}
	return nil
}

// close finishes the file and renames it into place.
func (df *dayFile) close() error {
	var errs []error
	if df.imps != nil {
		errs = append(errs, df.imps.Close())
	}
	if df.insts != nil {
		errs = append(errs, df.insts.Close())
	}
	errs = append(errs, df.buf.Flush(), df.f.Sync(), df.f.Close())
	if err := errors.Join(errs...); err != nil {
		os.Remove(df.f.Name())
		return fmt.Errorf("finishing %s: %w", df.name, err)
	}
	if err := os.Rename(df.f.Name(), df.name); err != nil {
		os.Remove(df.f.Name())
		return fmt.Errorf("finishing %s: %w", df.name, err)
	}
	return nil
}

// remove abandons the file.
func (df *dayFile) remove() {
	df.f.Close()
	os.Remove(df.f.Name())
}
