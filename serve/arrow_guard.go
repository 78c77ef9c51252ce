package serve

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Arrow's Go reader trusts the flatbuffer metadata of a stream's messages:
// it allocates the lengths its vectors declare (make([]arrow.Field, n)),
// follows a field's children recursively (a child may point back at its
// parent), and decompresses ZSTD with the window a frame declares (512 MiB
// from 20 bytes). None of that can be recovered from once it runs, so
// checkMessageMeta reads each message's metadata first, every offset
// checked against its bytes: the parts arrow allocates or recurses by
// (schema fields, children, custom metadata, union type ids) must lie
// inside it, the fields nest at most maxArrowDepth deep and number at most
// maxArrowFields, and record batches may be uncompressed or LZ4 only.
// Whatever else is malformed makes arrow or the reading panic or fail,
// which arrowExamples turns into a 400.
const (
	maxArrowDepth  = 32
	maxArrowFields = 10_000
)

// Values of Arrow's Message.fbs and Schema.fbs.
const (
	fbHeaderSchema          = 1
	fbHeaderDictionaryBatch = 2
	fbHeaderRecordBatch     = 3
	fbTypeUnion             = 14
	fbCompressionZSTD       = 1
)

var errMeta = errors.New("malformed message metadata")

// checkMessageMeta checks one message's metadata (see above) and returns
// the length of the body that follows it.
func checkMessageMeta(meta []byte) (bodyLen int64, err error) {
	b := fbuf(meta)
	root, err := b.u32(0)
	if err != nil {
		return 0, err
	}
	msg, err := b.table(root)
	if err != nil {
		return 0, err
	}
	// Message: version (0), header_type (1), header (2), bodyLength (3),
	// custom_metadata (4).
	p, err := msg.field(3, 8)
	if err != nil {
		return 0, err
	}
	if p != 0 { // absent: 0
		bodyLen = int64(binary.LittleEndian.Uint64(meta[p:]))
	}
	kind, err := msg.u8(1)
	if err != nil {
		return 0, err
	}
	header, err := msg.tableRef(2)
	if err != nil || header.b == nil {
		return 0, errMeta
	}
	switch kind {
	case fbHeaderSchema:
		// Schema: endianness (0), fields (1), custom_metadata (2), features (3).
		budget := maxArrowFields
		if err := header.tables(1, func(f fbTable) error { return checkField(f, 1, &budget) }); err != nil {
			return 0, err
		}
		if _, _, err := header.vector(3, 8); err != nil {
			return 0, err
		}
		return bodyLen, checkKeyValues(header, 2)
	case fbHeaderRecordBatch:
		// RecordBatch: length (0), nodes (1), buffers (2), compression (3).
		// BodyCompression: codec (0).
		c, err := header.tableRef(3)
		if err != nil {
			return 0, err
		}
		if c.b != nil {
			if codec, err := c.u8(0); err != nil || codec == fbCompressionZSTD {
				return 0, errors.New("ZSTD-compressed record batches are not accepted: send them uncompressed or LZ4-compressed")
			}
		}
		return bodyLen, nil
	case fbHeaderDictionaryBatch:
		return 0, errors.New("a dictionary batch: dictionary-encoded columns are not accepted")
	}
	return 0, fmt.Errorf("a message of type %d where a schema or record batch belongs", kind)
}

// checkField checks a Field table: name (0), nullable (1), type_type (2),
// type (3), dictionary (4), children (5), custom_metadata (6).
func checkField(f fbTable, depth int, budget *int) error {
	if *budget--; *budget < 0 {
		return fmt.Errorf("more than %d fields", maxArrowFields)
	}
	if depth > maxArrowDepth {
		return fmt.Errorf("fields nested more than %d deep", maxArrowDepth)
	}
	if _, _, err := f.vector(0, 1); err != nil {
		return err
	}
	kind, err := f.u8(2)
	if err != nil {
		return err
	}
	typ, err := f.tableRef(3)
	if err != nil {
		return err
	}
	if kind == fbTypeUnion && typ.b != nil { // Union: mode (0), typeIds (1)
		if _, _, err := typ.vector(1, 4); err != nil {
			return err
		}
	}
	if _, err := f.tableRef(4); err != nil {
		return err
	}
	if err := f.tables(5, func(c fbTable) error { return checkField(c, depth+1, budget) }); err != nil {
		return err
	}
	return checkKeyValues(f, 6)
}

