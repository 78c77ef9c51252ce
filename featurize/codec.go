package featurize

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// enc appends the primitives of the state format to a byte slice.
type enc struct{ b []byte }

func (e *enc) byte(v byte)      { e.b = append(e.b, v) }
func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) u64(v uint64)     { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *enc) f64(v float64)    { e.u64(math.Float64bits(v)) }
func (e *enc) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// errShort is the error of a body that ends inside a field.
var errShort = errors.New("unexpected end of data")

// dec reads the primitives of the state format; the first error sticks and
// every later read returns zero values.
type dec struct {
	b   []byte
	off int
	err error
	at  string // what is being read, for errors
}

func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%s at byte %d: %w", d.at, d.off, err)
	}
}

func (d *dec) left() int { return len(d.b) - d.off }

func (d *dec) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.left() < 1 {
		d.fail(errShort)
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *dec) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.off += n
	return v
}

// count reads a uvarint that counts items of at least unit bytes each and
// checks that many could still follow, so a corrupted count cannot make the
// decoder allocate more than the input's size.
func (d *dec) count(unit int) int {
	v := d.uvarint()
	if d.err == nil && v > uint64(d.left()/unit) {
		d.fail(fmt.Errorf("count %d exceeds the remaining %d bytes", v, d.left()))
		return 0
	}
	return int(v)
}

func (d *dec) u64() uint64 {
	if d.err != nil {
		return 0
	}
	if d.left() < 8 {
		d.fail(errShort)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *dec) f64() float64 { return math.Float64frombits(d.u64()) }

func (d *dec) str() string {
	n := d.count(1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[d.off : d.off+n])
	d.off += n
	return s
}

// present reads a marker byte: 1 when what follows, 0 when not; any other
// value fails the decoding naming what.
func (d *dec) present(what string) bool {
	switch d.byte() {
	case 0:
	case 1:
		return true
	default:
		d.fail(fmt.Errorf("bad %s marker: %w", what, ErrFormat))
	}
	return false
}
