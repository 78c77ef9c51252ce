package ingest

import (
	"bytes"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// spillFiles lists the segment files in dir.
func spillFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.spill"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func randomEntry(rng *rand.Rand, i int) []byte {
	b := make([]byte, 1+rng.IntN(3000))
	for k := range b {
		b[k] = byte('a' + (i+k)%26)
	}
	return b
}

// TestSpillRoundTrip writes entries over many segments and takes them
// back mostly in arrival order, some out of it, some dropped unread: each
// comes back as written, a segment file is deleted once all its entries
// are taken, and the counters add up.
func TestSpillRoundTrip(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		rng := rand.New(rand.NewPCG(seed, 9))
		dir := t.TempDir()
		var c spillCounters
		s := newSpillStore(dir, "p0-1", 64<<10, &c)
		type entry struct {
			ref  spillRef
			data []byte
		}
		var live []entry
		var buf []byte
		taken := 0
		for i := range 3000 {
			if rng.IntN(3) > 0 || len(live) == 0 {
				data := randomEntry(rng, i)
				ref, err := s.put(data)
				if err != nil {
					t.Fatal(err)
				}
				live = append(live, entry{ref, data})
				continue
			}
			k := 0 // the oldest, mostly
			if rng.IntN(5) == 0 {
				k = rng.IntN(len(live))
			}
			e := live[k]
			live = slices.Delete(live, k, k+1)
			if rng.IntN(10) == 0 {
				if err := s.drop(e.ref); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := s.take(e.ref, buf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, e.data) {
				t.Fatalf("seed %d step %d: entry of %d bytes read back wrong", seed, i, len(e.data))
			}
			buf = got
			taken++
		}
		// Every file holds a live entry, or is the one being written.
		want := map[uint32]bool{s.cur.id: true}
		for _, e := range live {
			want[e.ref.seg] = true
		}
		if files := spillFiles(t, dir); len(files) != len(want) || len(s.segs) != len(want) {
			t.Fatalf("seed %d: %d files %v, %d segments; want %d", seed, len(files), files, len(s.segs), len(want))
		}
		if c.live.Load() != int64(len(live)) || c.read.Load() != int64(taken) {
			t.Fatalf("seed %d: counters live %d read %d, want %d %d", seed, c.live.Load(), c.read.Load(), len(live), taken)
		}
		var disk int64
		for _, f := range spillFiles(t, dir) {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			disk += fi.Size()
		}
		if c.diskBytes.Load() != disk {
			t.Fatalf("seed %d: disk bytes %d, files hold %d", seed, c.diskBytes.Load(), disk)
		}
		if s.next < 10 {
			t.Fatalf("seed %d: %d segments in all: the test does not cover rotation", seed, s.next)
		}
		if err := s.close(); err != nil {
			t.Fatal(err)
		}
		if files := spillFiles(t, dir); len(files) != 0 || c.live.Load() != 0 || c.diskBytes.Load() != 0 {
			t.Fatalf("seed %d: after close: files %v, live %d, disk %d", seed, files, c.live.Load(), c.diskBytes.Load())
		}
	}
}

