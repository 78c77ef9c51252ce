package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// inputs
	_ "gocloud.dev/blob/s3blob"   // s3:// inputs

	"github.com/wdstream/wdstream/internal/redact"
	"github.com/wdstream/wdstream/schemas"
)

// Files names the input files of a glob pattern: a local path pattern
// (filepath.Glob syntax, e.g. /data/w/impressions/*.parquet), or a bucket
// URL whose path is a pattern (s3://bucket/model/examples/date=*/*.parquet?
// region=...), matched with path.Match against the bucket's keys under the
// pattern's fixed prefix. Files ending in .parquet are Parquet; .jsonl and
// .json are one JSON object per line (the Kafka message format); examples
// may also come as Arrow IPC files, .arrow or .feather (Feather v2,
// pyarrow's default LZ4 compression included), with
// schemas.ExampleArrowSchema's layout.
type Files struct {
	pattern string       // redacted: without user info and query
	bucket  *blob.Bucket // nil for local files
	names   []string     // local paths or bucket keys, sorted
	where   string       // the bucket's redacted URL, for errors
	secrets []string     // the URLs whose credentials errors must not show
}

// Glob expands pattern. No match is an error naming the pattern. Errors
// never quote a bucket URL's credentials: its user info and query are
// dropped, and any of their values a driver's message repeats is replaced.
func Glob(ctx context.Context, pattern string) (*Files, error) {
	u, err := url.Parse(pattern)
	if err != nil && strings.Contains(pattern, "://") {
		// A bucket URL that does not parse: url.Parse's error quotes it
		// whole, or a piece of it, and any piece could be a credential.
		return nil, errors.New("input pattern: not a valid URL (not shown: it may hold credentials; percent-encode reserved characters in user info and query values)")
	}
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // a Windows drive letter is not a scheme
		names, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("input pattern %q: %w", pattern, err)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("input pattern %q matches no file", pattern)
		}
		sort.Strings(names)
		return &Files{pattern: pattern, names: names}, nil
	}
	if u.Scheme == "file" {
		return Glob(ctx, u.Path)
	}
	keyPattern := strings.TrimPrefix(u.Path, "/")
	u.Path = ""
	bucketURL := u.String()
	f := &Files{pattern: redact.URL(pattern), where: redact.URL(bucketURL), secrets: []string{pattern, bucketURL}}
	b, err := blob.OpenBucket(ctx, bucketURL)
	if err != nil {
		// gocloud.dev quotes the whole URL in its errors.
		return nil, f.errorf(err, "input pattern %q: opening bucket", f.pattern)
	}
	f.bucket = b
	prefix := keyPattern
	if i := strings.IndexAny(prefix, "*?["); i >= 0 {
		prefix = prefix[:i]
	}
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Close()
			return nil, f.errorf(err, "input pattern %q: listing", f.pattern)
		}
		if ok, _ := path.Match(keyPattern, obj.Key); ok && !obj.IsDir {
			f.names = append(f.names, obj.Key)
		}
	}
	if len(f.names) == 0 {
		b.Close()
		return nil, fmt.Errorf("input pattern %q matches no object", f.pattern)
	}
	sort.Strings(f.names)
	return f, nil
}

// errorf returns "MSG: ERR" with the credentials of the input URL removed
// from ERR's text (see redact.Error: errors.Is still sees ERR's chain).
func (f *Files) errorf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, f.scrub(err))...)
}

// scrub removes the input URL's credentials from err's text; local files
// have none, and their errors keep their chain.
func (f *Files) scrub(err error) error {
	if len(f.secrets) == 0 {
		return err
	}
	return redact.Error(err, f.secrets...)
}

// Names returns the matched files.
func (f *Files) Names() []string { return f.names }

// Close releases the bucket, if any.
func (f *Files) Close() error {
	if f.bucket != nil {
		return f.bucket.Close()
	}
	return nil
}

