package featurize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/wdstream/wdstream/schemas/spec"
)

// Format constants; the format is described in the package doc.
const (
	formatMagic   = "WDFZ"
	formatVersion = 1
	headerSize    = 16
	trailerSize   = 4
	flagFitState  = 1 << 0
	flagExpiry    = 1 << 1

	typeCategorical     = 1
	typeCategoricalList = 2
	typeNumeric         = 3

	maxKLLLevels = 64
)

// ErrFormat marks an input that is not a valid encoded State: wrong magic,
// unknown version, truncated, checksum mismatch or a malformed body.
var ErrFormat = errors.New("invalid featurize state")

// castagnoli returns the CRC-32C table (crc32 builds it once and caches it).
func castagnoli() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

// EncodeOptions select what Encode writes.
type EncodeOptions struct {
	// FitState adds the admission sketches and the quantile sketches, so
	// that a decoded State goes on fitting exactly where this one stopped
	// (a trainer checkpoint). Without it (a published model) only the
	// vocabularies and boundaries are written. Default false.
	FitState bool
}

// Encode writes the State to w in the versioned binary format of the
// package doc. It must not run concurrently with Fit.
func (s *State) Encode(w io.Writer, opts EncodeOptions) error {
	b := s.AppendEncoded(nil, opts)
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("featurize: writing state: %w", err)
	}
	return nil
}

// AppendEncoded appends the encoded State to dst and returns it.
func (s *State) AppendEncoded(dst []byte, opts EncodeOptions) []byte {
	start := len(dst)
	var flags uint16
	if opts.FitState {
		flags |= flagFitState
	}
	expiry := s.hasExpiry()
	if expiry {
		flags |= flagExpiry
	}
	dst = append(dst, formatMagic...)
	dst = binary.LittleEndian.AppendUint16(dst, formatVersion)
	dst = binary.LittleEndian.AppendUint16(dst, flags)
	dst = binary.LittleEndian.AppendUint64(dst, 0) // body length, patched below
	e := enc{b: dst}
	s.encodeBody(&e, opts.FitState, expiry)
	dst = e.b
	binary.LittleEndian.PutUint64(dst[start+8:], uint64(len(dst)-start-headerSize))
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli()))
}

// hasExpiry reports whether a vocabulary has a ttl or holes, which the
// format's expiry sections record (flagExpiry; without, the state encodes
// as before ttls existed).
func (s *State) hasExpiry() bool {
	for _, c := range s.cats {
		if c.vocab.exp != nil || len(c.vocab.free) > 0 {
			return true
		}
	}
	return false
}

// encodeExpiry writes a vocabulary's expiry section: its holes in reuse
// order, then its last-seen times relative to its clock.
func (v *Vocab) encodeExpiry(e *enc) {
	e.uvarint(uint64(len(v.free)))
	for i := len(v.free) - 1; i >= 0; i-- { // the next reused first
		e.uvarint(uint64(v.free[i]))
	}
	x := v.exp
	if x == nil {
		e.byte(0)
		return
	}
	e.byte(1)
	e.uvarint(uint64(max(x.clock, 0)))
	e.uvarint(uint64(max(x.next-x.clock, 0)))
	for _, seen := range x.lastSeen {
		if seen <= 0 || seen > x.clock {
			e.uvarint(0)
			continue
		}
		e.uvarint(uint64(x.clock-seen) + 1)
	}
}

func (s *State) encodeBody(e *enc, fit, expiry bool) {
	e.uvarint(uint64(len(s.cats) + len(s.nums)))
	for _, c := range s.cats {
		e.str(c.name)
		if c.list {
			e.byte(typeCategoricalList)
		} else {
			e.byte(typeCategorical)
		}
		v := c.vocab
		e.uvarint(uint64(v.oov))
		e.uvarint(uint64(len(v.tokens)))
		for _, t := range v.tokens {
			e.str(t)
		}
		if expiry {
			v.encodeExpiry(e)
		}
		if fit {
			if v.admit == nil {
				e.byte(0)
				continue
			}
			a := v.admit
			e.byte(1)
			e.uvarint(uint64(a.width))
			e.uvarint(uint64(a.added))
			e.uvarint(a.ages)
			for _, c := range a.counts {
				e.b = binary.LittleEndian.AppendUint16(e.b, c)
			}
			for _, f := range a.door {
				e.b = binary.LittleEndian.AppendUint32(e.b, f)
			}
		}
	}
	for _, n := range s.nums {
		e.str(n.name)
		e.byte(typeNumeric)
		e.uvarint(uint64(n.nq))
		if n.fixed {
			e.byte(1)
		} else {
			e.byte(0)
		}
		e.uvarint(uint64(len(n.bounds)))
		for _, x := range n.bounds {
			e.f64(x)
		}
		if fit {
			k := n.sketch
			e.uvarint(uint64(k.k))
			e.uvarint(k.n)
			e.u64(k.rng)
			e.f64(k.min)
			e.f64(k.max)
			e.uvarint(uint64(len(k.levels)))
			for _, lv := range k.levels {
				e.uvarint(uint64(len(lv)))
				for _, x := range lv {
					e.f64(x)
				}
			}
		}
	}
	e.uvarint(uint64(len(s.crosses)))
	for _, c := range s.crosses {
		e.str(c.name)
		e.uvarint(uint64(c.buckets))
		e.uvarint(uint64(len(c.cols)))
		for _, col := range c.cols {
			e.str(col.name)
		}
	}
}