// TestSpillSegments follows the segment files: one per 4 KiB, deleted
// when their entries are taken, except the one being written, which starts
// over when all of its entries are taken; an entry still in the write
// buffer is read from it.
func TestSpillSegments(t *testing.T) {
	dir := t.TempDir()
	var c spillCounters
	s := newSpillStore(dir, "p3-7", 4096, &c)
	entry := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 1000) }
	var refs []spillRef
	for i := range 10 { // 4 per segment: segments 0, 1, 2
		ref, err := s.put(entry(i))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	if files := spillFiles(t, dir); len(files) != 3 || !strings.HasSuffix(files[0], "p3-7-000000.spill") {
		t.Fatalf("files %v, want 3 named p3-7-NNNNNN.spill", files)
	}
	// Entries 8 and 9 are in the buffer, not yet written.
	if fi, _ := os.Stat(filepath.Join(dir, "p3-7-000002.spill")); fi.Size() != 0 {
		t.Fatalf("the segment being written has %d bytes on disk, want 0 (buffered)", fi.Size())
	}
	take := func(i int) {
		t.Helper()
		got, err := s.take(refs[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, entry(i)) {
			t.Fatalf("entry %d read back wrong", i)
		}
	}
	take(9) // from the buffer
	for i := range 3 {
		take(i)
	}
	if len(spillFiles(t, dir)) != 3 {
		t.Fatal("segment 0 deleted while an entry of it is live")
	}
	take(3)
	if files := spillFiles(t, dir); len(files) != 2 || strings.HasSuffix(files[0], "000000.spill") {
		t.Fatalf("after taking segment 0's entries: files %v", files)
	}
	for i := 4; i < 9; i++ {
		take(i)
	}
	// Segment 1 is gone; segment 2 is empty and starts over.
	if files := spillFiles(t, dir); len(files) != 1 || s.cur.size != 0 {
		t.Fatalf("files %v, current segment size %d: want only segment 2, empty", files, s.cur.size)
	}
	ref, err := s.put(entry(20))
	if err != nil {
		t.Fatal(err)
	}
	if ref.seg != 2 || ref.pos != 0 {
		t.Fatalf("entry after the reset at %+v, want segment 2 at 0", ref)
	}
	if got, err := s.take(ref, nil); err != nil || !bytes.Equal(got, entry(20)) {
		t.Fatalf("entry after the reset: %v", err)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if files := spillFiles(t, dir); len(files) != 0 {
		t.Fatalf("after close: %v", files)
	}
}

// writtenSegment returns a store whose first segment (4 KiB of 100-byte
// entries, x's) is written to its file, that file, and the entries.
func writtenSegment(t *testing.T) (*spillStore, string, []spillRef) {
	t.Helper()
	dir := t.TempDir()
	s := newSpillStore(dir, "p0-1", 4096, nil)
	var refs []spillRef
	for s.next < 2 {
		ref, err := s.put(bytes.Repeat([]byte("x"), 100))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	return s, filepath.Join(dir, "p0-1-000000.spill"), refs
}

// TestSpillErrors: every I/O failure is an error that names the file.
func TestSpillErrors(t *testing.T) {
	t.Run("no directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "gone")
		s := newSpillStore(dir, "p0-1", 4096, nil)
		_, err := s.put([]byte("{}"))
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "p0-1-000000.spill")) {
			t.Fatalf("put in a missing directory: %v, want an error naming the file", err)
		}
		t.Log(err)
	})
	t.Run("disk full", func(t *testing.T) {
		s := newSpillStore(t.TempDir(), "p0-1", 1<<20, nil)
		s.openFile = func(string, int, os.FileMode) (*os.File, error) { return os.OpenFile("/dev/full", os.O_RDWR, 0) }
		var err error
		for i := 0; err == nil && i < 1000; i++ {
			_, err = s.put(bytes.Repeat([]byte("x"), 1000))
		}
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "/dev/full") {
			t.Fatalf("writing to a full disk: %v, want ENOSPC naming the file", err)
		}
		t.Log(err)
		s.cur.f.Close()
	})
	for _, tc := range []struct {
		name   string
		damage func(s *spillStore, path string, refs []spillRef) error
		read   int    // the entry read
		want   string // in the error, besides the file's name
	}{
		{"truncated", func(_ *spillStore, path string, _ []spillRef) error { return os.Truncate(path, 150) }, 1, "shorter"},
		{"changed", func(_ *spillStore, path string, refs []spillRef) error {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte("y"), int64(refs[2].pos)+7)
			return err
		}, 2, "checksum"},
		{"closed", func(s *spillStore, _ string, _ []spillRef) error { return s.segs[0].f.Close() }, 0, "closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path, refs := writtenSegment(t)
			if err := tc.damage(s, path, refs); err != nil {
				t.Fatal(err)
			}
			if tc.read > 0 { // an entry before the damage reads well
				if _, err := s.take(refs[0], nil); err != nil {
					t.Fatalf("the entry before the damage: %v", err)
				}
			}
			_, err := s.take(refs[tc.read], nil)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("reading entry %d: %v, want an error naming %s and saying %q", tc.read, err, path, tc.want)
			}
			t.Log(err)
			s.close()
		})
	}
	t.Run("removed", func(t *testing.T) {
		// The store keeps its files open: one deleted under it (a cleaner
		// of the temp dir) is still read, and its removal is no error.
		s, path, refs := writtenSegment(t)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		for _, ref := range refs[:len(refs)-1] {
			if got, err := s.take(ref, nil); err != nil || string(got) != strings.Repeat("x", 100) {
				t.Fatalf("reading a deleted file through its open descriptor: %q, %v", got, err)
			}
		}
		if err := s.close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("entry size", func(t *testing.T) {
		s := newSpillStore(t.TempDir(), "p0-1", 4096, nil)
		if _, err := s.put(nil); err == nil {
			t.Fatal("an empty entry was accepted")
		}
	})
}

// TestSpillRoot: a stage's directory and lock; a second stage on the same
// base leaves it alone while it runs; the directory of a stage that died
// (its lock file not locked) is deleted by the next start; close deletes
// its own.
func TestSpillRoot(t *testing.T) {
	base := filepath.Join(t.TempDir(), "spill")
	logger := slog.New(slog.DiscardHandler)
	a, err := openSpillRoot(base, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a.dir, "p0-1-000000.spill"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A dead stage: its lock file is there, nobody holds it.
	dead := filepath.Join(base, spillRootPrefix+"123")
	if err := os.Mkdir(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dead, "p1-1-000004.spill"), []byte("y"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dead+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := openSpillRoot(base, logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the dead stage's directory: %v, want it deleted", err)
	}
	if _, err := os.Stat(dead + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the dead stage's lock file: %v, want it deleted", err)
	}
	if _, err := os.Stat(filepath.Join(a.dir, "p0-1-000000.spill")); err != nil {
		t.Fatalf("a running stage's file: %v", err)
	}
	if a.dir == b.dir {
		t.Fatal("two stages share a directory")
	}
	for _, r := range []*spillRoot{a, b} {
		if err := r.close(); err != nil {
			t.Fatal(err)
		}
	}
	left, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("left in the base after close: %v", left)
	}
	// Without a base, the OS temp dir.
	t.Setenv("TMPDIR", t.TempDir())
	r, err := openSpillRoot("", logger)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(r.dir) != os.TempDir() {
		t.Fatalf("spill dir %s, want one in %s", r.dir, os.TempDir())
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
}

// TestSpillRootUnusable: a base that cannot hold a directory is an error
// that names it.
func TestSpillRootUnusable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := openSpillRoot(filepath.Join(file, "sub"), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("a base under a file: %v, want an error naming it", err)
	}
}

// BenchmarkSpill writes messages of the simulator's size (470 bytes) to a
// spill and reads them back in the order written, 1,000 behind, as the
// join does with a window of pending impressions: the cost per message of
// spilling it.
func BenchmarkSpill(b *testing.B) {
	msg := bytes.Repeat([]byte("x"), 470)
	s := newSpillStore(b.TempDir(), "p0-1", 64<<20, nil)
	defer s.close()
	var refs []spillRef
	var buf []byte
	b.SetBytes(int64(len(msg)))
	for i := range b.N {
		ref, err := s.put(msg)
		if err != nil {
			b.Fatal(err)
		}
		refs = append(refs, ref)
		if i >= 1000 {
			if buf, err = s.take(refs[0], buf); err != nil {
				b.Fatal(err)
			}
			refs = refs[1:]
		}
	}
}
