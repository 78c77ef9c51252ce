package publisher

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

// TestCreateIfAbsentOnFileStores: on file://, createIfAbsent writes the
// file fileblob reads for the key (also under the URL's prefix
// parameter), refuses a second create without touching the first bytes,
// leaves no temporary file, and refuses keys that fileblob would escape
// on disk instead of creating the wrong file.
func TestCreateIfAbsentOnFileStores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct{ url, onDisk string }{
		{"file://" + dir, filepath.Join(dir, "m", "k")},
		{"file://" + dir + "?prefix=sub/", filepath.Join(dir, "sub", "m", "k")},
	} {
		s := openStore(t, tc.url)
		if err := s.createIfAbsent(ctx, "m/k", []byte("first"), ""); err != nil {
			t.Fatal(err)
		}
		if err := s.createIfAbsent(ctx, "m/k", []byte("second"), ""); !errors.Is(err, errExists) {
			t.Fatalf("%s: second create: %v, want errExists", tc.url, err)
		}
		if b, err := s.Bucket().ReadAll(ctx, "m/k"); err != nil || string(b) != "first" {
			t.Fatalf("%s: the bucket reads %q (%v), want the first bytes", tc.url, b, err)
		}
		if b, err := os.ReadFile(tc.onDisk); err != nil || string(b) != "first" {
			t.Fatalf("%s: %s holds %q (%v)", tc.url, tc.onDisk, b, err)
		}
		entries, _ := os.ReadDir(filepath.Dir(tc.onDisk))
		if len(entries) != 1 {
			t.Fatalf("%s: %d entries next to the key's file, want only it", tc.url, len(entries))
		}
		for _, bad := range []string{"m/a\x01b", "m//k", "m/../k", "m/k/", "m/k.attrs"} {
			if err := s.createIfAbsent(ctx, bad, nil, ""); err == nil || !strings.Contains(err.Error(), "cannot be created exclusively") {
				t.Errorf("%s: key %q: %v, want a refusal", tc.url, bad, err)
			}
		}
	}
}

// ignoringIfNoneMatch is a bucket driver that accepts every write, like a
// server that ignores If-None-Match. Only what the probe calls is
// implemented.
type ignoringIfNoneMatch struct {
	driver.Bucket // nil: any other call panics
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (discardWriter) Close() error                { return nil }

func (ignoringIfNoneMatch) NewTypedWriter(context.Context, string, string, *driver.WriterOptions) (driver.Writer, error) {
	return discardWriter{}, nil
}
func (ignoringIfNoneMatch) Delete(context.Context, string, *driver.DeleteOptions) error { return nil }
func (ignoringIfNoneMatch) ErrorCode(error) gcerrors.ErrorCode                          { return gcerrors.Unknown }
func (ignoringIfNoneMatch) ErrorAs(error, any) bool                                     { return false }
func (ignoringIfNoneMatch) As(any) bool                                                 { return false }
func (ignoringIfNoneMatch) Close() error                                                { return nil }

// TestLockRefusesAStoreWithoutConditionalWrites: on a store that lets a
// second conditional create of a key succeed, the lock (and so every move
// of LATEST) fails with errNoConditionalWrites instead of letting two
// publishers hold it.
func TestLockRefusesAStoreWithoutConditionalWrites(t *testing.T) {
	s := &Store{bucket: blob.NewBucket(ignoringIfNoneMatch{}), where: "fake://bucket"}
	defer s.Close()
	_, err := s.lock(context.Background(), "m")
	if !errors.Is(err, errNoConditionalWrites) {
		t.Fatalf("lock on a store that ignores If-None-Match: %v, want errNoConditionalWrites", err)
	}
	t.Log(err)
}
