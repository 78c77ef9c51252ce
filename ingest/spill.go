package ingest

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
)

// The spill: where the messages of a partition's pending impressions go
// while the join state is over its memory budget (see the package doc,
// "Bounded state"). A message is written once, when its impression is
// added, and read once, when the impression is emitted (roughly in
// arrival order), then dropped; nothing needs to survive a crash, since
// the join replays from the committed offsets. So the store is a series of
// append-only segment files, each cut at SpillSegmentBytes, with a count
// of the entries not yet taken: a segment is deleted when that count
// reaches 0 and it is no longer written, and the one being written starts
// over from its beginning when every entry of it was taken.

const (
	// spillBufBytes: appended entries are written in chunks of this size;
	// an entry still in the buffer is read from it.
	spillBufBytes = 256 << 10
	// maxSpillSegment bounds SpillSegmentBytes, so that a position in a
	// segment fits in 32 bits; an entry may be as large as maxSpillEntry
	// (Kafka's messages are far smaller).
	maxSpillSegment = 1 << 30
	maxSpillEntry   = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// spillRef locates one entry: 16 bytes in the pending state instead of
// the message. sum is the entry's CRC-32C, checked when it is read.
type spillRef struct {
	seg, pos, n, sum uint32
}

// spillCounters are the stage's spill statistics, shared by its
// partitions' stores.
type spillCounters struct {
	written   atomic.Int64 // entries written
	read      atomic.Int64 // entries read back
	live      atomic.Int64 // entries not yet taken (gauge)
	diskBytes atomic.Int64 // size of the segment files (gauge)
}

// spillStore is the spill of one partition (one joinPart); it is not safe
// for concurrent use.
type spillStore struct {
	dir, prefix string // segment files are dir/prefix-NNNNNN.spill
	segBytes    int64
	c           *spillCounters
	openFile    func(name string, flag int, perm os.FileMode) (*os.File, error) // os.OpenFile; tests replace it

	segs  map[uint32]*spillSeg
	cur   *spillSeg // the segment being written; nil before the first entry
	next  uint32    // id of the next segment
	buf   []byte    // cur's entries from bufAt on, not yet written
	bufAt int64
}

type spillSeg struct {
	id   uint32
	path string
	f    *os.File
	size int64 // bytes appended (written or buffered)
	disk int64 // bytes written to the file: its size
	live int   // entries not yet taken
}

// newSpillStore returns an empty store; its first file is created with
// its first entry.
func newSpillStore(dir, prefix string, segBytes int64, c *spillCounters) *spillStore {
	if c == nil {
		c = &spillCounters{}
	}
	return &spillStore{dir: dir, prefix: prefix, segBytes: min(max(segBytes, 1), maxSpillSegment), c: c,
		openFile: os.OpenFile, segs: map[uint32]*spillSeg{}}
}

// spillErr wraps err, naming the file once.
func spillErr(op, path string, err error) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Path == path {
		err = pe.Err
	}
	return fmt.Errorf("join spill: %s %s: %w", op, path, err)
}

// put appends b and returns where it is.
func (s *spillStore) put(b []byte) (spillRef, error) {
	if len(b) == 0 || len(b) > maxSpillEntry {
		return spillRef{}, fmt.Errorf("join spill: an entry of %d bytes (want 1 to %d)", len(b), maxSpillEntry)
	}
	if s.cur == nil || (s.cur.size > 0 && s.cur.size+int64(len(b)) > s.segBytes) {
		if err := s.rotate(); err != nil {
			return spillRef{}, err
		}
	}
	c := s.cur
	ref := spillRef{seg: c.id, pos: uint32(c.size), n: uint32(len(b)), sum: crc32.Checksum(b, crcTable)}
	s.buf = append(s.buf, b...)
	c.size += int64(len(b))
	c.live++
	s.c.written.Add(1)
	s.c.live.Add(1)
	if len(s.buf) >= spillBufBytes {
		if err := s.flush(); err != nil {
			return spillRef{}, err
		}
	}
	return ref, nil
}

