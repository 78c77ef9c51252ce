package serve

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
)

const testNow = 1_700_000_000_000

// arrowServer is a server without a model: enough to decode bodies.
func arrowServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	st, err := publisher.OpenStore(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store, cfg.Model = st, "m"
	cfg.Now = func() time.Time { return time.UnixMilli(testNow) }
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	tString  = arrow.BinaryTypes.String
	tFloat64 = arrow.PrimitiveTypes.Float64
	tStrings = arrow.ListOf(arrow.BinaryTypes.String)
)

func fields(nameTypes ...any) []arrow.Field {
	var fs []arrow.Field
	for i := 0; i < len(nameTypes); i += 2 {
		fs = append(fs, arrow.Field{Name: nameTypes[i].(string), Type: nameTypes[i+1].(arrow.DataType), Nullable: true})
	}
	return fs
}

// arrowBody writes an IPC stream of one record batch per JSON array of
// rows (arrow's JSON row format).
func arrowBody(t *testing.T, fs []arrow.Field, batches ...string) []byte {
	t.Helper()
	body, err := arrowStreamOf(fs, batches...)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func arrowStreamOf(fs []arrow.Field, batches ...string) ([]byte, error) {
	schema := arrow.NewSchema(fs, nil)
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	for _, rows := range batches {
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(rows))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rows, err)
		}
		err = w.Write(rec)
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeStream(t *testing.T, schema *arrow.Schema, recs []arrow.Record, opts ...ipc.Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, append(opts, ipc.WithSchema(schema))...)
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestArrowExamples: rows of several batches become the impressions the
// JSON path makes (null: absent, ts absent: the server's clock), and a
// table in the example layout can be posted as it is.
func TestArrowExamples(t *testing.T) {
	s := arrowServer(t, Config{})
	body := arrowBody(t, fields("app_id", tString, "user_id", tString, "country", tString, "price", tFloat64, "paid", arrow.FixedWidthTypes.Boolean, "tags", tStrings),
		`[{"user_id":"u1","app_id":"a","country":"de","price":1.5,"paid":true,"tags":["x","y"]},
		  {"user_id":"u1","app_id":"b","country":null,"price":0,"paid":false,"tags":[]}]`,
		`[{"user_id":"u2","app_id":"c","country":"fr","price":null,"paid":null,"tags":null}]`)
	got, err := s.arrowExamples(body)
	if err != nil {
		t.Fatal(err)
	}
	imp := func(user, app string, f map[string]schemas.Value) schemas.Example {
		return schemas.Example{Impression: schemas.Impression{TS: testNow, UserID: user, AppID: app, Features: f}}
	}
	want := []schemas.Example{
		imp("u1", "a", map[string]schemas.Value{"country": schemas.String("de"), "price": schemas.Number(1.5), "paid": schemas.Bool(true), "tags": schemas.Strings([]string{"x", "y"})}),
		imp("u1", "b", map[string]schemas.Value{"price": schemas.Number(0), "paid": schemas.Bool(false), "tags": schemas.Strings([]string{})}),
		imp("u2", "c", map[string]schemas.Value{"country": schemas.String("fr")}),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}

	// The example layout: impression_id, label and install_ts are ignored,
	// ts is kept.
	exs := []schemas.Example{{Impression: schemas.Impression{ImpressionID: "i1", TS: 42, UserID: "u", AppID: "a", Features: map[string]schemas.Value{"price": schemas.Number(2)}}, Label: 1, InstallTS: 50, HasInstallTS: true}}
	schema := schemas.ExampleArrowSchema([]schemas.Column{{Name: "price", Kind: schemas.KindNumber}})
	rec, err := schemas.ExamplesToRecord(memory.DefaultAllocator, schema, exs)
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.arrowExamples(writeStream(t, schema, []arrow.Record{rec}))
	if err != nil {
		t.Fatal(err)
	}
	want = []schemas.Example{{Impression: schemas.Impression{TS: 42, UserID: "u", AppID: "a", Features: map[string]schemas.Value{"price": schemas.Number(2)}}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("example layout: got %+v, want %+v", got, want)
	}
}

// TestArrowExamplesErrors: every bad body is a *FieldError naming the
// column at fault (or body, or rows).
func TestArrowExamplesErrors(t *testing.T) {
	s := arrowServer(t, Config{MaxCandidates: 5})
	ua := fields("user_id", tString, "app_id", tString)
	nanBody := func() []byte {
		schema := arrow.NewSchema(fields("user_id", tString, "app_id", tString, "price", tFloat64), nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		b.Field(0).(*array.StringBuilder).Append("u")
		b.Field(1).(*array.StringBuilder).Append("a")
		b.Field(2).(*array.Float64Builder).Append(math.NaN())
		return writeStream(t, schema, []arrow.Record{b.NewRecord()})
	}
	valid := arrowBody(t, ua, `[{"user_id":"u","app_id":"a"}]`)
	zstd := func() []byte {
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, arrow.NewSchema(ua, nil), strings.NewReader(`[{"user_id":"u","app_id":"a"}]`))
		if err != nil {
			t.Fatal(err)
		}
		return writeStream(t, rec.Schema(), []arrow.Record{rec}, ipc.WithZstd())
	}
	nested := arrow.DataType(tString)
	for range maxArrowDepth {
		nested = arrow.ListOf(nested)
	}
	wide := slices.Clone(ua)
	for i := range maxArrowFields {
		wide = append(wide, arrow.Field{Name: fmt.Sprintf("f%d", i), Type: tString, Nullable: true})
	}
	for _, c := range []struct {
		name string
		body []byte
		want string
	}{
		{"no user_id", arrowBody(t, fields("app_id", tString), `[{"app_id":"a"}]`), "user_id: required column missing"},
		{"no app_id", arrowBody(t, fields("user_id", tString, "price", tFloat64), `[{"user_id":"u"}]`), "app_id: required column missing"},
		{"app_id type", arrowBody(t, fields("user_id", tString, "app_id", arrow.PrimitiveTypes.Int64), `[{"user_id":"u","app_id":1}]`), "app_id: type int64, want utf8"},
		{"ts type", arrowBody(t, fields("user_id", tString, "app_id", tString, "ts", tString), `[{"user_id":"u","app_id":"a","ts":"x"}]`), "ts: type utf8, want int64"},
		{"feature type", arrowBody(t, fields("user_id", tString, "app_id", tString, "rating", arrow.PrimitiveTypes.Int64), `[{"user_id":"u","app_id":"a","rating":4}]`), "rating: type int64, want utf8, float64, bool or list<utf8>"},
		{"list of int", arrowBody(t, fields("user_id", tString, "app_id", tString, "tags", arrow.ListOf(arrow.PrimitiveTypes.Int64)), `[{"user_id":"u","app_id":"a","tags":[1]}]`), "tags: type list<item: int64, nullable>"},
		{"duplicate", arrowBody(t, fields("user_id", tString, "app_id", tString, "c", tString, "c", tString), `[]`), "c: listed twice"},
		{"null user_id", arrowBody(t, ua, `[{"user_id":"u","app_id":"a"}]`, `[{"user_id":"u","app_id":"a"},{"user_id":null,"app_id":"a"}]`), "user_id: row 2: null"},
		{"empty app_id", arrowBody(t, ua, `[{"user_id":"u","app_id":""}]`), "app_id: row 0: empty"},
		{"null ts", arrowBody(t, fields("user_id", tString, "app_id", tString, "ts", arrow.PrimitiveTypes.Int64), `[{"user_id":"u","app_id":"a","ts":null}]`), "ts: row 0: null"},
		{"negative ts", arrowBody(t, fields("user_id", tString, "app_id", tString, "ts", arrow.PrimitiveTypes.Int64), `[{"user_id":"u","app_id":"a","ts":-5}]`), "ts: row 0: -5: want Unix milliseconds"},
		{"NaN", nanBody(), "price: row 0: NaN is not a finite number"},
		{"null list element", arrowBody(t, fields("user_id", tString, "app_id", tString, "tags", tStrings), `[{"user_id":"u","app_id":"a","tags":["x"]},{"user_id":"u","app_id":"a","tags":["x",null]}]`), "tags: row 1: element 1 of the list is null"},
		{"too many rows", arrowBody(t, ua, `[{"user_id":"u","app_id":"a"},{"user_id":"u","app_id":"a"},{"user_id":"u","app_id":"a"}]`, `[{"user_id":"u","app_id":"a"},{"user_id":"u","app_id":"a"},{"user_id":"u","app_id":"a"}]`), "rows: 6 rows or more, at most 5 candidates per request"},
		{"no rows", arrowBody(t, ua), "rows: at least one candidate row is required"},
		{"empty body", nil, "body: not an Arrow IPC stream"},
		{"JSON body", []byte(`{"user_id":"u","candidates":[{"app_id":"a"}]}`), "body: not an Arrow IPC stream"},
		{"truncated", valid[:len(valid)-20], "body: "},
		{"zstd", zstd(), "body: not an Arrow IPC stream: ZSTD-compressed record batches are not accepted"},
		{"nested too deep", arrowBody(t, append(slices.Clone(ua), arrow.Field{Name: "deep", Type: nested})), "fields nested more than 32 deep"},
		{"too many fields", arrowBody(t, wide), "more than 10000 fields"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.arrowExamples(c.body)
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a FieldError containing %q", err, c.want)
			}
		})
	}
}

