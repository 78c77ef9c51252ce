package ingest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/schemas"
)

var arrowCols = []schemas.Column{{Name: "apps", Kind: schemas.KindStrings}, {Name: "age", Kind: schemas.KindNumber}, {Name: "country", Kind: schemas.KindString}, {Name: "new_user", Kind: schemas.KindBool}}

// arrowExamples covers every column kind, absent features and install_ts.
func arrowExamples(n int) []schemas.Example {
	exs := make([]schemas.Example, n)
	for i := range exs {
		e := &exs[i]
		e.ImpressionID, e.UserID, e.AppID, e.TS = "imp-"+string(rune('a'+i%26))+string(rune('0'+i/26)), "u"+string(rune('0'+i%7)), "app"+string(rune('0'+i%5)), int64(1_700_000_000_000+i)
		e.Features = map[string]schemas.Value{"country": schemas.String("de"), "age": schemas.Number(float64(20 + i))}
		if i%3 == 0 {
			e.Features["apps"] = schemas.Strings([]string{"x", "y"}[:i%2+1])
			e.Label, e.InstallTS, e.HasInstallTS = 1, e.TS+5000, true
		}
		if i%4 == 0 {
			e.Features["new_user"] = schemas.Bool(i%8 == 0)
		}
	}
	return exs
}

// TestReadExamplesFromArrowFile: backfill, eval and predict read examples
// from Arrow IPC files (.arrow, .feather), here one written with arrow-go
// in two record batches; every example comes back as it was.
func TestReadExamplesFromArrowFile(t *testing.T) {
	exs := arrowExamples(50)
	path := filepath.Join(t.TempDir(), "examples.arrow")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	schema := schemas.ExampleArrowSchema(arrowCols)
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range [][]schemas.Example{exs[:20], exs[20:]} {
		rec, err := schemas.ExamplesToRecord(memory.DefaultAllocator, schema, part)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got := readExampleFiles(t, path)
	if !reflect.DeepEqual(got, exs) {
		t.Fatalf("read back %d examples, differing from the %d written:\n%+v\n%+v", len(got), len(exs), got[0], exs[0])
	}
}

// TestReadExamplesFromPyarrowFeather: a Feather v2 file written by pyarrow
// (from our Parquet, through pyarrow.parquet and pyarrow.feather, with its
// default LZ4 compression) reads back as the examples we wrote.
func TestReadExamplesFromPyarrowFeather(t *testing.T) {
	py := testenv.Python(t)
	exs := arrowExamples(30)
	dir := t.TempDir()
	pq := filepath.Join(dir, "examples.parquet")
	f, err := os.Create(pq)
	if err != nil {
		t.Fatal(err)
	}
	w, err := schemas.NewExampleWriter(f, arrowCols)
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
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	feather := filepath.Join(dir, "examples.feather")
	script := `import sys, pyarrow.parquet as pq, pyarrow.feather as fe
fe.write_feather(pq.read_table(sys.argv[1]), sys.argv[2])`
	if out, err := exec.Command(py, "-c", script, pq, feather).CombinedOutput(); err != nil {
		t.Fatalf("pyarrow: %v\n%s", err, out)
	}
	got := readExampleFiles(t, feather)
	if !reflect.DeepEqual(got, exs) {
		t.Fatalf("read back %d examples from pyarrow's Feather, differing from the %d written:\n%+v\n%+v", len(got), len(exs), got[0], exs[0])
	}
}

func readExampleFiles(t *testing.T, pattern string) []schemas.Example {
	t.Helper()
	files, err := Glob(context.Background(), pattern)
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	got, err := ReadExamples(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