// flush writes the buffer to the segment being written.
func (s *spillStore) flush() error {
	c := s.cur
	if c == nil || len(s.buf) == 0 {
		return nil
	}
	if _, err := c.f.WriteAt(s.buf, s.bufAt); err != nil {
		return spillErr(fmt.Sprintf("writing %d bytes at %d of", len(s.buf), s.bufAt), c.path, err)
	}
	s.bufAt += int64(len(s.buf))
	s.buf = s.buf[:0]
	if s.bufAt > c.disk {
		s.c.diskBytes.Add(s.bufAt - c.disk)
		c.disk = s.bufAt
	}
	return nil
}

// rotate finishes the segment being written (deleting it when none of its
// entries is left) and starts a new file.
func (s *spillStore) rotate() error {
	if c := s.cur; c != nil {
		if err := s.flush(); err != nil {
			return err
		}
		s.cur = nil
		if c.live == 0 {
			if err := s.remove(c); err != nil {
				return err
			}
		}
	}
	id := s.next
	path := filepath.Join(s.dir, fmt.Sprintf("%s-%06d.spill", s.prefix, id))
	f, err := s.openFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return spillErr("creating", path, err)
	}
	s.next++
	s.cur = &spillSeg{id: id, path: path, f: f}
	s.segs[id] = s.cur
	s.buf, s.bufAt = s.buf[:0], 0
	return nil
}

// take reads the entry ref locates into dst (grown as needed), checks it
// and drops it from the store.
func (s *spillStore) take(ref spillRef, dst []byte) ([]byte, error) {
	seg := s.segs[ref.seg]
	if seg == nil {
		return nil, fmt.Errorf("join spill: no segment %d for an entry (internal error)", ref.seg)
	}
	n, pos := int(ref.n), int64(ref.pos)
	dst = slices.Grow(dst[:0], n)[:n]
	if seg == s.cur && pos >= s.bufAt {
		copy(dst, s.buf[pos-s.bufAt:])
	} else if _, err := seg.f.ReadAt(dst, pos); err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: the file is shorter than what was written to it", io.ErrUnexpectedEOF)
		}
		return nil, spillErr(fmt.Sprintf("reading %d bytes at %d of", n, pos), seg.path, err)
	}
	if crc32.Checksum(dst, crcTable) != ref.sum {
		return nil, fmt.Errorf("join spill: %s: the %d bytes at %d do not match their checksum (the file was changed under the join)", seg.path, n, pos)
	}
	s.c.read.Add(1)
	return dst, s.drop(ref)
}

// drop forgets the entry ref locates without reading it.
func (s *spillStore) drop(ref spillRef) error {
	seg := s.segs[ref.seg]
	if seg == nil || seg.live == 0 {
		return fmt.Errorf("join spill: dropping an entry of segment %d that has none (internal error)", ref.seg)
	}
	seg.live--
	s.c.live.Add(-1)
	switch {
	case seg.live > 0:
		return nil
	case seg == s.cur: // every entry taken: write it again from its start
		seg.size, s.buf, s.bufAt = 0, s.buf[:0], 0
		return nil
	}
	return s.remove(seg)
}

// remove closes and deletes a segment that is not being written.
func (s *spillStore) remove(seg *spillSeg) error {
	delete(s.segs, seg.id)
	s.c.live.Add(-int64(seg.live))
	s.c.diskBytes.Add(-seg.disk)
	seg.live, seg.disk = 0, 0
	err := seg.f.Close()
	if rerr := os.Remove(seg.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return spillErr("removing", seg.path, err)
	}
	return nil
}

// close deletes every file of the store; it stays usable (empty).
func (s *spillStore) close() error {
	var errs []error
	for _, seg := range s.segs {
		errs = append(errs, s.remove(seg))
	}
	s.cur, s.buf, s.bufAt = nil, nil, 0
	return errors.Join(errs...)
}
