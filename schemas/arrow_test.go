package schemas

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

func TestExampleArrowSchema(t *testing.T) {
	s := ExampleArrowSchema([]Column{{"z", KindBool}, {"apps", KindStrings}, {"age", KindNumber}, {"c", KindString}})
	var names []string
	for _, f := range s.Fields() {
		names = append(names, f.Name+":"+f.Type.String())
	}
	want := "impression_id:utf8 ts:int64 user_id:utf8 app_id:utf8 label:int32 install_ts:int64 " +
		"age:float64 apps:list<item: utf8> c:utf8 z:bool"
	got := strings.Join(names, " ")
	if got != want {
		t.Fatalf("fields:\n got %s\nwant %s", got, want)
	}
	if f, _ := s.FieldsByName(ColInstallTS); !f[0].Nullable {
		t.Error("install_ts is not nullable")
	}
	if f, _ := s.FieldsByName(ColTS); f[0].Nullable {
		t.Error("ts is nullable")
	}
	if f, _ := s.FieldsByName("apps"); f[0].Type.(*arrow.ListType).ElemField().Nullable {
		t.Error("list elements are nullable")
	}
}

func TestExamplesToRecord(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(13, 14))
	exs := make([]Example, 200)
	for i := range exs {
		exs[i] = genExample(r, i)
	}
	exs[1].Features["installed_apps"] = Strings([]string{})
	delete(exs[2].Features, "installed_apps")
	rec, err := ExamplesToRecord(mem, ExampleArrowSchema(testColumns), exs)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if rec.NumRows() != int64(len(exs)) || rec.NumCols() != int64(6+len(testColumns)) {
		t.Fatalf("record is %d x %d", rec.NumRows(), rec.NumCols())
	}
	var got Example
	for i := range exs {
		if err := RecordExample(rec, i, &got); err != nil {
			t.Fatal(err)
		}
		if !examplesEqual(&got, &exs[i]) {
			t.Fatalf("row %d: got %+v, want %+v", i, got, exs[i])
		}
	}
	apps := rec.Column(int(indexOf(rec.Schema(), "installed_apps")))
	if apps.IsNull(1) || apps.Len() != len(exs) || !apps.IsNull(2) {
		t.Fatalf("installed_apps: empty list null=%v, absent null=%v", apps.IsNull(1), apps.IsNull(2))
	}
}

func indexOf(s *arrow.Schema, name string) int {
	idx := s.FieldIndices(name)
	if len(idx) == 0 {
		return -1
	}
	return idx[0]
}

func TestExamplesToRecordErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		name   string
		schema *arrow.Schema
		exs    []Example
		want   string
	}{
		{"kind mismatch", ExampleArrowSchema([]Column{{"age", KindNumber}}),
			[]Example{{}, {Impression: Impression{Features: map[string]Value{"age": String("x")}}}},
			`example 1: field "age": value is string, column holds number`},
		{"duplicate field", ExampleArrowSchema([]Column{{"a", KindBool}, {"a", KindBool}}), nil, `field "a": listed twice`},
		{"ts type", arrow.NewSchema([]arrow.Field{{Name: "ts", Type: arrow.BinaryTypes.String}}, nil), nil, `field "ts": type utf8, want int64`},
		{"feature type", arrow.NewSchema([]arrow.Field{{Name: "f", Type: arrow.PrimitiveTypes.Int8}}, nil), nil, `field "f": type int8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := ExamplesToRecord(mem, tt.schema, tt.exs)
			if err == nil {
				rec.Release()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