// checkKeyValues checks the vector of KeyValue tables (key (0), value (1))
// of field k of t.
func checkKeyValues(t fbTable, k int) error {
	return t.tables(k, func(kv fbTable) error {
		for i := range 2 {
			if _, _, err := kv.vector(i, 1); err != nil {
				return err
			}
		}
		return nil
	})
}

// fbuf is a flatbuffer whose every read is checked against its bytes.
type fbuf []byte

func (b fbuf) u32(at int) (int, error) {
	if at < 0 || at > len(b)-4 {
		return 0, errMeta
	}
	return int(binary.LittleEndian.Uint32(b[at:])), nil
}

func (b fbuf) u16(at int) (int, error) {
	if at < 0 || at > len(b)-2 {
		return 0, errMeta
	}
	return int(binary.LittleEndian.Uint16(b[at:])), nil
}

// fbTable is a checked table: its vtable and inline fields lie in b.
type fbTable struct {
	b            fbuf // nil: absent
	pos, vt, vtN int
}

func (b fbuf) table(pos int) (fbTable, error) {
	soff, err := b.u32(pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := pos - int(int32(uint32(soff)))
	vtN, err := b.u16(vt)
	if err != nil || vtN < 4 {
		return fbTable{}, errMeta
	}
	tN, err := b.u16(vt + 2)
	if err != nil || vt+vtN > len(b) || pos+tN > len(b) {
		return fbTable{}, errMeta
	}
	return fbTable{b: b, pos: pos, vt: vt, vtN: vtN}, nil
}

// field returns where field k's size bytes are, 0 when it is absent.
func (t fbTable) field(k, size int) (int, error) {
	e := 4 + 2*k
	if e+2 > t.vtN {
		return 0, nil
	}
	o, err := t.b.u16(t.vt + e)
	if err != nil || o == 0 {
		return 0, err
	}
	if t.pos+o+size > len(t.b) {
		return 0, errMeta
	}
	return t.pos + o, nil
}

func (t fbTable) u8(k int) (int, error) {
	p, err := t.field(k, 1)
	if err != nil || p == 0 {
		return 0, err
	}
	return int(t.b[p]), nil
}

// ref follows the offset in field k (to a table, vector or string): 0 when
// the field is absent.
func (t fbTable) ref(k int) (int, error) {
	p, err := t.field(k, 4)
	if err != nil || p == 0 {
		return 0, err
	}
	off, _ := t.b.u32(p)
	return p + off, nil
}

// tableRef is the table field k refers to (b nil when absent).
func (t fbTable) tableRef(k int) (fbTable, error) {
	p, err := t.ref(k)
	if err != nil || p == 0 {
		return fbTable{}, err
	}
	return t.b.table(p)
}

// vector returns where the elements of the vector (or string) in field k
// start and how many there are, checked to lie in the buffer.
func (t fbTable) vector(k, size int) (start, n int, err error) {
	p, err := t.ref(k)
	if err != nil || p == 0 {
		return 0, 0, err
	}
	if n, err = t.b.u32(p); err != nil {
		return 0, 0, err
	}
	if int64(n)*int64(size) > int64(len(t.b)-p-4) {
		return 0, 0, errMeta
	}
	return p + 4, n, nil
}

// tables calls each for the tables of the vector of tables in field k.
func (t fbTable) tables(k int, each func(fbTable) error) error {
	start, n, err := t.vector(k, 4)
	if err != nil {
		return err
	}
	for i := range n {
		at := start + 4*i
		off, _ := t.b.u32(at)
		e, err := t.b.table(at + off)
		if err != nil {
			return err
		}
		if err := each(e); err != nil {
			return err
		}
	}
	return nil
}
