package featurize

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// codecExamples are generated examples made representable by both codecs
// (label 1 carries install_ts), with absent columns and empty lists mixed in.
func codecExamples(n int) []schemas.Example {
	exs := newGen(11, 500, 100).examples(n)
	for i := range exs {
		ex := &exs[i]
		if ex.Label == 1 {
			ex.InstallTS, ex.HasInstallTS = ex.TS+1000, true
		}
		switch i % 7 {
		case 1:
			delete(ex.Features, "country")
			delete(ex.Features, "app_price")
		case 2:
			ex.Features["installed_apps"] = schemas.Strings([]string{})
		case 3:
			delete(ex.Features, "installed_apps")
		}
	}
	return exs
}

func codecColumns() []schemas.Column {
	return []schemas.Column{
		{Name: "position", Kind: schemas.KindNumber}, {Name: "country", Kind: schemas.KindString},
		{Name: "language", Kind: schemas.KindString}, {Name: "device", Kind: schemas.KindString},
		{Name: "age_bucket", Kind: schemas.KindString}, {Name: "installed_apps", Kind: schemas.KindStrings},
		{Name: "app_category", Kind: schemas.KindString}, {Name: "app_developer", Kind: schemas.KindString},
		{Name: "app_rating", Kind: schemas.KindNumber}, {Name: "app_size_mb", Kind: schemas.KindNumber},
		{Name: "app_price", Kind: schemas.KindNumber},
	}
}

func viaJSON(t *testing.T, exs []schemas.Example) []schemas.Example {
	t.Helper()
	var dec schemas.Decoder
	out := make([]schemas.Example, len(exs))
	var buf []byte
	for i := range exs {
		buf = schemas.AppendExampleJSON(buf[:0], &exs[i])
		if err := dec.Example(buf, &out[i]); err != nil {
			t.Fatalf("json example %d: %v", i, err)
		}
	}
	return out
}

func viaParquet(t *testing.T, exs []schemas.Example) []schemas.Example {
	t.Helper()
	var file bytes.Buffer
	w, err := schemas.NewExampleWriter(&file, codecColumns())
	if err != nil {
		t.Fatal(err)
	}
	for i := range exs {
		if err := w.Write(&exs[i]); err != nil {
			t.Fatalf("parquet write %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := schemas.NewExampleReader(bytes.NewReader(file.Bytes()), int64(file.Len()), "mem.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []schemas.Example
	for {
		var ex schemas.Example
		err := r.Read(&ex)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parquet read %d: %v", len(out), err)
		}
		out = append(out, ex)
	}
	if len(out) != len(exs) {
		t.Fatalf("parquet gave %d examples, wrote %d", len(out), len(exs))
	}
	return out
}

// TestJSONParquetSameBatch: the same examples give the same batch whether
// they came through the JSON codec or through Parquet, both when the State
// was fitted on either source.
func TestJSONParquetSameBatch(t *testing.T) {
	exs := codecExamples(600)
	fromJSON, fromParquet := viaJSON(t, exs), viaParquet(t, exs)
	var batches [2]Batch
	var states [2][]byte
	for k, src := range [][]schemas.Example{fromJSON, fromParquet} {
		s, err := New(playstoreSpec(), smallOpts)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Fit(src); err != nil {
			t.Fatal(err)
		}
		s.RefreshBoundaries()
		if err := s.Transform(&batches[k], src); err != nil {
			t.Fatal(err)
		}
		states[k] = s.AppendEncoded(nil, EncodeOptions{FitState: true})
	}
	if !bytes.Equal(states[0], states[1]) {
		t.Error("states fitted from JSON and from Parquet differ")
	}
	a, b := batches[0], batches[1]
	if a.N != len(exs) || len(a.WideIDs) < 10*a.N {
		t.Fatalf("JSON batch has %d examples and %d wide entries: the lists were lost", a.N, len(a.WideIDs))
	}
	for _, f := range []struct {
		name string
		x, y any
	}{
		{"Labels", a.Labels, b.Labels}, {"ImpressionIDs", a.ImpressionIDs, b.ImpressionIDs}, {"TS", a.TS, b.TS},
		{"WideOffsets", a.WideOffsets, b.WideOffsets}, {"WideSlots", a.WideSlots, b.WideSlots},
		{"WideIDs", a.WideIDs, b.WideIDs}, {"WideValues", a.WideValues, b.WideValues},
		{"Dense", a.Dense, b.Dense}, {"Deep", a.Deep, b.Deep},
	} {
		if !reflect.DeepEqual(f.x, f.y) {
			t.Errorf("%s differs between JSON and Parquet", f.name)
		}
	}
}

// TestConfigsPlaystore: the repository's playstore spec builds a State that
// fits and transforms generated examples.
func TestConfigsPlaystore(t *testing.T) {
	sp, err := spec.Load("../configs/playstore.yaml")
	if err != nil {
		t.Skipf("configs/playstore.yaml: %v", err)
	}
	s, err := New(sp, smallOpts)
	if err != nil {
		t.Fatal(err)
	}
	exs := newGen(3, 1000, 100).examples(2000)
	var b Batch
	if err := s.FitTransform(&b, exs[:10]); !errors.Is(err, ErrNoBoundaries) {
		t.Fatalf("FitTransform before refresh: %v, want ErrNoBoundaries", err)
	}
	s.RefreshBoundaries()
	if err := s.FitTransform(&b, exs); err != nil {
		t.Fatal(err)
	}
	lay := s.Layout()
	if b.N != len(exs) || len(b.Deep) != len(lay.Deep) || b.DenseDim != len(lay.Dense) || len(b.Dense) != b.N*b.DenseDim {
		t.Fatalf("batch shape: N %d deep %d/%d dense %d x %d", b.N, len(b.Deep), len(lay.Deep), b.N, b.DenseDim)
	}
}