// Decode reads a State written by Encode and binds it to sp: the result is
// New(sp, opts) with the persisted vocabularies, boundaries and (when
// present) fit state of the features that sp still declares. A persisted
// feature that sp no longer declares is dropped; a feature new in sp starts
// empty. A feature whose ids would change meaning is an error naming it: a
// different type, number of OOV buckets, number of quantiles, or a cross's
// hash_buckets. Persisted sketches keep their own sizes whatever opts say;
// a persisted admission sketch is dropped when the spec's min_count is now
// 1. A list's max_length is not persisted: the spec's applies, and may
// change freely (ids keep their meaning). Every format error wraps
// ErrFormat.
func Decode(r io.Reader, sp *spec.Spec, opts Options) (*State, error) {
	b, err := readState(r)
	if err == nil {
		var s *State
		if s, err = decodeBytes(b, sp, opts); err == nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("featurize: decoding state: %w", err)
}

// readState reads one encoded state from r: the header, then at most the
// length it states plus the trailer, so that a corrupted length cannot
// allocate more than the input holds.
func readState(r io.Reader) ([]byte, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading header: %w: %w", ErrFormat, err)
	}
	if string(hdr[:4]) != formatMagic {
		return nil, fmt.Errorf("magic %q, want %q: %w", hdr[:4], formatMagic, ErrFormat)
	}
	n := binary.LittleEndian.Uint64(hdr[8:])
	var buf bytes.Buffer
	buf.Write(hdr[:])
	if _, err := io.Copy(&buf, io.LimitReader(r, int64(min(n, math.MaxInt64-trailerSize))+trailerSize)); err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeBytes is Decode from a byte slice.
func DecodeBytes(b []byte, sp *spec.Spec, opts Options) (*State, error) {
	s, err := decodeBytes(b, sp, opts)
	if err != nil {
		return nil, fmt.Errorf("featurize: decoding state: %w", err)
	}
	return s, nil
}

func decodeBytes(b []byte, sp *spec.Spec, opts Options) (*State, error) {
	if len(b) < headerSize+trailerSize {
		return nil, fmt.Errorf("%d bytes, truncated: %w", len(b), ErrFormat)
	}
	if string(b[:4]) != formatMagic {
		return nil, fmt.Errorf("magic %q, want %q: %w", b[:4], formatMagic, ErrFormat)
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != formatVersion {
		return nil, fmt.Errorf("format version %d, this build reads %d: %w", v, formatVersion, ErrFormat)
	}
	flags := binary.LittleEndian.Uint16(b[6:])
	if flags&^(flagFitState|flagExpiry) != 0 {
		return nil, fmt.Errorf("flags %#x hold unknown bits: %w", flags, ErrFormat)
	}
	n := binary.LittleEndian.Uint64(b[8:])
	if want := uint64(len(b) - headerSize - trailerSize); n != want {
		if n > want {
			return nil, fmt.Errorf("truncated: body of %d bytes, header says %d: %w", want, n, ErrFormat)
		}
		return nil, fmt.Errorf("%d bytes after its body of %d: %w", want-n, n, ErrFormat)
	}
	end := len(b) - trailerSize
	if got, want := crc32.Checksum(b[:end], castagnoli()), binary.LittleEndian.Uint32(b[end:]); got != want {
		return nil, fmt.Errorf("checksum %08x, stored %08x: corrupted: %w", got, want, ErrFormat)
	}
	s, err := newState(sp, opts)
	if err != nil {
		return nil, err
	}
	d := &dec{b: b[headerSize:end]}
	if err := s.decodeBody(d, flags&flagFitState != 0, flags&flagExpiry != 0); err != nil {
		return nil, err
	}
	return s, nil
}
