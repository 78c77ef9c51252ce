package schemas

import (
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Compression is the codec of a Parquet writer's pages.
type Compression uint8

const (
	// CompressionZstd is zstd at its fastest level (the default): about
	// snappy's speed with smaller files.
	CompressionZstd Compression = iota
	// CompressionSnappy is snappy.
	CompressionSnappy
	// CompressionNone writes pages uncompressed.
	CompressionNone
)

// DefaultRowGroupRows is the number of rows after which a writer cuts a row
// group unless WithRowGroupRows says otherwise.
const DefaultRowGroupRows = 128 << 10

// WriterOption configures a Parquet writer.
type WriterOption func(*writerConfig)

type writerConfig struct {
	rowGroupRows int
	compression  Compression
}

// WithRowGroupRows sets the rows per row group. Default DefaultRowGroupRows
// (131072); must be > 0.
func WithRowGroupRows(n int) WriterOption {
	return func(c *writerConfig) { c.rowGroupRows = n }
}

// WithCompression sets the page codec. Default CompressionZstd.
func WithCompression(codec Compression) WriterOption {
	return func(c *writerConfig) { c.compression = codec }
}

func (c *writerConfig) validate() error {
	if c.rowGroupRows <= 0 {
		return fmt.Errorf("row group rows %d: must be > 0", c.rowGroupRows)
	}
	if c.compression > CompressionNone {
		return fmt.Errorf("compression %d: unknown codec", c.compression)
	}
	return nil
}

func (c *writerConfig) codec() compress.Codec {
	switch c.compression {
	case CompressionSnappy:
		return new(snappy.Codec)
	case CompressionNone:
		return new(uncompressed.Codec)
	}
	return &zstd.Codec{Level: zstd.SpeedFastest}
}

// batchRows is how many rows a writer gathers before handing each column's
// values to its parquet-go column writer.
const batchRows = 256

// rowWriter writes records of one kind column by column: it appends each
// record's values, with their levels, straight to per-column batches and
// hands whole batches to parquet-go's column writers, without reflection
// and without building parquet.Rows (measured: a third less CPU per row
// than Writer.WriteRows). It cuts row groups itself.
type rowWriter struct {
	kind         recordKind
	pw           *parquet.GenericWriter[any]
	leaves       []leaf
	cols         [][]parquet.Value // per leaf column, the batch's values
	n            int               // rows in the batch
	inGroup      int               // rows in the current row group
	rowGroupRows int
	undeclared   int64
	closed       bool
	err          error // sticky: the file is unusable after a write error
	mark         []int // per column, its length before the current record
}

func newRowWriter(w io.Writer, kind recordKind, features []Column, opts []WriterOption) (*rowWriter, error) {
	cfg := writerConfig{rowGroupRows: DefaultRowGroupRows}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("parquet %s writer: %w", kind, err)
	}
	if err := checkColumns(features); err != nil {
		return nil, fmt.Errorf("parquet %s writer: %w", kind, err)
	}
	schema := parquetSchema(kind, features)
	kinds := make(map[string]Kind, len(features))
	for _, c := range features {
		kinds[c.Name] = c.Kind
	}
	rw := &rowWriter{kind: kind, rowGroupRows: cfg.rowGroupRows}
	for i, path := range schema.Columns() {
		l := leaf{index: i, name: path[0], slot: slotOf(kind, path[0]), kind: kinds[path[0]]}
		rw.leaves = append(rw.leaves, l)
		rw.cols = append(rw.cols, make([]parquet.Value, 0, batchRows))
		rw.mark = append(rw.mark, 0)
	}
	popts := []parquet.WriterOption{
		schema,
		parquet.Compression(cfg.codec()),
		parquet.KeyValueMetadata("wdstream.record", kind.String()),
	}
	for _, path := range schema.Columns() {
		// Min/max bounds of string pages cost an eighth of the write time
		// and serve no query we run: keep them for numbers (ts) only.
		if lc, ok := schema.Lookup(path...); ok && lc.Node.Type().Kind() == parquet.ByteArray {
			popts = append(popts, parquet.SkipPageBounds(path...), parquet.SkipPageStatistics(path...))
		}
	}
	rw.pw = parquet.NewGenericWriter[any](w, popts...)
	return rw, nil
}

// record is a view of one record of any kind for the row builder.
type record struct {
	ids      [slotAppID + 1]string // by slot: impression_id, user_id, app_id at their slot
	ts       int64
	label    int32
	instTS   int64
	hasInst  bool
	features map[string]Value
}

