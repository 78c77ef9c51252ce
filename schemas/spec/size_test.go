package spec

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
)

// sizeBase has a wide and deep categorical feature, a list, a wide numeric
// and a cross of the list with the categorical; cases append keys to the
// cross (line 13) or add sections.
const sizeBase = `version: 1
features:
  - name: app_id
    type: categorical
    wide: true
  - name: installed_apps
    type: categorical_list
  - name: rating
    type: numeric
    wide: true
crosses:
  - columns: [installed_apps, app_id]
`

// Every size key has a hard limit and the model a budget: a spec beyond
// either is refused at parse time, by the key at fault, with the computed
// size, without allocating the model (each Parse here allocates well under
// a megabyte and takes microseconds).
func TestParseRefusesHugeModels(t *testing.T) {
	const file = "configs/huge.yaml"
	feature := func(keys string) string {
		return "version: 1\nfeatures:\n  - name: a\n    type: categorical\n    wide: true\n" + keys
	}
	tests := []struct {
		name string
		yaml string
		want []wantErr
	}{
		// Hard limits, whatever the budget.
		{"hash_buckets 2^40", sizeBase + "    hash_buckets: 1099511627776\n",
			[]wantErr{{13, "crosses[0].hash_buckets", "must be <= 2147483647 (cross ids are int32), got 1099511627776: the model would take 12.0 TiB (13194150391452 bytes), the budget is 4.0 GiB"}}},
		{"oov_buckets 4e9", feature("    oov_buckets: 4000000000\n"),
			[]wantErr{{6, "features[0].oov_buckets", "must be <= 1073741824 (vocabulary ids are int32, and hashed OOV ids may take half of them), got 4000000000: the model would take 283.1 GiB ("}}},
		{"max_size beyond int32 ids", feature("    max_size: 3000000000\n"),
			[]wantErr{{6, "features[0].max_size", "must be <= 2147483646 (vocabulary ids are int32"}}},
		{"batch_size 1e10", sizeBase + "model:\n  batch_size: 10000000000\n",
			[]wantErr{{14, "model.batch_size", "must be <= 1048576 (the loss is a batch mean: a larger batch adds memory, not signal), got 10000000000: the model would take 384.4 TiB ("}}},
		{"hidden 1e6 x 1e6", sizeBase + "model:\n  hidden: [1000000, 1000000]\n",
			[]wantErr{
				{14, "model.hidden[0]", "must be <= 65536 (the paper's widest layer is 1024, and a layer costs 8 bytes per weight), got 1000000: the model would take 10.9 TiB ("},
				{14, "model.hidden[1]", "got 1000000: the model would take 10.9 TiB ("},
			}},
		{"too many layers", sizeBase + "model:\n  hidden: [" + strings.Repeat("1, ", 64) + "1]\n",
			[]wantErr{{14, "model.hidden", "at most 64 layers, got 65: the model would take "}}},
		{"embedding_dim 1e6", feature("    embedding_dim: 1000000\n"),
			[]wantErr{{6, "features[0].embedding_dim", "must be <= 4096 (the paper's embeddings are 32 wide, and each dimension costs 8 bytes per row), got 1000000: the model would take 4.5 GiB (4872291360 bytes)"}}},
		{"quantiles 1e8", feature("  - name: q\n    type: numeric\n    wide: true\n    quantiles: 100000000\n"),
			[]wantErr{{9, "features[1].quantiles", "must be <= 65536 (the quantile sketch cannot tell that many apart), got 100000000: the model would take 1.1 GiB (1200349548 bytes)"}}},
		{"max_length 1e6", strings.Replace(sizeBase, "type: categorical_list\n", "type: categorical_list\n    max_length: 1000000\n", 1),
			[]wantErr{{8, "features[1].max_length", "must be <= 65536 (elements read from one list; a cross of lists multiplies them), got 1000000: the model would take "}}},

		// The budget (4 GiB by default), charged to the largest share.
		{"hash_buckets 4e8", sizeBase + "    hash_buckets: 400000000\n",
			[]wantErr{{13, "crosses[0].hash_buckets", "the model would take 4.5 GiB (4810858140 bytes), above the --max-model-bytes budget of 4.0 GiB (4294967296 bytes); the largest share is this key's: wide table of 400000000 hashed ids with FTRL state, 4.5 GiB"}}},
		{"oov_buckets 4e8", feature("    oov_buckets: 400000000\n"),
			[]wantErr{{6, "features[0].oov_buckets", "the model would take 28.3 GiB (30400330260 bytes), above the --max-model-bytes budget of 4.0 GiB"}}},
		{"max_size 1e8 wide", feature("    embedding_dim: 64\n    max_size: 100000000\n"),
			[]wantErr{{7, "features[0].max_size", "the model would take 48.8 GiB ("}}},
		{"hidden 40000 x 40000", sizeBase + "model:\n  hidden: [40000, 40000]\n",
			[]wantErr{{14, "model.hidden[1]", "the model would take 18.1 GiB (19385262364 bytes), above the --max-model-bytes budget of 4.0 GiB (4294967296 bytes); the largest share is this key's: tower layer 1: 40000 x 40000 with AdaGrad state"}}},
		{"embedding_dim 4096 and max_size", feature("    embedding_dim: 4096\n    max_size: 1000000\n"),
			[]wantErr{{7, "features[0].max_size", "the model would take 30.5 GiB ("}}},
		{"wide batch", sizeBase + "model:\n  batch_size: 1048576\n  hidden: [1024]\n",
			[]wantErr{{6, "features[1].max_length", "the model would take 48.5 GiB (52098883868 bytes), above the --max-model-bytes budget of 4.0 GiB (4294967296 bytes); the largest share is this key's: one batch's 1048576 lists of up to 256 elements, 26.0 GiB"}}},
		{"cross of three lists", `version: 1
features:
  - {name: a, type: categorical_list}
  - {name: b, type: categorical_list}
  - {name: c, type: categorical_list}
crosses:
  - columns: [a, b, c]
`, []wantErr{{7, "crosses[0].columns", "the largest share is this key's: one batch's 256 x 16777216 cross entries"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			s, err := Parse(file, []byte(tt.yaml))
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("Parse allocated %d bytes: it must compute the size, not allocate the model", alloc)
			}
			if err == nil {
				t.Fatalf("Parse accepted a model of %d bytes, want errors %+v", s.ModelSize().Bytes, tt.want)
			}
			got := specErrors(t, err)
			if len(got) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(got), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !hasError(got, file, w) {
					t.Errorf("missing error %s:%d: %s: ...%s...\ngot:\n%v", file, w.line, w.path, w.msg, err)
				}
			}
		})
	}
}

