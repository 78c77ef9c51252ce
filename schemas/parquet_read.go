package schemas

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

// rowReader reads the rows of one Parquet file as raw leaf values and maps
// them onto records through the file's layout.
type rowReader struct {
	name   string
	kind   recordKind
	file   *parquet.File
	closer io.Closer // the opened file, when the reader opened it
	lay    *fileLayout

	group    int // next row group to open
	rows     parquet.Rows
	rowsDone bool  // rows returned io.EOF; close it once buf is consumed
	err      error // sticky: a read error ends the file
	buf      []parquet.Row
	bufN     int
	bufPos   int
	row      int64 // index in the file of the next row

	intern map[string]string
}

func openRowReader(path string, kind recordKind) (*rowReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening parquet %s file: %w", kind, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening parquet %s file: %w", kind, err)
	}
	r, err := newRowReader(f, st.Size(), path, kind)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

func newRowReader(ra io.ReaderAt, size int64, name string, kind recordKind) (r *rowReader, err error) {
	if err := checkFooter(ra, size); err != nil {
		return nil, fmt.Errorf("parquet %s file %s: %w", kind, name, err)
	}
	var pf *parquet.File
	var lay *fileLayout
	err = recovered(func() error {
		var err error
		pf, err = parquet.OpenFile(ra, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
		if err != nil {
			return err
		}
		if err := checkChunks(pf, size); err != nil {
			return err
		}
		lay, err = layoutOf(kind, pf.Schema())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("parquet %s file %s: %w", kind, name, err)
	}
	return &rowReader{name: name, kind: kind, file: pf, lay: lay, buf: make([]parquet.Row, 64)}, nil
}

// recovered runs f and turns a panic into an error: parquet-go panics on
// some corrupt files (found by FuzzReadParquet), and a bad file must not
// stop the service.
func recovered(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt file: parquet-go panicked: %v", p)
		}
	}()
	return f()
}

// checkFooter checks the footer length before parquet-go allocates a
// buffer of that size: a corrupt length would otherwise allocate gigabytes.
func checkFooter(ra io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("corrupt file: %d bytes, too short for parquet", size)
	}
	var tail [8]byte
	if _, err := ra.ReadAt(tail[:], size-8); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading footer: %w", err)
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return fmt.Errorf("corrupt file: footer of %d bytes in a file of %d", n, size)
	}
	return nil
}

// checkChunks checks that every column chunk lies inside the file, so that
// page reads cannot be sized by a corrupt offset or length.
func checkChunks(f *parquet.File, size int64) error {
	for i, rg := range f.Metadata().RowGroups {
		for j, cc := range rg.Columns {
			md := cc.MetaData
			start := md.DataPageOffset
			if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
				start = md.DictionaryPageOffset
			}
			if start < 4 || md.TotalCompressedSize < 0 || start+md.TotalCompressedSize > size || md.NumValues < 0 {
				return fmt.Errorf("corrupt file: row group %d column %d lies outside the file", i, j)
			}
		}
	}
	return nil
}

// next returns the next row's values, or io.EOF after the last row. The
// values point into the row group reader's buffers, so a row group is
// closed only once its last buffered row has been consumed.
func (r *rowReader) next() (parquet.Row, error) {
	if r.err != nil {
		return nil, r.err
	}
	for r.bufPos == r.bufN {
		if r.rows != nil && r.rowsDone {
			err := r.rows.Close()
			r.rows, r.rowsDone = nil, false
			if err != nil {
				return nil, r.errorf("closing row group: %w", err)
			}
		}
		if r.rows == nil {
			groups := r.file.RowGroups()
			if r.group >= len(groups) {
				return nil, io.EOF
			}
			r.rows = groups[r.group].Rows()
			r.group++
		}
		var n int
		err := recovered(func() error {
			var err error
			n, err = r.rows.ReadRows(r.buf)
			return err
		})
		r.bufN, r.bufPos = n, 0
		if errors.Is(err, io.EOF) {
			r.rowsDone = true
		} else if err != nil {
			r.err = r.errorf("reading rows: %w", err)
			return nil, r.err
		}
	}
	row := r.buf[r.bufPos]
	r.bufPos++
	r.row++
	return row, nil
}

func (r *rowReader) errorf(format string, args ...any) error {
	return fmt.Errorf("parquet %s file %s: "+format, append([]any{r.kind, r.name}, args...)...)
}

// rowErr wraps a column problem with the file and row.
func (r *rowReader) rowErr(field, problem string) error {
	return fmt.Errorf("parquet %s file %s: row %d: %w", r.kind, r.name, r.row-1, &FieldError{Field: field, Problem: problem})
}