// TestArrowExamplesHostile: lengths a stream declares beyond its body, and
// a compressed buffer declaring more than 16 x MaxBody, are refused
// without allocating them; every truncation and byte flip of a valid body
// is an error or a valid request, never a panic.
func TestArrowExamplesHostile(t *testing.T) {
	s := arrowServer(t, Config{MaxBody: 4096})
	allocs := func(body []byte) (uint64, error) {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		_, err := s.arrowExamples(body)
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc, err
	}
	// Metadata of 2 GiB - 1 declared by an 8-byte body.
	if n, err := allocs([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}); err == nil || !strings.Contains(err.Error(), "message metadata of 2147483647 bytes") || n > 64<<20 {
		t.Errorf("huge metadata length: %v, %d bytes allocated", err, n)
	}
	// A record batch declaring a body of 1 TiB: its body length is the
	// int64 in the message's metadata equal to the real one.
	schema := arrow.NewSchema(fields("user_id", tString, "app_id", tString), nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"user-1", "user-2"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"app-1", "app-2"}, nil)
	valid := writeStream(t, schema, []arrow.Record{b.NewRecord()})
	b.Release()
	schemaLen := 8 + int(binary.LittleEndian.Uint32(valid[4:]))
	metaLen := int(binary.LittleEndian.Uint32(valid[schemaLen+4:]))
	bodyLen := len(valid) - schemaLen - 8 - metaLen - 8 // minus the end-of-stream marker
	meta := valid[schemaLen+8 : schemaLen+8+metaLen]
	at := bytes.Index(meta, binary.LittleEndian.AppendUint64(nil, uint64(bodyLen)))
	if at < 0 {
		t.Fatalf("no body length %d in the batch's metadata", bodyLen)
	}
	huge := bytes.Clone(valid)
	binary.LittleEndian.PutUint64(huge[schemaLen+8+at:], 1<<40)
	if n, err := allocs(huge); err == nil || !strings.Contains(err.Error(), "message body of 1099511627776 bytes") || n > 64<<20 {
		t.Errorf("huge body length: %v, %d bytes allocated", err, n)
	}
	// 100 KB of one string, LZ4-compressed to a few hundred bytes.
	bomb := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields("user_id", tString, "app_id", tString, "blob", tString), nil))
	for range 20 {
		bomb.Field(0).(*array.StringBuilder).Append("u")
		bomb.Field(1).(*array.StringBuilder).Append("a")
		bomb.Field(2).(*array.StringBuilder).Append(strings.Repeat("x", 5000))
	}
	body := writeStream(t, bomb.Schema(), []arrow.Record{bomb.NewRecord()}, ipc.WithLZ4())
	bomb.Release()
	if len(body) > 4096 {
		t.Fatalf("the compressed body is %d bytes, more than MaxBody", len(body))
	}
	if n, err := allocs(body); err == nil || !strings.Contains(err.Error(), "more than 16 times --max-body") || n > 64<<20 {
		t.Errorf("decompression beyond 16 x MaxBody: %v, %d bytes allocated", err, n)
	}
	if _, err := s.arrowExamples(valid); err != nil {
		t.Fatalf("the valid body: %v", err)
	}
	valid = richBody(t)
	if _, err := s.arrowExamples(valid); err != nil {
		t.Fatalf("the valid body: %v", err)
	}
	check := func(body []byte, what string) {
		t.Helper()
		_, err := s.arrowExamples(body)
		var fe *FieldError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("%s: %v is not a FieldError", what, err)
		}
	}
	for n := range len(valid) {
		check(valid[:n], "truncated")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		bad := bytes.Clone(valid)
		for range 1 + rng.IntN(3) {
			bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
		}
		check(bad, "flipped")
	}
}

