package schemas

import (
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// ArrowExampleReader reads the examples of an Arrow IPC file (the file
// format, also Feather v2) whose schema has ExampleArrowSchema's layout:
// what pyarrow writes with pyarrow.ipc.new_file or
// pyarrow.feather.write_feather from a table of examples (compressed or
// not). It reads one record batch at a time.
type ArrowExampleReader struct {
	name string
	r    *ipc.FileReader
	rec  arrow.Record // the current batch
	next int          // index of the next batch
	row  int          // next row of rec
}

// NewArrowExampleReader opens the Arrow IPC file of size bytes read
// through ra; name is the file's name in errors.
func NewArrowExampleReader(ra io.ReaderAt, size int64, name string) (*ArrowExampleReader, error) {
	r, err := ipc.NewFileReader(io.NewSectionReader(ra, 0, size), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("arrow file %s: %w", name, err)
	}
	if err := CheckExampleArrowSchema(r.Schema()); err != nil {
		r.Close()
		return nil, fmt.Errorf("arrow file %s: %w", name, err)
	}
	return &ArrowExampleReader{name: name, r: r}, nil
}

// Read reads the next example into dst (reusing its Features map); io.EOF
// after the last.
func (a *ArrowExampleReader) Read(dst *Example) error {
	for a.rec == nil || int64(a.row) >= a.rec.NumRows() {
		if a.rec != nil {
			a.rec.Release()
			a.rec = nil
		}
		if a.next >= a.r.NumRecords() {
			return io.EOF
		}
		rec, err := a.r.Record(a.next)
		if err != nil {
			return fmt.Errorf("arrow file %s: batch %d: %w", a.name, a.next, err)
		}
		rec.Retain()
		a.rec, a.row = rec, 0
		a.next++
	}
	err := RecordExample(a.rec, a.row, dst)
	a.row++
	if err != nil {
		return fmt.Errorf("arrow file %s: %w", a.name, err)
	}
	return nil
}

// Close releases the reader.
func (a *ArrowExampleReader) Close() error {
	if a.rec != nil {
		a.rec.Release()
		a.rec = nil
	}
	return errors.Join(a.r.Close())
}
