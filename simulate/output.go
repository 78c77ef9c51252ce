package simulate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wdstream/wdstream/schemas"
)

// Format is the file format WriteFiles writes.
type Format string

// The formats WriteFiles supports.
const (
	FormatParquet Format = "parquet"
	FormatJSONL   Format = "jsonl" // one JSON object per line
)

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatParquet, FormatJSONL:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want parquet or jsonl", s)
}

// ImpressionColumns returns the feature columns of the simulator's
// impressions, for a Parquet writer or a schema.
func ImpressionColumns() []schemas.Column {
	return []schemas.Column{
		{Name: ColPosition, Kind: schemas.KindNumber},
		{Name: ColCountry, Kind: schemas.KindString},
		{Name: ColLanguage, Kind: schemas.KindString},
		{Name: ColDevice, Kind: schemas.KindString},
		{Name: ColAgeBucket, Kind: schemas.KindString},
		{Name: ColInstalledApps, Kind: schemas.KindStrings},
		{Name: ColAppCategory, Kind: schemas.KindString},
		{Name: ColAppDeveloper, Kind: schemas.KindString},
		{Name: ColAppRating, Kind: schemas.KindNumber},
		{Name: ColAppSizeMB, Kind: schemas.KindNumber},
		{Name: ColAppPrice, Kind: schemas.KindNumber},
		{Name: ColTrueP, Kind: schemas.KindNumber},
	}
}

// Progress counts the events written so far.
type Progress struct {
	Impressions, Installs int64
	Day                   int // 0-based day of the latest event
}

// Events returns Impressions + Installs.
func (p Progress) Events() int64 { return p.Impressions + p.Installs }

// WriteOptions configures WriteFiles.
type WriteOptions struct {
	// Dir receives impressions/day-NNN.EXT and installs/day-NNN.EXT, one
	// file per simulated day (NNN from 001), each sorted by ts. Installs
	// that arrive after the last midnight go to the last day's file.
	// Required.
	Dir string
	// Format of the files. Default FormatParquet.
	Format Format
	// Parquet writer options (compression, row group size). Default none.
	Parquet []schemas.WriterOption
	// Progress, when set, is called from the writing goroutine after every
	// batch of events (a few thousand).
	Progress func(Progress)
}

// batchEvents is how many events the generator hands to the writer at
// once; queueBatches bounds the batches in flight (backpressure).
const (
	batchEvents  = 4096
	queueBatches = 8
)

// WriteFiles runs w and writes its events to files, generating on one
// goroutine while writing on another. The output depends only on w's
// configuration, never on scheduling. Each file is written under a
// temporary name and renamed when complete; on error, the files of the
// day in progress are removed. It returns the run's report.
func WriteFiles(ctx context.Context, w *World, opts WriteOptions) (*Report, error) {
	if opts.Dir == "" {
		return nil, errors.New("write files: no output directory")
	}
	if opts.Format == "" {
		opts.Format = FormatParquet
	}
	if _, err := ParseFormat(string(opts.Format)); err != nil {
		return nil, fmt.Errorf("write files: %w", err)
	}
	for _, sub := range []string{"impressions", "installs"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("write files: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []Event, queueBatches)
	// Written batches come back for reuse: their impressions' maps are
	// refilled instead of allocated (the writers copy what they keep).
	free := make(chan []Event, queueBatches+2)
	sink := newSink(w, opts)
	done := make(chan error, 1)
	go func() {
		err := sink.consume(ctx, batches, free)
		if err != nil {
			cancel() // stop the generator; drain what it still sends
			for range batches {
			}
		}
		done <- err
	}()

	var spare []*schemas.Impression
	newBatch := func() []Event {
		select {
		case b := <-free:
			for _, e := range b {
				if e.Impression != nil {
					spare = append(spare, e.Impression)
				}
			}
			return b[:0]
		default:
			return make([]Event, 0, batchEvents)
		}
	}
	reuse := func() *schemas.Impression {
		if len(spare) == 0 {
			return nil
		}
		imp := spare[len(spare)-1]
		spare = spare[:len(spare)-1]
		return imp
	}
	batch := newBatch()
	rep, runErr := w.run(ctx, func(e Event) error {
		batch = append(batch, e)
		if len(batch) == batchEvents {
			select {
			case batches <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = newBatch()
		}
		return nil
	}, reuse)
	if runErr == nil && len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	writeErr := <-done
	if writeErr == nil && runErr == nil {
		writeErr = sink.finish()
	} else {
		sink.abort()
	}
	if writeErr != nil {
		// The generator's error, if any, is then just the cancel.
		if errors.Is(writeErr, context.Canceled) || errors.Is(writeErr, context.DeadlineExceeded) {
			return rep, fmt.Errorf("writing files: %w", writeErr)
		}
		return rep, writeErr
	}
	if runErr != nil {
		return rep, fmt.Errorf("generating events: %w", runErr)
	}
	return rep, nil
}

// sink routes events to the file of their day.
type sink struct {
	w           *World
	opts        WriteOptions
	imp, inst   *dayFile
	prog        Progress
	impressions []schemas.Column
}

func newSink(w *World, opts WriteOptions) *sink {
	return &sink{w: w, opts: opts, impressions: ImpressionColumns()}
}

func (s *sink) consume(ctx context.Context, batches <-chan []Event, free chan<- []Event) error {
	for b := range batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, e := range b {
			if err := s.write(e); err != nil {
				return err
			}
		}
		if s.opts.Progress != nil {
			s.opts.Progress(s.prog)
		}
		select {
		case free <- b:
		default:
		}
	}
	return nil
}

func (s *sink) write(e Event) error {
	if imp := e.Impression; imp != nil {
		d := s.w.DayOf(imp.TS)
		if err := s.advance(&s.imp, "impressions", d); err != nil {
			return err
		}
		s.prog.Impressions++
		s.prog.Day = d
		return s.imp.writeImpression(imp)
	}
	d := s.w.DayOf(e.Install.TS)
	if err := s.advance(&s.inst, "installs", d); err != nil {
		return err
	}
	s.prog.Installs++
	return s.inst.writeInstall(e.Install)
}

// advance makes *f the file of day d, finishing earlier days' files (and
// writing empty files for days without events).
func (s *sink) advance(f **dayFile, kind string, d int) error {
	for *f == nil || (*f).day < d {
		next := 0
		if *f != nil {
			next = (*f).day + 1
			if err := (*f).close(); err != nil {
				return err
			}
		}
		nf, err := s.open(kind, next)
		if err != nil {
			return err
		}
		*f = nf
	}
	return nil
}

// finish closes the last files and writes empty files for any day left.
func (s *sink) finish() error {
	last := s.w.cfg.Days - 1
	for _, k := range []struct {
		f    **dayFile
		kind string
	}{{&s.imp, "impressions"}, {&s.inst, "installs"}} {
		if err := s.advance(k.f, k.kind, last); err != nil {
			return err
		}
		if err := (*k.f).close(); err != nil {
			return err
		}
		*k.f = nil
	}
	return nil
}

// abort removes the files in progress.
func (s *sink) abort() {
	for _, f := range []*dayFile{s.imp, s.inst} {
		if f != nil {
			f.remove()
		}
	}
	s.imp, s.inst = nil, nil
}

func (s *sink) open(kind string, day int) (*dayFile, error) {
	name := filepath.Join(s.opts.Dir, kind, fmt.Sprintf("day-%03d.%s", day+1, s.opts.Format))
	return openDayFile(name, day, kind, s.opts, s.impressions)
}