// open returns the bytes source of file i.
func (f *Files) open(ctx context.Context, i int) (io.ReaderAt, int64, func() error, error) {
	name := f.names[i]
	if f.bucket == nil {
		fh, err := os.Open(name)
		if err != nil {
			return nil, 0, nil, err
		}
		st, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, 0, nil, err
		}
		return fh, st.Size(), fh.Close, nil
	}
	b, err := f.bucket.ReadAll(ctx, name)
	if err != nil {
		return nil, 0, nil, f.errorf(err, "reading %s from %s", name, f.where)
	}
	return bytes.NewReader(b), int64(len(b)), func() error { return nil }, nil
}

// isArrow reports an Arrow IPC file (examples only: ReadExamples).
func isArrow(name string) bool {
	return strings.HasSuffix(name, ".arrow") || strings.HasSuffix(name, ".feather")
}

func isJSONL(name string) bool {
	return strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".json")
}

// each calls fn for every record of every file, in file order, with a
// reader function for Parquet files and a line decoder for JSON lines.
func each[T any](ctx context.Context, f *Files, openPQ func(io.ReaderAt, int64, string) (interface {
	Read(*T) error
	Close() error
}, error), decodeJSON func(*schemas.Decoder, []byte, *T) error, fn func(*T) error) error {
	dec := &schemas.Decoder{}
	for i, name := range f.names {
		ra, size, closeFile, err := f.open(ctx, i)
		if err != nil {
			return fmt.Errorf("input %s: %w", name, f.scrub(err))
		}
		err = func() error {
			defer func() { _ = closeFile() }()
			if isJSONL(name) {
				sc := bufio.NewScanner(io.NewSectionReader(ra, 0, size))
				sc.Buffer(make([]byte, 64<<10), 16<<20)
				line := 0
				for sc.Scan() {
					line++
					if len(bytes.TrimSpace(sc.Bytes())) == 0 {
						continue
					}
					var v T
					if err := decodeJSON(dec, sc.Bytes(), &v); err != nil {
						return fmt.Errorf("line %d: %w", line, err)
					}
					if err := fn(&v); err != nil {
						return err
					}
				}
				return sc.Err()
			}
			r, err := openPQ(ra, size, name)
			if err != nil {
				return err
			}
			defer r.Close()
			for {
				var v T
				err := r.Read(&v)
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				if err := fn(&v); err != nil {
					return err
				}
			}
		}()
		if err != nil {
			return fmt.Errorf("input %s: %w", name, f.scrub(err))
		}
	}
	return nil
}

// ReadExamples reads every example of the files.
func ReadExamples(ctx context.Context, f *Files) ([]schemas.Example, error) {
	var out []schemas.Example
	err := each(ctx, f, func(ra io.ReaderAt, size int64, name string) (interface {
		Read(*schemas.Example) error
		Close() error
	}, error) {
		if isArrow(name) {
			return schemas.NewArrowExampleReader(ra, size, name)
		}
		return schemas.NewExampleReader(ra, size, name)
	}, (*schemas.Decoder).Example, func(e *schemas.Example) error { out = append(out, *e); return nil })
	return out, err
}

// ReadImpressions reads every impression of the files.
func ReadImpressions(ctx context.Context, f *Files) ([]schemas.Impression, error) {
	var out []schemas.Impression
	err := each(ctx, f, func(ra io.ReaderAt, size int64, name string) (interface {
		Read(*schemas.Impression) error
		Close() error
	}, error) {
		return schemas.NewImpressionReader(ra, size, name)
	}, (*schemas.Decoder).Impression, func(e *schemas.Impression) error { out = append(out, *e); return nil })
	return out, err
}

// ReadInstalls reads every install of the files.
func ReadInstalls(ctx context.Context, f *Files) ([]schemas.Install, error) {
	var out []schemas.Install
	err := each(ctx, f, func(ra io.ReaderAt, size int64, name string) (interface {
		Read(*schemas.Install) error
		Close() error
	}, error) {
		return schemas.NewInstallReader(ra, size, name)
	}, (*schemas.Decoder).Install, func(e *schemas.Install) error { out = append(out, *e); return nil })
	return out, err
}
