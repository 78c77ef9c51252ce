package schemas

import "io"

// ImpressionReader reads the impressions of one Parquet file, in file
// order. Feature columns are inferred from the file's schema (Columns). It
// is not safe for concurrent use.
type ImpressionReader struct{ r *rowReader }

// OpenImpressions opens the Parquet file at path. A file missing a fixed
// column or holding a column of the wrong type is an error naming the file
// and the column (a wrapped *FieldError). Close closes the file.
func OpenImpressions(path string) (*ImpressionReader, error) {
	r, err := openRowReader(path, impressionRecords)
	if err != nil {
		return nil, err
	}
	return &ImpressionReader{r}, nil
}

// NewImpressionReader reads a Parquet file of size bytes from ra; name
// identifies it in errors. Close does not close ra.
func NewImpressionReader(ra io.ReaderAt, size int64, name string) (*ImpressionReader, error) {
	r, err := newRowReader(ra, size, name, impressionRecords)
	if err != nil {
		return nil, err
	}
	return &ImpressionReader{r}, nil
}

// Columns returns the file's feature columns in file order.
func (r *ImpressionReader) Columns() []Column { return append([]Column(nil), r.r.lay.features...) }

// NumRows returns the number of rows in the file.
func (r *ImpressionReader) NumRows() int64 { return r.r.file.NumRows() }

// Read reads the next impression into dst and returns io.EOF after the
// last one. It overwrites dst, including its Features map and the lists in
// it (whose memory it reuses): pass a fresh Impression to keep the previous
// one. A null in a fixed column or a null list element is an error naming
// the file, row and column.
func (r *ImpressionReader) Read(dst *Impression) error {
	row, err := r.r.next()
	if err != nil {
		return err
	}
	if dst.Features == nil {
		dst.Features = make(map[string]Value, len(r.r.lay.features))
	}
	rec := record{features: dst.Features}
	if err := r.r.fill(row, &rec); err != nil {
		return err
	}
	dst.ImpressionID, dst.TS, dst.UserID, dst.AppID = rec.ids[slotImpressionID], rec.ts, rec.ids[slotUserID], rec.ids[slotAppID]
	return nil
}

// Close releases the reader (and closes the file OpenImpressions opened).
func (r *ImpressionReader) Close() error { return r.r.close() }

// ExampleReader reads the examples of one Parquet file. Only the label
// column is required: impression_id, ts, user_id, app_id and install_ts are
// read where present (zero otherwise). When the file has install_ts, a
// label of 1 needs it set and a label of 0 needs it null.
type ExampleReader struct{ r *rowReader }

// OpenExamples opens the Parquet file at path, as OpenImpressions.
func OpenExamples(path string) (*ExampleReader, error) {
	r, err := openRowReader(path, exampleRecords)
	if err != nil {
		return nil, err
	}
	return &ExampleReader{r}, nil
}

// NewExampleReader reads a Parquet file of size bytes from ra, as
// NewImpressionReader.
func NewExampleReader(ra io.ReaderAt, size int64, name string) (*ExampleReader, error) {
	r, err := newRowReader(ra, size, name, exampleRecords)
	if err != nil {
		return nil, err
	}
	return &ExampleReader{r}, nil
}

// Columns returns the file's feature columns in file order.
func (r *ExampleReader) Columns() []Column { return append([]Column(nil), r.r.lay.features...) }

// NumRows returns the number of rows in the file.
func (r *ExampleReader) NumRows() int64 { return r.r.file.NumRows() }

// Read reads the next example into dst, as ImpressionReader.Read.
func (r *ExampleReader) Read(dst *Example) error {
	row, err := r.r.next()
	if err != nil {
		return err
	}
	if dst.Features == nil {
		dst.Features = make(map[string]Value, len(r.r.lay.features))
	}
	rec := record{features: dst.Features}
	if err := r.r.fill(row, &rec); err != nil {
		return err
	}
	if r.r.lay.has[slotInstallTS] {
		if rec.label == 1 && !rec.hasInst {
			return r.r.rowErr(ColInstallTS, "null while label is 1")
		}
		if rec.label == 0 && rec.hasInst {
			return r.r.rowErr(ColInstallTS, "set while label is 0")
		}
	}
	dst.ImpressionID, dst.TS, dst.UserID, dst.AppID = rec.ids[slotImpressionID], rec.ts, rec.ids[slotUserID], rec.ids[slotAppID]
	dst.Label, dst.InstallTS, dst.HasInstallTS = rec.label, rec.instTS, rec.hasInst
	return nil
}

// Close releases the reader (and closes the file OpenExamples opened).
func (r *ExampleReader) Close() error { return r.r.close() }

// InstallReader reads the installs of one Parquet file. Only ts is a
// required column; columns outside the install contract are ignored.
type InstallReader struct{ r *rowReader }

// OpenInstalls opens the Parquet file at path, as OpenImpressions.
func OpenInstalls(path string) (*InstallReader, error) {
	r, err := openRowReader(path, installRecords)
	if err != nil {
		return nil, err
	}
	return &InstallReader{r}, nil
}

// NewInstallReader reads a Parquet file of size bytes from ra, as
// NewImpressionReader.
func NewInstallReader(ra io.ReaderAt, size int64, name string) (*InstallReader, error) {
	r, err := newRowReader(ra, size, name, installRecords)
	if err != nil {
		return nil, err
	}
	return &InstallReader{r}, nil
}

// NumRows returns the number of rows in the file.
func (r *InstallReader) NumRows() int64 { return r.r.file.NumRows() }

// Read reads the next install into dst and returns io.EOF after the last
// one. An install with neither impression_id nor both user_id and app_id is
// an error naming the file, row and column.
func (r *InstallReader) Read(dst *Install) error {
	row, err := r.r.next()
	if err != nil {
		return err
	}
	var rec record
	if err := r.r.fill(row, &rec); err != nil {
		return err
	}
	*dst = Install{TS: rec.ts, ImpressionID: rec.ids[slotImpressionID], UserID: rec.ids[slotUserID], AppID: rec.ids[slotAppID]}
	if dst.ImpressionID == "" && dst.UserID == "" {
		return r.r.rowErr(ColUserID, "missing (required when impression_id is absent)")
	}
	if dst.ImpressionID == "" && dst.AppID == "" {
		return r.r.rowErr(ColAppID, "missing (required when impression_id is absent)")
	}
	return nil
}

// Close releases the reader (and closes the file OpenInstalls opened).
func (r *InstallReader) Close() error { return r.r.close() }
