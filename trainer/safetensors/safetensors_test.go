package safetensors

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := []Tensor{
		F32Tensor("a", []float32{1, 2, 3, 4, 5, 6}, 2, 3),
		F32Tensor("scalar", []float32{7}),
		F32Tensor("empty", nil, 0, 4),
	}
	b, err := Encode(in, map[string]string{"format": "wdstream"})
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(b); n%8 != 0 {
		t.Fatalf("header length %d is not a multiple of 8", n)
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["format"] != "wdstream" || len(f.Tensors) != 3 {
		t.Fatalf("metadata %v, %d tensors", f.Metadata, len(f.Tensors))
	}
	a, _ := f.Tensors["a"].Float32s()
	if len(a) != 6 || a[5] != 6 || f.Tensors["a"].Shape[1] != 3 {
		t.Fatalf("a = %v shape %v", a, f.Tensors["a"].Shape)
	}
	s, _ := f.Tensors["scalar"].Float32s()
	if len(s) != 1 || s[0] != 7 || len(f.Tensors["scalar"].Shape) != 0 {
		t.Fatalf("scalar = %v shape %v", s, f.Tensors["scalar"].Shape)
	}
}

func TestDecodeRejectsCorruption(t *testing.T) {
	good, _ := Encode([]Tensor{F32Tensor("w", []float32{1, 2}, 2), F32Tensor("v", []float32{3}, 1)}, nil)
	n := binary.LittleEndian.Uint64(good)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "shorter"},
		{"header length beyond file", func() []byte { c := append([]byte(nil), good...); binary.LittleEndian.PutUint64(c, 1<<40); return c }(), "exceeds"},
		{"truncated data", good[:len(good)-2], "outside"},
		{"trailing bytes", append(append([]byte(nil), good...), 0, 0, 0, 0), "trailing"},
		{"bad json", func() []byte { c := append([]byte(nil), good...); c[8] = '['; return c }(), "header"},
		{"shape mismatch", []byte(strings.Replace(string(good), `"shape":[2]`, `"shape":[3]`, 1)), `tensor "w"`},
		{"unknown dtype", []byte(strings.Replace(string(good), `"dtype":"F32"`, `"dtype":"Q8"`, 1)), "unsupported dtype"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q (header %d bytes)", err, tc.want, n)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := Encode([]Tensor{F32Tensor("w", []float32{1, 2}, 2), F32Tensor("v", []float32{3}, 1)}, map[string]string{"k": "v"})
	f.Add(good)
	f.Add([]byte{})
	f.Add(good[:12])
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			return
		}
		var ts []Tensor
		for _, name := range file.Names() {
			ts = append(ts, *file.Tensors[name])
		}
		re, err := Encode(ts, file.Metadata)
		if err != nil {
			t.Fatalf("re-encoding a decoded file: %v", err)
		}
		if _, err := Decode(re); err != nil {
			t.Fatalf("decoding a re-encoded file: %v", err)
		}
	})
}