// richBody is a valid body of two batches with a column of every type a
// request may hold, nulls included.
func richBody(t testing.TB) []byte {
	t.Helper()
	body, err := arrowStreamOf(fields("user_id", tString, "app_id", tString, "ts", arrow.PrimitiveTypes.Int64, "country", tString,
		"price", tFloat64, "paid", arrow.FixedWidthTypes.Boolean, "tags", tStrings),
		`[{"user_id":"u1","app_id":"a","ts":5,"country":"de","price":1.5,"paid":true,"tags":["x","y"]},
		  {"user_id":"u1","app_id":"b","ts":5,"country":null,"price":null,"paid":false,"tags":[]}]`,
		`[{"user_id":"u2","app_id":"c","ts":6,"country":"fr","price":2,"paid":null,"tags":null}]`)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// FuzzArrowExamples: whatever the body, arrowExamples answers a
// FieldError or valid impressions, and neither crashes nor allocates
// what a body declares (go test -fuzz FuzzArrowExamples ./serve).
func FuzzArrowExamples(f *testing.F) {
	f.Add(richBody(f))
	s := arrowServer(f, Config{MaxBody: 1 << 16})
	f.Fuzz(func(t *testing.T, body []byte) {
		exs, err := s.arrowExamples(body)
		var fe *FieldError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("%v is not a FieldError", err)
		}
		for i, ex := range exs {
			if ex.UserID == "" || ex.AppID == "" || ex.TS <= 0 {
				t.Fatalf("row %d: %+v", i, ex)
			}
		}
	})
}
