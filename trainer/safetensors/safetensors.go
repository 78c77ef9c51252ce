// Package safetensors reads and writes the safetensors tensor file format
// (https://huggingface.co/docs/safetensors), which Python (safetensors,
// numpy), Rust and C++ tools read:
//
//	8 bytes        little-endian uint64 N, the header's length
//	N bytes        JSON header: {"NAME": {"dtype": "F32", "shape": [..],
//	               "data_offsets": [BEGIN, END]}, ..., "__metadata__":
//	               {"key": "value", ...}}, padded with spaces to a multiple of 8
//	rest           the tensors' little-endian bytes; offsets are relative to
//	               the start of this section, tensors are contiguous and
//	               row-major
//
// Only the dtypes wdstream writes are supported: F32, F64, I32, I64.
// Decoding validates everything a corrupt file could get wrong (lengths,
// offsets, overlaps, shape products, dtype) and fails with an error naming
// the tensor.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// DType is a tensor element type.
type DType string

// The supported element types.
const (
	F32 DType = "F32"
	F64 DType = "F64"
	I32 DType = "I32"
	I64 DType = "I64"
)

// Size is the byte size of one element.
func (d DType) Size() int {
	switch d {
	case F32, I32:
		return 4
	case F64, I64:
		return 8
	}
	return 0
}

// Tensor is one named tensor: its dtype, shape and raw little-endian data.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// Elements is the product of the shape (1 for a scalar).
func (t *Tensor) Elements() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}

// F32Tensor returns an F32 tensor holding a copy of v in the given shape.
func F32Tensor(name string, v []float32, shape ...int) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: F32, Shape: shape, Data: b}
}

// Float32s decodes an F32 tensor's data.
func (t *Tensor) Float32s() ([]float32, error) {
	if t.DType != F32 {
		return nil, fmt.Errorf("tensor %q: dtype %s, want F32", t.Name, t.DType)
	}
	v := make([]float32, len(t.Data)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return v, nil
}

type entry struct {
	DType       DType  `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

// maxHeader bounds the JSON header a decoder accepts (the format's own
// limit is 100 MB).
const maxHeader = 100 << 20

// Encode writes tensors (in the given order) and metadata in safetensors
// format.
func Encode(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	off := 0
	for i := range tensors {
		t := &tensors[i]
		if t.Name == "" || t.Name == "__metadata__" {
			return nil, fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		}
		if _, dup := header[t.Name]; dup {
			return nil, fmt.Errorf("safetensors: duplicate tensor %q", t.Name)
		}
		if t.DType.Size() == 0 {
			return nil, fmt.Errorf("safetensors: tensor %q: unsupported dtype %q", t.Name, t.DType)
		}
		if want := t.Elements() * t.DType.Size(); want != len(t.Data) {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v needs %d bytes, has %d", t.Name, t.Shape, want, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = entry{DType: t.DType, Shape: shape, DataOffsets: [2]int{off, off + len(t.Data)}}
		off += len(t.Data)
	}
	h, err := json.Marshal(header) // map keys are sorted: deterministic bytes
	if err != nil {
		return nil, fmt.Errorf("safetensors: encoding header: %w", err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8, 8+len(h)+off)
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	for i := range tensors {
		out = append(out, tensors[i].Data...)
	}
	return out, nil
}

// File is a decoded safetensors file.
type File struct {
	Tensors  map[string]*Tensor
	Metadata map[string]string
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for n := range f.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Decode parses a whole safetensors file; tensors alias b.
func Decode(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, errors.New("safetensors: file shorter than its 8-byte header length")
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxHeader || n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the file (%d bytes) or the %d-byte limit", n, len(b), maxHeader)
	}
	hdr := b[8 : 8+n]
	data := b[8+n:]
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	f := &File{Tensors: map[string]*Tensor{}, Metadata: map[string]string{}}
	type span struct {
		lo, hi int
		name   string
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("safetensors: __metadata__: %w", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		size := e.DType.Size()
		if size == 0 {
			return nil, fmt.Errorf("safetensors: tensor %q: unsupported dtype %q", name, e.DType)
		}
		elems := 1
		for _, s := range e.Shape {
			if s < 0 || (s > 0 && elems > math.MaxInt32/s) {
				return nil, fmt.Errorf("safetensors: tensor %q: invalid shape %v", name, e.Shape)
			}
			elems *= s
		}
		lo, hi := e.DataOffsets[0], e.DataOffsets[1]
		if lo < 0 || hi < lo || hi > len(data) {
			return nil, fmt.Errorf("safetensors: tensor %q: data offsets [%d, %d] outside the %d data bytes", name, lo, hi, len(data))
		}
		if hi-lo != elems*size {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, offsets give %d", name, e.Shape, e.DType, elems*size, hi-lo)
		}
		f.Tensors[name] = &Tensor{Name: name, DType: e.DType, Shape: e.Shape, Data: data[lo:hi]}
		spans = append(spans, span{lo, hi, name})
	}
	slices.SortFunc(spans, func(a, b span) int { return a.lo - b.lo })
	end := 0
	for _, s := range spans {
		if s.lo != end {
			return nil, fmt.Errorf("safetensors: tensor %q: data starts at %d, expected %d (gap or overlap)", s.name, s.lo, end)
		}
		end = s.hi
	}
	if end != len(data) {
		return nil, fmt.Errorf("safetensors: %d trailing data bytes after the last tensor", len(data)-end)
	}
	return f, nil
}
