package serve

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/wdstream/wdstream/schemas"
)

// ArrowStream is the media type of an Arrow IPC stream: a request with
// this Content-Type carries its candidates as Arrow record batches, one
// row per candidate, and is answered in Arrow (see the package doc).
const ArrowStream = "application/vnd.apache.arrow.stream"

// Columns and schema metadata keys of an Arrow answer.
const (
	ArrowColScore        = "score"         // float32, the request's row order
	ArrowColRank         = "rank"          // int32, the row's position in the ranking, 0 = best
	ArrowColImpressionID = "impression_id" // utf8, when the server logs what it serves
	ArrowMetaVersion     = "wdstream.version"
	ArrowMetaModel       = "wdstream.model"
)

// arrowDecodeFactor bounds the memory an Arrow body may decode to
// (compressed buffers), as a multiple of MaxBody.
const arrowDecodeFactor = 16

// isArrowStream reports whether a Content-Type is ArrowStream.
func isArrowStream(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == ArrowStream
}

// arrowExamples reads an Arrow IPC stream body (one or more record
// batches, one row per candidate) into one impression per row, in order.
// The columns follow schemas.ExampleArrowSchema's conventions: user_id and
// app_id (utf8, required, not null or empty), ts (int64, optional: absent
// or 0 is the server's clock), impression_id, label and install_ts
// (optional and ignored: a table of impressions or examples can be posted
// as it is), and feature columns of utf8, float64, bool or list<utf8>
// where null is absent. An error is a *FieldError naming the column at
// fault (or "body" or "rows").
func (s *Server) arrowExamples(body []byte) (exs []schemas.Example, err error) {
	// Arrow's readers trust the lengths and offsets a stream declares, and
	// index its buffers with them: a malformed stream panics in arrow or
	// in the reading below, on this goroutine. It is bad input (400), not
	// a crash. What a panic cannot undo (allocating a declared size,
	// recursing) is checked before: the framing and metadata by
	// bodyMessages, decompressed buffers by the allocator, list lengths
	// by checkLists.
	defer func() {
		if p := recover(); p != nil {
			exs, err = nil, &FieldError{"body", fmt.Sprintf("malformed Arrow IPC stream: %v", p)}
		}
	}()
	mem := &boundedAllocator{left: arrowDecodeFactor * s.cfg.MaxBody}
	r, err := ipc.NewReaderFromMessageReader(&bodyMessages{rest: body}, ipc.WithAllocator(mem))
	if err != nil {
		return nil, &FieldError{"body", "not an Arrow IPC stream: " + err.Error()}
	}
	defer r.Release()
	schema := r.Schema()
	if err := schemas.CheckExampleArrowSchema(schema); err != nil {
		return nil, fieldError(err, -1)
	}
	for _, col := range []string{schemas.ColUserID, schemas.ColAppID} {
		if !schema.HasField(col) {
			return nil, &FieldError{col, "required column missing (utf8)"}
		}
	}
	now := s.cfg.Now().UnixMilli()
	for r.Next() {
		rec := r.Record()
		if n := int64(len(exs)) + rec.NumRows(); n > int64(s.cfg.MaxCandidates) {
			return nil, &FieldError{"rows", fmt.Sprintf("%d rows or more, at most %d candidates per request (--max-candidates)", n, s.cfg.MaxCandidates)}
		}
		if err := checkLists(rec, len(exs)); err != nil {
			return nil, err
		}
		for i := range int(rec.NumRows()) {
			row := len(exs)
			var ex schemas.Example
			if err := schemas.RecordExample(rec, i, &ex); err != nil {
				return nil, fieldError(err, row)
			}
			if err := requestExample(&ex, row, now); err != nil {
				return nil, err
			}
			exs = append(exs, ex)
		}
	}
	if err := r.Err(); err != nil {
		return nil, &FieldError{"body", "not an Arrow IPC stream: " + err.Error()}
	}
	if len(exs) == 0 {
		return nil, &FieldError{"rows", "at least one candidate row is required"}
	}
	return exs, nil
}

// requestExample checks row's impression as the JSON path does (user and
// app not empty, ts not negative, numbers finite), sets its time, and
// drops the example columns a request does not use.
func requestExample(ex *schemas.Example, row int, now int64) error {
	for _, c := range [...]struct{ col, v string }{{schemas.ColUserID, ex.UserID}, {schemas.ColAppID, ex.AppID}} {
		if c.v == "" {
			return &FieldError{c.col, fmt.Sprintf("row %d: empty", row)}
		}
	}
	switch {
	case ex.TS < 0:
		return &FieldError{schemas.ColTS, fmt.Sprintf("row %d: %d: want Unix milliseconds", row, ex.TS)}
	case ex.TS == 0:
		ex.TS = now
	}
	for k, v := range ex.Features {
		if v.Kind == schemas.KindNumber && (math.IsInf(v.Num, 0) || math.IsNaN(v.Num)) {
			return &FieldError{k, fmt.Sprintf("row %d: %v is not a finite number", row, v.Num)}
		}
	}
	ex.ImpressionID, ex.Label, ex.InstallTS, ex.HasInstallTS = "", 0, 0, false
	return nil
}