// The budget is inclusive: a spec exactly at it is accepted, one byte less
// refuses it; a negative budget turns it off but not the hard limits.
func TestParseBudgetEdge(t *testing.T) {
	y := sizeBase + "    hash_buckets: 100000000\n" // 1.1 GiB of cross weights
	s, err := Parse("x.yaml", []byte(y))
	if err != nil {
		t.Fatalf("under the default budget: %v", err)
	}
	z := s.ModelSize()
	if z.Bytes < 1<<30 || z.Bytes > DefaultMaxModelBytes {
		t.Fatalf("size %d, want between 1 GiB and the default budget", z.Bytes)
	}
	if _, err := ParseWith("x.yaml", []byte(y), LoadOptions{MaxModelBytes: z.Bytes}); err != nil {
		t.Errorf("budget = size: %v", err)
	}
	_, err = ParseWith("x.yaml", []byte(y), LoadOptions{MaxModelBytes: z.Bytes - 1})
	want := fmt.Sprintf("x.yaml:13:5: crosses[0].hash_buckets: the model would take 1.1 GiB (%d bytes), above the --max-model-bytes budget of 1.1 GiB (%d bytes)", z.Bytes, z.Bytes-1)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("budget = size - 1: got %v\nwant %s...", err, want)
	}

	big := sizeBase + "    hash_buckets: 400000000\n"
	if _, err := Parse("x.yaml", []byte(big)); err == nil {
		t.Fatal("4.5 GiB accepted under the default budget")
	}
	if _, err := ParseWith("x.yaml", []byte(big), LoadOptions{MaxModelBytes: 8 << 30}); err != nil {
		t.Errorf("4.5 GiB under a budget of 8 GiB: %v", err)
	}
	if _, err := ParseWith("x.yaml", []byte(big), LoadOptions{MaxModelBytes: -1}); err != nil {
		t.Errorf("budget off: %v", err)
	}
	huge := sizeBase + "    hash_buckets: 1099511627776\n"
	if _, err := ParseWith("x.yaml", []byte(huge), LoadOptions{MaxModelBytes: -1}); err == nil || !strings.Contains(err.Error(), "crosses[0].hash_buckets: must be <= 2147483647") ||
		strings.Contains(err.Error(), "budget") {
		t.Errorf("budget off, hash_buckets 2^40: got %v, want the hard limit without a budget", err)
	}
}

