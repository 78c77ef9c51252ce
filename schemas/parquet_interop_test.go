package schemas

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestParquetPyarrowInterop reads files written by pyarrow (see
// testdata/README.md): optional columns everywhere, optional list elements,
// dictionary pages and several row groups must not lose a list element.
func TestParquetPyarrowInterop(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf("app-%d", i)
	}
	fixed := func(i int) Impression {
		return Impression{ImpressionID: fmt.Sprintf("i%d", i), TS: 1700000000000 + int64(i),
			UserID: fmt.Sprintf("u%d", i), AppID: fmt.Sprintf("a%d", i), Features: map[string]Value{}}
	}
	want := []Impression{fixed(0), fixed(1), fixed(2), fixed(3), fixed(4)}
	set := func(i int, kv ...any) {
		for k := 0; k < len(kv); k += 2 {
			want[i].Features[kv[k].(string)] = kv[k+1].(Value)
		}
	}
	set(0, "country", String("de"), "age", Number(31.5), "new_user", Bool(true), "installed_apps", Strings([]string{"x", "y", "z"}))
	set(1, "age", Number(40), "new_user", Bool(false), "installed_apps", Strings([]string{}))
	set(2, "country", String("fr"))
	set(3, "country", String("de"), "age", Number(18), "new_user", Bool(true), "installed_apps", Strings(many))
	set(4, "country", String("us"), "age", Number(22.25), "new_user", Bool(false), "installed_apps", Strings([]string{"x"}))

	r, err := OpenImpressions("testdata/pyarrow_impressions.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wantCols := []Column{{"country", KindString}, {"age", KindNumber}, {"new_user", KindBool}, {"installed_apps", KindStrings}}
	if got := r.Columns(); !columnsEqual(got, wantCols) {
		t.Errorf("columns: got %v, want %v", got, wantCols)
	}
	var got Impression // reused across rows on purpose
	for i := range want {
		if err := r.Read(&got); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if !impressionsEqual(&got, &want[i]) {
			t.Errorf("row %d: got %+v, want %+v", i, got, want[i])
		}
	}
	if err := r.Read(&got); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last row: got %v, want io.EOF", err)
	}

	er, err := OpenExamples("testdata/pyarrow_examples.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer er.Close()
	wantEx := []Example{
		{Impression: Impression{ImpressionID: "e0", TS: 1700000000000, Features: map[string]Value{"installed_apps": Strings(nil)}}, Label: 1, InstallTS: 1700000060000, HasInstallTS: true},
		{Impression: Impression{ImpressionID: "e1", TS: 1700000000001, Features: map[string]Value{"installed_apps": Strings([]string{"q"})}}},
	}
	for i := range wantEx {
		var ex Example
		if err := er.Read(&ex); err != nil {
			t.Fatalf("example %d: %v", i, err)
		}
		if !examplesEqual(&ex, &wantEx[i]) {
			t.Errorf("example %d: got %+v, want %+v", i, ex, wantEx[i])
		}
	}
}

// TestParquetRowGroups checks that WithRowGroupRows cuts row groups.
func TestParquetRowGroups(t *testing.T) {
	imps := benchImpressions(1000)
	data := writeImpressions(t, testColumns, imps, WithRowGroupRows(300))
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, rg := range f.RowGroups() {
		sizes = append(sizes, rg.NumRows())
	}
	if fmt.Sprint(sizes) != "[300 300 300 100]" {
		t.Fatalf("row group sizes %v, want [300 300 300 100]", sizes)
	}
	got, _ := readImpressions(t, data)
	for i := range imps {
		if !impressionsEqual(&got[i], &imps[i]) {
			t.Fatalf("impression %d differs", i)
		}
	}
}

// legacyLists is what parquet-go writes for a []string field without the
// ",list" tag: a repeated leaf (the two-level encoding a reader whose struct
// says ",list" silently reads as empty lists).
type legacyLists struct {
	ImpressionID string   `parquet:"impression_id"`
	TS           int64    `parquet:"ts"`
	UserID       string   `parquet:"user_id"`
	AppID        string   `parquet:"app_id"`
	Apps         []string `parquet:"apps"`
}

func TestParquetLegacyLists(t *testing.T) {
	rows := []legacyLists{
		{"i0", 1, "u", "a", []string{"x", "y", "z"}},
		{"i1", 2, "u", "a", nil},
		{"i2", 3, "u", "a", []string{"w"}},
	}
	data := writeStructs(t, rows)
	got, cols := readImpressions(t, data)
	if !columnsEqual(cols, []Column{{"apps", KindStrings}}) {
		t.Fatalf("columns %v", cols)
	}
	for i, row := range rows {
		v := got[i].Features["apps"]
		if v.Kind != KindStrings || len(v.Strs) != len(row.Apps) {
			t.Fatalf("row %d: got %+v, want %d elements", i, v, len(row.Apps))
		}
		for j := range row.Apps {
			if v.Strs[j] != row.Apps[j] {
				t.Fatalf("row %d element %d: got %q, want %q", i, j, v.Strs[j], row.Apps[j])
			}
		}
	}
}