// fill maps one row onto rec; features (nil for installs) is reused: its
// entries for null columns are deleted and lists reuse the capacity of the
// slice they replace.
func (r *rowReader) fill(row parquet.Row, rec *record) error {
	set := 0
	for i := 0; i < len(row); {
		col := row[i].Column()
		j := i + 1
		for j < len(row) && row[j].Column() == col {
			j++
		}
		vals := row[i:j]
		i = j
		if col < 0 || col >= len(r.lay.leaves) {
			return r.errorf("row %d: value of unknown column %d", r.row-1, col)
		}
		l := &r.lay.leaves[col]
		v := vals[0]
		null := v.DefinitionLevel() < l.nullDef
		switch l.slot {
		case skipSlot:
		case slotImpressionID, slotUserID, slotAppID:
			if null {
				if r.kind == installRecords {
					continue
				}
				return r.rowErr(l.name, "null")
			}
			if l.slot == slotAppID {
				rec.ids[l.slot] = r.str(v.ByteArray())
			} else {
				rec.ids[l.slot] = string(v.ByteArray())
			}
		case slotTS:
			if null {
				return r.rowErr(l.name, "null")
			}
			if rec.ts = v.Int64(); rec.ts < 0 {
				return r.rowErr(l.name, "negative: "+strconv.FormatInt(rec.ts, 10))
			}
		case slotLabel:
			if null {
				return r.rowErr(l.name, "null")
			}
			n := v.Int64()
			if l.phys == parquet.Int32 {
				n = int64(v.Int32())
			}
			if n != 0 && n != 1 {
				return r.rowErr(l.name, "got "+strconv.FormatInt(n, 10)+", want 0 or 1")
			}
			rec.label = int32(n)
		case slotInstallTS:
			if !null {
				rec.instTS, rec.hasInst = v.Int64(), true
			}
		default:
			if null {
				delete(rec.features, l.name)
				continue
			}
			val, err := r.feature(l, vals, rec.features[l.name])
			if err != nil {
				return err
			}
			rec.features[l.name] = val
			set++
		}
	}
	if rec.features != nil && len(rec.features) > set {
		// dst held columns this file does not have: drop them.
		for name := range rec.features {
			if !r.hasFeature(name) {
				delete(rec.features, name)
			}
		}
	}
	return nil
}

func (r *rowReader) hasFeature(name string) bool {
	for _, c := range r.lay.features {
		if c.Name == name {
			return true
		}
	}
	return false
}

// feature converts the values of one non-null feature column; old is the
// value it replaces, whose list capacity is reused.
func (r *rowReader) feature(l *leaf, vals []parquet.Value, old Value) (Value, error) {
	v := vals[0]
	switch l.kind {
	case KindString:
		return String(r.str(v.ByteArray())), nil
	case KindBool:
		return Bool(v.Boolean()), nil
	case KindNumber:
		switch l.phys {
		case parquet.Float:
			return Number(float64(v.Float())), nil
		case parquet.Int32:
			return Number(float64(v.Int32())), nil
		case parquet.Int64:
			return Number(float64(v.Int64())), nil
		}
		return Number(v.Double()), nil
	}
	// A list: one value per element, or a single value whose definition
	// level says the list is empty.
	if len(vals) == 1 && v.DefinitionLevel() < l.emptyDef {
		return Strings([]string{}), nil
	}
	strs := old.Strs[:0]
	if cap(strs) < len(vals) {
		strs = make([]string, 0, len(vals))
	}
	for k, e := range vals {
		if e.DefinitionLevel() < l.maxDef {
			return Value{}, r.rowErr(l.name, "list element "+strconv.Itoa(k)+" is null")
		}
		strs = append(strs, r.str(e.ByteArray()))
	}
	return Strings(strs), nil
}

// str copies b into a string, interning short ones while the table has room.
func (r *rowReader) str(b []byte) string {
	if len(b) > maxInternLen {
		return string(b)
	}
	if s, ok := r.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if r.intern == nil {
		r.intern = make(map[string]string, 1024)
	}
	if len(r.intern) < maxInterned {
		r.intern[s] = s
	}
	return s
}

func (r *rowReader) close() error {
	var err error
	if r.rows != nil {
		err = r.rows.Close()
		r.rows = nil
	}
	if r.closer != nil {
		err = errors.Join(err, r.closer.Close())
		r.closer = nil
	}
	if err != nil {
		return r.errorf("closing: %w", err)
	}
	return nil
}