// A spec with other errors gets no budget error on top of them.
func TestParseBudgetAfterOtherErrors(t *testing.T) {
	y := sizeBase + "    hash_buckets: 400000000\nmodel:\n  epochs: 0\n"
	got := specErrors(t, func() error { _, err := Parse("x.yaml", []byte(y)); return err }())
	if len(got) != 1 || got[0].Path != "model.epochs" {
		t.Errorf("got %v, want the epochs error alone", got)
	}
}

// The shipped specs fit the default budget with room to spare.
func TestShippedConfigsSize(t *testing.T) {
	for _, path := range append(shippedConfigs, "../../configs/adult.yaml") {
		s, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if z := s.ModelSize(); z.Bytes > DefaultMaxModelBytes/16 {
			t.Errorf("%s: %s, want under a 16th of the default budget", path, sizeText(z.Bytes))
		}
	}
}

// A hand count: a wide and deep categorical feature of 10 ids (1 OOV + a
// max_size of 9), embedding 4, a tower [3], batches of 2.
func TestModelSizeByHand(t *testing.T) {
	s, err := Parse("x.yaml", []byte(`version: 1
features:
  - {name: a, type: categorical, wide: true, embedding_dim: 4, max_size: 9}
  - {name: b, type: categorical, wide: true, deep: false}
model:
  hidden: [3]
  batch_size: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	z := s.ModelSize()
	// Params: wide 10 + 1, embedding 10x4, tower 4x3+3 and 3x1+1, bias.
	if want := int64(10 + 1 + 40 + 15 + 4 + 1); z.Params != want {
		t.Errorf("params %d, want %d", z.Params, want)
	}
	if want := int64(11*12 + 40*8 + 19*8 + 8); z.ParamBytes != want {
		t.Errorf("param bytes %d, want %d", z.ParamBytes, want)
	}
	if z.Bytes != z.ParamBytes+z.BatchBytes || z.BatchBytes <= 0 {
		t.Errorf("bytes %d = %d + %d?", z.Bytes, z.ParamBytes, z.BatchBytes)
	}
	if len(z.Growth) != 1 || z.Growth[0] != (VocabGrowth{Feature: "b", BytesPerString: 12}) {
		t.Errorf("growth %+v, want b's 12 bytes per string", z.Growth)
	}
	var sum int64
	for _, p := range z.Parts {
		sum += p.Bytes
	}
	if sum != z.Bytes {
		t.Errorf("parts sum to %d, want %d", sum, z.Bytes)
	}
}

// Sizes saturate instead of wrapping around to a small number.
func TestModelSizeSaturates(t *testing.T) {
	s := &Spec{
		Features: []Feature{{Name: "a", Type: CategoricalList, Wide: true, Deep: true, EmbeddingDim: math.MaxInt, OOVBuckets: math.MaxInt, MaxSize: math.MaxInt, MaxLength: math.MaxInt}},
		Crosses:  []Cross{{Columns: []string{"a", "a", "a"}, HashBuckets: math.MaxInt}},
		Model:    Model{Mode: ModeWideDeep, Hidden: []int{math.MaxInt, math.MaxInt}, BatchSize: math.MaxInt},
	}
	z := s.ModelSize()
	for name, v := range map[string]int64{"params": z.Params, "param bytes": z.ParamBytes, "batch bytes": z.BatchBytes, "bytes": z.Bytes} {
		if v != math.MaxInt64 {
			t.Errorf("%s %d, want saturated at 2^63-1", name, v)
		}
	}
	if got := sizeText(z.Bytes); got != "more than 8.0 EiB (2^63 bytes)" {
		t.Errorf("sizeText %q", got)
	}
	if satMul(1<<40, 1<<40) != math.MaxInt64 || satMul(1<<31, 1<<31) != 1<<62 || satAdd(math.MaxInt64-1, 2) != math.MaxInt64 {
		t.Error("satMul or satAdd")
	}
}

func TestMaxLengthKey(t *testing.T) {
	const file = "x.yaml"
	list := "version: 1\nfeatures:\n  - name: apps\n    type: categorical_list\n"
	for _, tt := range []struct {
		name, yaml string
		want       wantErr
	}{
		{"zero", list + "    max_length: 0\n", wantErr{5, "features[0].max_length", "must be > 0, got 0"}},
		{"negative", list + "    max_length: -3\n", wantErr{5, "features[0].max_length", "must be > 0, got -3"}},
		{"on categorical", base + "    max_length: 10\n", wantErr{6, "features[0].max_length", `applies only to categorical_list features, and "app_id" is categorical`}},
		{"on numeric", base + "  - name: price\n    type: numeric\n    max_length: 10\n", wantErr{8, "features[1].max_length", `applies only to categorical_list features, and "price" is numeric`}},
		{"not a number", list + "    max_length: all\n", wantErr{5, "features[0].max_length", `must be an integer, got string "all"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(file, []byte(tt.yaml+"model: {mode: deep}\n"))
			if got := specErrors(t, err); !hasError(got, file, tt.want) {
				t.Errorf("missing error %s:%d: %s: ...%s...\ngot:\n%v", file, tt.want.line, tt.want.path, tt.want.msg, err)
			}
		})
	}
	s, err := Parse(file, []byte(list+"  - name: more\n    type: categorical_list\n    max_length: 3\nmodel: {mode: deep}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := s.Features[0], s.Features[1]; a.MaxLength != DefaultMaxLength || b.MaxLength != 3 || b.MaxListLength() != 3 {
		t.Errorf("max_length %d and %d, want the default %d and 3", a.MaxLength, b.MaxLength, DefaultMaxLength)
	}
	if f := (Feature{Type: CategoricalList}); f.MaxListLength() != DefaultMaxLength {
		t.Errorf("a Go-built feature with max_length 0 reads %d, want the default", f.MaxListLength())
	}
	out, err := s.Marshal()
	if err != nil || !strings.Contains(string(out), "max_length: 3\n") || strings.Count(string(out), "max_length") != 2 {
		t.Errorf("marshaled: %v\n%s", err, out)
	}
}

func TestByteSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ByteSize
		str  string
	}{
		{"4GiB", 4 << 30, "4GiB"},
		{"4 gib", 4 << 30, "4GiB"},
		{"1.5GiB", 3 << 29, "1536MiB"},
		{"512MiB", 512 << 20, "512MiB"},
		{"4294967296", 4 << 30, "4GiB"},
		{"1000", 1000, "1000"},
		{"10B", 10, "10"},
		{"2TiB", 2 << 40, "2TiB"},
		{"0", 0, "0"},
		{"off", -1, "off"},
	} {
		got, err := ParseByteSize(tt.in)
		if err != nil || got != tt.want || got.String() != tt.str {
			t.Errorf("ParseByteSize(%q) = %d (%s), %v; want %d (%s)", tt.in, got, got, err, tt.want, tt.str)
		}
		back, err := ParseByteSize(got.String())
		if err != nil || back != got {
			t.Errorf("%q does not read back: %d, %v", got.String(), back, err)
		}
	}
	for _, in := range []string{"", "GiB", "4GB", "4 G", "-1", "-1GiB", "1e30GiB", "NaN", "0x10", "4 GiB extra", "9999999EiB"} {
		var b ByteSize
		if err := b.Set(in); err == nil {
			t.Errorf("Set(%q) = %d, want an error", in, b)
		}
	}
}

func TestFmtBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 12_900_000_000: "12.0 GiB", 13194139533312: "12.0 TiB"} {
		if got := fmtBytes(n); got != want {
			t.Errorf("fmtBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// A mode override (a command's --mode) is validated with the spec, before
// any work: a wide-only spec cannot train in deep mode.
func TestParseWithModeOverride(t *testing.T) {
	y := "version: 1\nfeatures:\n  - name: a\n    type: categorical\n    wide: true\n    deep: false\nmodel:\n  mode: wide\n"
	if _, err := ParseWith("w.yaml", []byte(y), LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := ParseWith("w.yaml", []byte(y), LoadOptions{Mode: ModeDeep})
	if err == nil || !strings.Contains(err.Error(), "model.mode: mode deep needs a deep input") {
		t.Fatalf("deep override of a wide-only spec: %v", err)
	}
	sp, err := ParseWith("w.yaml", []byte(y), LoadOptions{Mode: ModeWide})
	if err != nil || sp.Model.Mode != ModeWide {
		t.Fatalf("wide override: %v, %v", sp, err)
	}
}
