package simulate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

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

// batchEvents is how many events the generator hands to a writer at
// once; queueBatches bounds the batches in flight per writer
// (backpressure). Day d is written by lane d%lanes. Encoding costs more
// than generating, so a lane's queue holds about a default day (256Ki
// events): while one lane still encodes day d, the generator fills day
// d+1 for the other, and both cores encode.
const (
	batchEvents  = 4096
	queueBatches = 64
	lanes        = 2
)

// WriteFiles runs w and writes its events to files: the generator runs on
// the calling goroutine, and each day's files are written by one of two
// writer goroutines (alternating by day), so that generation and encoding
// overlap. The files depend only on w's configuration, never on
// scheduling. Each file is written under a temporary name and renamed when
// complete; on error, the files in progress are removed. It returns the
// run's report. Progress is called on the calling goroutine.
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
	for kind := range 2 {
		if err := os.MkdirAll(filepath.Join(opts.Dir, kindDir(kind)), 0o755); err != nil {
			return nil, fmt.Errorf("write files: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Written batches come back for reuse: their impressions' maps are
	// refilled instead of allocated (the writers copy what they keep).
	free := make(chan []Event, lanes*queueBatches+2)
	created := make([][2]bool, w.cfg.Days) // [impressions, installs] file of each day
	var ls [lanes]*sink
	var wg sync.WaitGroup
	for i := range ls {
		ls[i] = &sink{w: w, opts: opts, cols: ImpressionColumns(), in: make(chan []Event, queueBatches), created: created}
		wg.Add(1)
		go func(s *sink) {
			defer wg.Done()
			if s.err = s.consume(ctx, free); s.err != nil {
				cancel() // stop the generator; drain what it still sends
				for range s.in {
				}
			}
		}(ls[i])
	}

	gen := generator{free: free}
	var batches [lanes][]Event
	for i := range batches {
		batches[i] = gen.newBatch()
	}
	progress := func(day int) {
		if opts.Progress == nil {
			return
		}
		p := Progress{Day: day}
		for _, s := range ls {
			p.Impressions += s.imps.Load()
			p.Installs += s.insts.Load()
		}
		opts.Progress(p)
	}
	send := func(l int) error {
		select {
		case ls[l].in <- batches[l]:
		case <-ctx.Done():
			return ctx.Err()
		}
		batches[l] = gen.newBatch()
		return nil
	}
	rep, runErr := w.run(ctx, func(e Event) error {
		d := w.DayOf(eventTime(e))
		l := d % lanes
		batches[l] = append(batches[l], e)
		if len(batches[l]) == batchEvents {
			if err := send(l); err != nil {
				return err
			}
			progress(d)
		}
		return nil
	}, gen.reuse)
	for l := range batches {
		if runErr == nil && len(batches[l]) > 0 {
			runErr = send(l)
		}
		close(ls[l].in)
	}
	wg.Wait()

	var errs []error
	for _, s := range ls {
		if s.err == nil && runErr == nil {
			s.err = s.finish()
		} else {
			s.abort()
		}
		if s.err != nil {
			errs = append(errs, s.err)
		}
	}
	if len(errs) == 0 && runErr == nil {
		errs = append(errs, writeEmpty(w, opts, created))
	}
	if err := errors.Join(errs...); err != nil {
		// The generator's error, if any, is then just the cancel.
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return rep, fmt.Errorf("writing files: %w", err)
		}
		return rep, err
	}
	if runErr != nil {
		return rep, fmt.Errorf("generating events: %w", runErr)
	}
	progress(w.cfg.Days - 1)
	return rep, nil
}

// generator holds the generating goroutine's recycled batches and
// impressions.
type generator struct {
	free  chan []Event
	spare []*schemas.Impression
}

func (g *generator) newBatch() []Event {
	select {
	case b := <-g.free:
		for _, e := range b {
			if e.Impression != nil {
				g.spare = append(g.spare, e.Impression)
			}
		}
		return b[:0]
	default:
		return make([]Event, 0, batchEvents)
	}
}

func (g *generator) reuse() *schemas.Impression {
	if len(g.spare) == 0 {
		return nil
	}
	imp := g.spare[len(g.spare)-1]
	g.spare = g.spare[:len(g.spare)-1]
	return imp
}

// sink is one writer lane: it writes the events of its days to the files
// of their day.
type sink struct {
	w           *World
	opts        WriteOptions
	cols        []schemas.Column
	in          chan []Event
	imp, inst   *dayFile
	imps, insts atomic.Int64
	created     [][2]bool // shared: each lane sets only its own days
	err         error
}

func (s *sink) consume(ctx context.Context, free chan<- []Event) error {
	for b := range s.in {
		if err := ctx.Err(); err != nil {
			return err
		}
		var ni, nn int64
		for _, e := range b {
			if err := s.write(e); err != nil {
				return err
			}
			if e.Impression != nil {
				ni++
			} else {
				nn++
			}
		}
		s.imps.Add(ni)
		s.insts.Add(nn)
		select {
		case free <- b:
		default:
		}
	}
	return nil
}

func (s *sink) write(e Event) error {
	if imp := e.Impression; imp != nil {
		f, err := s.file(&s.imp, kindImpressions, s.w.DayOf(imp.TS))
		if err != nil {
			return err
		}
		return f.writeImpression(imp)
	}
	f, err := s.file(&s.inst, kindInstalls, s.w.DayOf(e.Install.TS))
	if err != nil {
		return err
	}
	return f.writeInstall(e.Install)
}

// file returns the open file of kind for day d, finishing the lane's
// previous file of that kind.
func (s *sink) file(f **dayFile, kind, d int) (*dayFile, error) {
	if *f != nil && (*f).day == d {
		return *f, nil
	}
	if *f != nil {
		err := (*f).close()
		*f = nil
		if err != nil {
			return nil, err
		}
	}
	nf, err := openDayFile(s.opts, kind, d, s.cols)
	if err != nil {
		return nil, err
	}
	s.created[d][kind] = true
	*f = nf
	return nf, nil
}

// finish closes the lane's open files.
func (s *sink) finish() error {
	var errs []error
	for _, f := range []**dayFile{&s.imp, &s.inst} {
		if *f != nil {
			errs = append(errs, (*f).close())
			*f = nil
		}
	}
	return errors.Join(errs...)
}

// abort removes the lane's files in progress.
func (s *sink) abort() {
	for _, f := range []**dayFile{&s.imp, &s.inst} {
		if *f != nil {
			(*f).remove()
			*f = nil
		}
	}
}

// writeEmpty writes the files of days without events, so that every day
// has both files.
func writeEmpty(w *World, opts WriteOptions, created [][2]bool) error {
	cols := ImpressionColumns()
	for d := range created {
		for kind := range created[d] {
			if created[d][kind] {
				continue
			}
			f, err := openDayFile(opts, kind, d, cols)
			if err != nil {
				return err
			}
			if err := f.close(); err != nil {
				return err
			}
		}
	}
	return nil
}

func eventTime(e Event) int64 {
	if e.Impression != nil {
		return e.Impression.TS
	}
	return e.Install.TS
}