func (w *rowWriter) write(r *record) error {
	if w.closed {
		return fmt.Errorf("parquet %s writer: write after close", w.kind)
	}
	if w.err != nil {
		return w.err
	}
	if err := w.appendRecord(r); err != nil {
		// Drop the record's values already appended to some columns.
		for i, m := range w.mark {
			clear(w.cols[i][m:])
			w.cols[i] = w.cols[i][:m]
		}
		return fmt.Errorf("parquet %s writer: %w", w.kind, err)
	}
	w.n++
	if w.n == batchRows || w.inGroup+w.n == w.rowGroupRows {
		return w.flushBatch()
	}
	return nil
}

// flushBatch hands the batch to the column writers and cuts a row group
// when it is full.
func (w *rowWriter) flushBatch() error {
	if w.n == 0 {
		return nil
	}
	cws := w.pw.ColumnWriters()
	for i, vals := range w.cols {
		if _, err := cws[i].WriteRowValues(vals); err != nil {
			w.err = fmt.Errorf("parquet %s writer: writing column %q: %w", w.kind, w.leaves[i].name, err)
			return w.err
		}
		clear(vals) // drop references to the records' strings
		w.cols[i] = vals[:0]
	}
	w.inGroup += w.n
	w.n = 0
	if w.inGroup >= w.rowGroupRows {
		w.inGroup = 0
		if err := w.pw.Flush(); err != nil {
			w.err = fmt.Errorf("parquet %s writer: writing row group: %w", w.kind, err)
			return w.err
		}
	}
	return nil
}

// bytesOf returns s's bytes without a copy; parquet-go copies them into its
// column buffers and never writes to them.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func (w *rowWriter) appendRecord(r *record) error {
	for i, c := range w.cols {
		w.mark[i] = len(c)
	}
	matched := 0
	for i := range w.leaves {
		l := &w.leaves[i]
		switch l.slot {
		case slotImpressionID, slotUserID, slotAppID:
			s := r.ids[l.slot]
			if w.kind == installRecords && s == "" {
				w.cols[i] = append(w.cols[i], parquet.NullValue().Level(0, 0, i))
			} else if w.kind == installRecords {
				w.cols[i] = append(w.cols[i], parquet.ByteArrayValue(bytesOf(s)).Level(0, 1, i))
			} else {
				w.cols[i] = append(w.cols[i], parquet.ByteArrayValue(bytesOf(s)).Level(0, 0, i))
			}
		case slotTS:
			w.cols[i] = append(w.cols[i], parquet.Int64Value(r.ts).Level(0, 0, i))
		case slotLabel:
			w.cols[i] = append(w.cols[i], parquet.Int32Value(r.label).Level(0, 0, i))
		case slotInstallTS:
			if r.hasInst {
				w.cols[i] = append(w.cols[i], parquet.Int64Value(r.instTS).Level(0, 1, i))
			} else {
				w.cols[i] = append(w.cols[i], parquet.NullValue().Level(0, 0, i))
			}
		default:
			v, ok := r.features[l.name]
			if !ok || v.Kind == KindNull {
				w.cols[i] = append(w.cols[i], parquet.NullValue().Level(0, 0, i))
				continue
			}
			matched++
			if v.Kind != l.kind {
				return &FieldError{Field: l.name, Problem: "value is " + v.Kind.String() + ", column holds " + l.kind.String()}
			}
			switch v.Kind {
			case KindString:
				w.cols[i] = append(w.cols[i], parquet.ByteArrayValue(bytesOf(v.Str)).Level(0, 1, i))
			case KindNumber:
				w.cols[i] = append(w.cols[i], parquet.DoubleValue(v.Num).Level(0, 1, i))
			case KindBool:
				w.cols[i] = append(w.cols[i], parquet.BooleanValue(v.Bool).Level(0, 1, i))
			case KindStrings:
				if len(v.Strs) == 0 {
					w.cols[i] = append(w.cols[i], parquet.NullValue().Level(0, 1, i)) // an empty list
				}
				for j, s := range v.Strs {
					w.cols[i] = append(w.cols[i], parquet.ByteArrayValue(bytesOf(s)).Level(min(j, 1), 2, i))
				}
			}
		}
	}
	if len(r.features) > matched {
		for name, v := range r.features {
			if v.Kind != KindNull && slotOf(w.kind, name) == slotFeature && !w.declared(name) {
				w.undeclared++
				break
			}
		}
	}
	return nil
}

func (w *rowWriter) declared(name string) bool {
	for i := range w.leaves {
		if w.leaves[i].slot == slotFeature && w.leaves[i].name == name {
			return true
		}
	}
	return false
}

func (w *rowWriter) close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.err
	if err == nil {
		err = w.flushBatch()
	}
	if cerr := w.pw.Close(); cerr != nil {
		cerr = fmt.Errorf("parquet %s writer: closing: %w", w.kind, cerr)
		err = errors.Join(err, cerr)
	}
	return err
}
