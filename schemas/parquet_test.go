package schemas

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeImpressions(t testing.TB, cols []Column, imps []Impression, opts ...WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewImpressionWriter(&buf, cols, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range imps {
		if err := w.Write(&imps[i]); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readImpressions(t testing.TB, data []byte) ([]Impression, []Column) {
	t.Helper()
	r, err := NewImpressionReader(bytes.NewReader(data), int64(len(data)), "test.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []Impression
	for {
		var imp Impression
		err := r.Read(&imp)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, imp)
	}
	if int64(len(out)) != r.NumRows() {
		t.Fatalf("read %d rows, file says %d", len(out), r.NumRows())
	}
	return out, r.Columns()
}

func TestParquetRoundTripImpressions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []WriterOption
	}{
		{"zstd", nil},
		{"snappy small row groups", []WriterOption{WithCompression(CompressionSnappy), WithRowGroupRows(100)}},
		{"uncompressed", []WriterOption{WithCompression(CompressionNone)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			imps := make([]Impression, 1000)
			for i := range imps {
				imps[i] = genImpression(r, i)
			}
			got, cols := readImpressions(t, writeImpressions(t, testColumns, imps, tc.opts...))
			if len(got) != len(imps) {
				t.Fatalf("read %d impressions, wrote %d", len(got), len(imps))
			}
			for i := range imps {
				if !impressionsEqual(&got[i], &imps[i]) {
					t.Fatalf("impression %d: got %+v, want %+v", i, got[i], imps[i])
				}
			}
			if !columnsEqual(sortedColumns(cols), sortedColumns(testColumns)) {
				t.Fatalf("columns: got %v, want %v", cols, testColumns)
			}
		})
	}
}

func columnsEqual(a, b []Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestParquetLists checks list element counts, and that an empty list, a
// null list and an absent column stay apart, including when the reader
// reuses the impression (and so the memory of its lists).
func TestParquetLists(t *testing.T) {
	cols := []Column{{Name: "apps", Kind: KindStrings}, {Name: "tags", Kind: KindStrings}}
	base := func(id string, f map[string]Value) Impression {
		return Impression{ImpressionID: id, TS: 1, UserID: "u", AppID: "a", Features: f}
	}
	many := make([]string, 1000)
	for i := range many {
		many[i] = strings.Repeat("x", i%70) // some over the interning length
	}
	imps := []Impression{
		base("long", map[string]Value{"apps": Strings(many), "tags": Strings([]string{"t"})}),
		base("empty", map[string]Value{"apps": Strings([]string{}), "tags": Strings(nil)}),
		base("null", map[string]Value{"apps": {Kind: KindNull}}),
		base("one", map[string]Value{"apps": Strings([]string{""}), "tags": Strings([]string{"a", "b", "c"})}),
		base("shorter", map[string]Value{"apps": Strings([]string{"z", "y"})}),
	}
	data := writeImpressions(t, cols, imps)

	r, err := NewImpressionReader(bytes.NewReader(data), int64(len(data)), "lists.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got Impression // reused on purpose
	for i := range imps {
		if err := r.Read(&got); err != nil {
			t.Fatal(err)
		}
		t.Run(imps[i].ImpressionID, func(t *testing.T) {
			for _, c := range cols {
				want, wantOK := imps[i].Features[c.Name]
				wantOK = wantOK && want.Kind != KindNull
				v, ok := got.Features[c.Name]
				if ok != wantOK {
					t.Fatalf("column %s: present=%v, want %v", c.Name, ok, wantOK)
				}
				if !ok {
					continue
				}
				if v.Kind != KindStrings || len(v.Strs) != len(want.Strs) {
					t.Fatalf("column %s: got %d elements (kind %s), want %d", c.Name, len(v.Strs), v.Kind, len(want.Strs))
				}
				for j := range want.Strs {
					if v.Strs[j] != want.Strs[j] {
						t.Fatalf("column %s element %d: got %q, want %q", c.Name, j, v.Strs[j], want.Strs[j])
					}
				}
			}
		})
	}
	if err := r.Read(&got); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last row: got %v, want io.EOF", err)
	}
}

func TestParquetRoundTripExamples(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	exs := make([]Example, 500)
	for i := range exs {
		exs[i] = genExample(r, i)
	}
	var buf bytes.Buffer
	w, err := NewExampleWriter(&buf, testColumns)
	if err != nil {
		t.Fatal(err)
	}
	for i := range exs {
		if err := w.Write(&exs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "examples.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	er, err := OpenExamples(path)
	if err != nil {
		t.Fatal(err)
	}
	defer er.Close()
	for i := range exs {
		var got Example
		if err := er.Read(&got); err != nil {
			t.Fatalf("example %d: %v", i, err)
		}
		if !examplesEqual(&got, &exs[i]) {
			t.Fatalf("example %d: got %+v, want %+v", i, got, exs[i])
		}
	}
	if err := er.Read(new(Example)); !errors.Is(err, io.EOF) {
		t.Fatalf("got %v, want io.EOF", err)
	}
}

func TestParquetRoundTripInstalls(t *testing.T) {
	ins := []Install{
		{TS: 1, ImpressionID: "i1"},
		{TS: 2, UserID: "u", AppID: "a"},
		{TS: math.MaxInt64, ImpressionID: "i3", UserID: "u3", AppID: "a3"},
	}
	var buf bytes.Buffer
	w, err := NewInstallWriter(&buf, WithRowGroupRows(2))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ins {
		if err := w.Write(&ins[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewInstallReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "installs.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range ins {
		var got Install
		if err := r.Read(&got); err != nil {
			t.Fatal(err)
		}
		if got != ins[i] {
			t.Fatalf("install %d: got %+v, want %+v", i, got, ins[i])
		}
	}
	if err := r.Read(new(Install)); !errors.Is(err, io.EOF) {
		t.Fatalf("got %v, want io.EOF", err)
	}
}

func TestParquetWriterErrors(t *testing.T) {
	tests := []struct {
		name string
		cols []Column
		opts []WriterOption
		want string
	}{
		{"duplicate column", []Column{{"a", KindString}, {"a", KindBool}}, nil, `feature column "a": listed twice`},
		{"fixed name", []Column{{"ts", KindNumber}}, nil, `feature column "ts": name of a fixed column`},
		{"null kind", []Column{{"a", KindNull}}, nil, `feature column "a": kind null`},
		{"empty name", []Column{{"", KindString}}, nil, `feature column 0: empty name`},
		{"row groups", nil, []WriterOption{WithRowGroupRows(0)}, "row group rows 0"},
		{"codec", nil, []WriterOption{WithCompression(9)}, "compression 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewImpressionWriter(io.Discard, tt.cols, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("kind mismatch", func(t *testing.T) {
		var buf bytes.Buffer
		w, err := NewImpressionWriter(&buf, []Column{{"age", KindNumber}, {"zz", KindStrings}})
		if err != nil {
			t.Fatal(err)
		}
		good := Impression{ImpressionID: "ok", Features: map[string]Value{"age": Number(1), "zz": Strings([]string{"a"})}}
		if err := w.Write(&good); err != nil {
			t.Fatal(err)
		}
		// zz comes after age and the fixed columns: their values, already
		// appended, must be taken back.
		err = w.Write(&Impression{ImpressionID: "bad", Features: map[string]Value{"age": Number(2), "zz": String("old")}})
		checkFieldErrorWrapped(t, err, "zz", "value is string, column holds list<string>")
		if err := w.Write(&good); err != nil {
			t.Fatalf("write after a rejected record: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, _ := readImpressions(t, buf.Bytes())
		if len(got) != 2 || !impressionsEqual(&got[0], &good) || !impressionsEqual(&got[1], &good) {
			t.Fatalf("read back %+v, want the good impression twice", got)
		}
	})
	t.Run("undeclared", func(t *testing.T) {
		w, err := NewImpressionWriter(io.Discard, []Column{{"age", KindNumber}})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []map[string]Value{{"age": Number(1)}, {"age": Number(1), "x": Bool(true)}, {"x": {Kind: KindNull}}} {
			if err := w.Write(&Impression{ImpressionID: "i", Features: f}); err != nil {
				t.Fatal(err)
			}
		}
		if got := w.Undeclared(); got != 1 {
			t.Fatalf("Undeclared() = %d, want 1", got)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(&Impression{}); err == nil || !strings.Contains(err.Error(), "write after close") {
			t.Fatalf("write after close: got %v", err)
		}
	})
}

func checkFieldErrorWrapped(t *testing.T, err error, field, problem string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got error %v, want a wrapped *FieldError", err)
	}
	if fe.Field != field || !strings.Contains(fe.Problem, problem) {
		t.Fatalf("got %v, want field %q with problem containing %q", err, field, problem)
	}
}
