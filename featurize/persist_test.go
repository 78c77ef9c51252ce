package featurize

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wdstream/wdstream/schemas/spec"
)

func fitted(t testing.TB, seed uint64, n int) *State {
	t.Helper()
	s, err := New(playstoreSpec(), smallOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Fit(newGen(seed, 3000, 800).examples(n)); err != nil {
		t.Fatal(err)
	}
	s.RefreshBoundaries()
	return s
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, fit := range []bool{false, true} {
		s := fitted(t, 1, 2000)
		opts := EncodeOptions{FitState: fit}
		enc := s.AppendEncoded(nil, opts)
		got, err := Decode(bytes.NewReader(enc), playstoreSpec(), smallOpts)
		if err != nil {
			t.Fatalf("fit state %v: %v", fit, err)
		}
		if again := got.AppendEncoded(nil, opts); !bytes.Equal(again, enc) {
			t.Fatalf("fit state %v: re-encoding differs (%d vs %d bytes)", fit, len(again), len(enc))
		}
		for _, c := range s.cats {
			if !slices.Equal(c.vocab.tokens, got.Vocab(c.name).tokens) {
				t.Errorf("vocab %q differs after decode", c.name)
			}
		}
	}
}

// TestIDsStableAcrossSaveLoad: fitting A, saving with fit state, loading and
// fitting B gives the same vocabularies and ids as fitting A then B in one
// process; and every id given after A keeps its meaning after B.
func TestIDsStableAcrossSaveLoad(t *testing.T) {
	g := newGen(5, 3000, 800)
	a, b := g.examples(3000), g.examples(3000)
	one, _ := New(playstoreSpec(), smallOpts)
	if err := one.Fit(a); err != nil {
		t.Fatal(err)
	}
	afterA := map[string][]string{}
	for _, c := range one.cats {
		afterA[c.name] = slices.Clone(c.vocab.tokens)
	}
	enc := one.AppendEncoded(nil, EncodeOptions{FitState: true})
	if err := one.Fit(b); err != nil {
		t.Fatal(err)
	}
	two, err := DecodeBytes(enc, playstoreSpec(), smallOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := two.Fit(b); err != nil {
		t.Fatal(err)
	}
	one.RefreshBoundaries()
	two.RefreshBoundaries()
	if x, y := one.AppendEncoded(nil, EncodeOptions{FitState: true}), two.AppendEncoded(nil, EncodeOptions{FitState: true}); !bytes.Equal(x, y) {
		t.Fatal("save/load between two fits changed the state")
	}
	for _, c := range one.cats {
		if !slices.Equal(afterA[c.name], c.vocab.tokens[:len(afterA[c.name])]) {
			t.Errorf("vocab %q: ids given after A changed meaning after B", c.name)
		}
	}
}

func TestDecodeCorrupt(t *testing.T) {
	enc := fitted(t, 2, 500).AppendEncoded(nil, EncodeOptions{FitState: true})
	sp := playstoreSpec()
	t.Run("every truncation", func(t *testing.T) {
		for n := 0; n < len(enc); n += max(1, len(enc)/2000) {
			if _, err := DecodeBytes(enc[:n], sp, smallOpts); !errors.Is(err, ErrFormat) {
				t.Fatalf("truncated to %d bytes: %v, want ErrFormat", n, err)
			}
			if _, err := Decode(bytes.NewReader(enc[:n]), sp, smallOpts); !errors.Is(err, ErrFormat) {
				t.Fatalf("Decode truncated to %d bytes: %v, want ErrFormat", n, err)
			}
		}
	})
	t.Run("bit flips", func(t *testing.T) {
		for i := 0; i < len(enc); i += max(1, len(enc)/3000) {
			bad := slices.Clone(enc)
			bad[i] ^= 0x10
			if _, err := DecodeBytes(bad, sp, smallOpts); !errors.Is(err, ErrFormat) {
				t.Fatalf("flip at byte %d: %v, want ErrFormat", i, err)
			}
		}
	})
	t.Run("trailing garbage", func(t *testing.T) {
		if _, err := DecodeBytes(append(slices.Clone(enc), 0), sp, smallOpts); !errors.Is(err, ErrFormat) {
			t.Fatalf("%v, want ErrFormat", err)
		}
	})
	t.Run("version", func(t *testing.T) {
		bad := slices.Clone(enc)
		bad[4] = 9
		if _, err := DecodeBytes(bad, sp, smallOpts); !errors.Is(err, ErrFormat) {
			t.Fatalf("%v, want ErrFormat", err)
		}
	})
}

func TestDecodeIncompatible(t *testing.T) {
	enc := fitted(t, 3, 300).AppendEncoded(nil, EncodeOptions{})
	for _, tc := range []struct {
		name   string
		modify func(*spec.Spec)
		err    error
	}{
		{"oov buckets", func(s *spec.Spec) { s.Features[6].OOVBuckets = 11 }, ErrIncompatible},
		{"quantiles", func(s *spec.Spec) { s.Features[0].Quantiles = 7 }, ErrIncompatible},
		{"type", func(s *spec.Spec) { s.Features[1].Type = spec.Numeric; s.Features[1].Quantiles = 4; s.Crosses = nil }, ErrIncompatible},
		{"hash buckets", func(s *spec.Spec) { s.Crosses[0].HashBuckets = 5 }, ErrIncompatible},
		{"feature removed", func(s *spec.Spec) { s.Features = slices.Delete(s.Features, 12, 13) }, nil},
		{"feature added, min_count changed", func(s *spec.Spec) {
			s.Features[6].MinCount = 9
			s.Features = append(s.Features, spec.Feature{Name: "extra", Type: spec.Categorical, MinCount: 1})
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := playstoreSpec()
			tc.modify(sp)
			_, err := DecodeBytes(enc, sp, smallOpts)
			if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.wdfz")
	s := fitted(t, 4, 300)
	for range 2 { // the second write replaces the first
		if err := WriteFile(path, s, EncodeOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadFile(path, playstoreSpec(), smallOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.AppendEncoded(nil, EncodeOptions{}), s.AppendEncoded(nil, EncodeOptions{})) {
		t.Fatal("file round trip differs")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries, want only the state (no temporary left)", len(ents))
	}
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, b[:len(b)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path, playstoreSpec(), smallOpts); !errors.Is(err, ErrFormat) || !bytes.Contains([]byte(err.Error()), []byte(path)) {
		t.Fatalf("truncated file: %v, want ErrFormat naming the file", err)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir"), s, EncodeOptions{}); err == nil {
		t.Fatal("WriteFile into a missing directory succeeded")
	}
}
