package schemas

import "io"

// ImpressionWriter writes impressions to a Parquet file (see the package
// documentation for the schema). Feature columns not declared to
// NewImpressionWriter are not written; Undeclared counts the records that
// had some. It is not safe for concurrent use.
type ImpressionWriter struct{ w *rowWriter }

// NewImpressionWriter starts a Parquet file of impressions with the given
// feature columns on w. Close finishes the file; it does not close w.
func NewImpressionWriter(w io.Writer, features []Column, opts ...WriterOption) (*ImpressionWriter, error) {
	rw, err := newRowWriter(w, impressionRecords, features, opts)
	if err != nil {
		return nil, err
	}
	return &ImpressionWriter{rw}, nil
}

// Write adds one impression. A feature value whose kind differs from its
// column's is a *FieldError naming the column (wrapped); the impression is
// then not written and the writer stays usable. Write keeps references to
// imp's strings (immutable) until its batch is flushed, so the caller may
// reuse imp, its map and its slices as soon as Write returns. An error from
// the underlying io.Writer ends the file: later calls return it.
func (w *ImpressionWriter) Write(imp *Impression) error {
	r := record{ts: imp.TS, features: imp.Features}
	r.ids[slotImpressionID], r.ids[slotUserID], r.ids[slotAppID] = imp.ImpressionID, imp.UserID, imp.AppID
	return w.w.write(&r)
}

// Undeclared returns how many records written so far carried a non-null
// feature column the writer was not given (and so did not write).
func (w *ImpressionWriter) Undeclared() int64 { return w.w.undeclared }

// Close flushes buffered rows and writes the file footer.
func (w *ImpressionWriter) Close() error { return w.w.close() }

// ExampleWriter writes examples to a Parquet file, as ImpressionWriter plus
// label and install_ts.
type ExampleWriter struct{ w *rowWriter }

// NewExampleWriter starts a Parquet file of examples with the given feature
// columns on w. Close finishes the file; it does not close w.
func NewExampleWriter(w io.Writer, features []Column, opts ...WriterOption) (*ExampleWriter, error) {
	rw, err := newRowWriter(w, exampleRecords, features, opts)
	if err != nil {
		return nil, err
	}
	return &ExampleWriter{rw}, nil
}

// Write adds one example.
func (w *ExampleWriter) Write(ex *Example) error {
	r := record{ts: ex.TS, label: ex.Label, instTS: ex.InstallTS, hasInst: ex.HasInstallTS, features: ex.Features}
	r.ids[slotImpressionID], r.ids[slotUserID], r.ids[slotAppID] = ex.ImpressionID, ex.UserID, ex.AppID
	return w.w.write(&r)
}

// Undeclared is ImpressionWriter.Undeclared.
func (w *ExampleWriter) Undeclared() int64 { return w.w.undeclared }

// Close flushes buffered rows and writes the file footer.
func (w *ExampleWriter) Close() error { return w.w.close() }

// InstallWriter writes installs to a Parquet file.
type InstallWriter struct{ w *rowWriter }

// NewInstallWriter starts a Parquet file of installs on w. Close finishes
// the file; it does not close w.
func NewInstallWriter(w io.Writer, opts ...WriterOption) (*InstallWriter, error) {
	rw, err := newRowWriter(w, installRecords, nil, opts)
	if err != nil {
		return nil, err
	}
	return &InstallWriter{rw}, nil
}

// Write adds one install; empty ids are written as nulls.
func (w *InstallWriter) Write(in *Install) error {
	r := record{ts: in.TS}
	r.ids[slotImpressionID], r.ids[slotUserID], r.ids[slotAppID] = in.ImpressionID, in.UserID, in.AppID
	return w.w.write(&r)
}

// Close flushes buffered rows and writes the file footer.
func (w *InstallWriter) Close() error { return w.w.close() }