// checkLists checks the list<utf8> features of rec before they are read:
// each row's offsets within the elements (a list's elements are
// allocated by the length its offsets give), and no null element (the
// JSON path refuses a list element that is not a string; a null list is
// an absent feature). row0 is the request row of rec's first row.
func checkLists(rec arrow.Record, row0 int) error {
	for c, f := range rec.Schema().Fields() {
		l, ok := rec.Column(c).(*array.List)
		if !ok {
			continue
		}
		elems := l.ListValues()
		// Panics (a malformed body) unless its offsets cover its length.
		_ = elems.(*array.String).ValueOffsets()
		for i := range l.Len() {
			if l.IsNull(i) {
				continue
			}
			start, end := l.ValueOffsets(i)
			if start < 0 || start > end || end > int64(elems.Len()) {
				return &FieldError{f.Name, fmt.Sprintf("row %d: list offsets [%d, %d) outside its %d elements", row0+i, start, end, elems.Len())}
			}
			for j := start; j < end && elems.NullN() > 0; j++ {
				if elems.IsNull(int(j)) {
					return &FieldError{f.Name, fmt.Sprintf("row %d: element %d of the list is null, want a string", row0+i, j-start)}
				}
			}
		}
	}
	return nil
}

// fieldError turns a schemas error into a FieldError naming its column
// (and the request row, unless row < 0).
func fieldError(err error, row int) error {
	var fe *schemas.FieldError
	if !errors.As(err, &fe) || fe.Field == "" {
		return &FieldError{"body", err.Error()}
	}
	if row < 0 {
		return &FieldError{fe.Field, fe.Problem}
	}
	return &FieldError{fe.Field, fmt.Sprintf("row %d: %s", row, fe.Problem)}
}

// writeArrow answers resp as an Arrow IPC stream of one record batch:
// score and rank per request row (and impression_id when resp has them),
// the model and version in the schema's metadata.
func writeArrow(w http.ResponseWriter, resp *Response) error {
	fields := []arrow.Field{
		{Name: ArrowColScore, Type: arrow.PrimitiveTypes.Float32},
		{Name: ArrowColRank, Type: arrow.PrimitiveTypes.Int32},
	}
	if resp.ImpressionIDs != nil {
		fields = append(fields, arrow.Field{Name: ArrowColImpressionID, Type: arrow.BinaryTypes.String})
	}
	md := arrow.NewMetadata([]string{ArrowMetaModel, ArrowMetaVersion}, []string{resp.Model, resp.Version})
	schema := arrow.NewSchema(fields, &md)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Float32Builder).AppendValues(resp.Scores, nil)
	ranks := make([]int32, len(resp.Scores))
	for pos, i := range resp.Ranking {
		ranks[i] = int32(pos)
	}
	b.Field(1).(*array.Int32Builder).AppendValues(ranks, nil)
	if resp.ImpressionIDs != nil {
		b.Field(2).(*array.StringBuilder).AppendValues(resp.ImpressionIDs, nil)
	}
	rec := b.NewRecord()
	defer rec.Release()
	var buf bytes.Buffer
	iw := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := iw.Write(rec); err != nil {
		return err
	}
	if err := iw.Close(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ArrowStream)
	_, err := w.Write(buf.Bytes())
	return err
}

// bodyMessages reads the IPC messages of a body held in memory. Unlike
// ipc.NewMessageReader, which allocates the lengths a message declares
// before reading (up to 2 GiB of metadata from an 8-byte body), it checks
// each length against what the body holds and each message's metadata
// (checkMessageMeta), and copies nothing: the reader copies the buffers
// it uses out of the message body.
type bodyMessages struct {
	rest []byte
	msg  *ipc.Message
}

func (m *bodyMessages) Message() (*ipc.Message, error) {
	if m.msg != nil {
		m.msg.Release()
		m.msg = nil
	}
	u32 := func() (uint32, error) {
		if len(m.rest) < 4 {
			return 0, io.ErrUnexpectedEOF
		}
		v := binary.LittleEndian.Uint32(m.rest)
		m.rest = m.rest[4:]
		return v, nil
	}
	if len(m.rest) == 0 {
		return nil, io.EOF // a stream may end without its end-of-stream marker
	}
	n, err := u32()
	if err != nil {
		return nil, fmt.Errorf("message length: %w", err)
	}
	if n == 0xFFFFFFFF { // continuation marker, then the length
		if n, err = u32(); err != nil {
			return nil, fmt.Errorf("message length: %w", err)
		}
	}
	if n == 0 {
		return nil, io.EOF // end-of-stream marker
	}
	if uint64(n) > uint64(len(m.rest)) {
		return nil, fmt.Errorf("message metadata of %d bytes, %d left in the body", n, len(m.rest))
	}
	meta := m.rest[:n]
	m.rest = m.rest[n:]
	size, err := checkMessageMeta(meta)
	if err != nil {
		return nil, err
	}
	if size < 0 || size > int64(len(m.rest)) {
		return nil, fmt.Errorf("message body of %d bytes, %d left in the body", size, len(m.rest))
	}
	m.msg = ipc.NewMessage(memory.NewBufferBytes(meta), memory.NewBufferBytes(m.rest[:size]))
	m.rest = m.rest[size:]
	return m.msg, nil
}

func (m *bodyMessages) Retain() {}

func (m *bodyMessages) Release() {
	if m.msg != nil {
		m.msg.Release()
		m.msg = nil
	}
}

// boundedAllocator allocates at most left bytes in all (a request's
// decoding), and panics beyond (arrowExamples recovers): Arrow's
// allocator cannot fail otherwise, and a compressed buffer declares its
// decompressed size.
type boundedAllocator struct {
	left int64
	mem  memory.GoAllocator
}

func (a *boundedAllocator) Allocate(size int) []byte {
	a.take(size)
	return a.mem.Allocate(size)
}

func (a *boundedAllocator) Reallocate(size int, b []byte) []byte {
	a.take(size)
	return a.mem.Reallocate(size, b)
}

func (a *boundedAllocator) Free(b []byte) { a.mem.Free(b) }

func (a *boundedAllocator) take(size int) {
	if size < 0 || int64(size) > a.left {
		panic(fmt.Sprintf("decoding needs more than %d times --max-body", arrowDecodeFactor))
	}
	a.left -= int64(size)
}
