package publisher

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// store URLs
	_ "gocloud.dev/blob/s3blob"   // s3:// store URLs
	"gocloud.dev/gcerrors"

	"github.com/wdstream/wdstream/internal/redact"
)

// Store is the object-storage home of models, at a gocloud.dev bucket URL
// (file:///dir, s3://bucket?region=..., and whatever else gocloud.dev
// opens). Layout, under the model NAME:
//
//	NAME/versions/VERSION/FILE      a version's files (weights, state, spec)
//	NAME/versions/VERSION/manifest.json  written last: its presence means
//	                                the version is complete
//	NAME/LATEST                     the name of the newest validated version
//
// VERSION is "v" + UTC time to the millisecond + "-" + 8 random hex digits
// (v20261127T105755.123Z-9f2c41ab): names sort by time and two publishers
// never collide.
//
// A file:// store writes its temporary files next to their destination
// (fileblob's no_tmp_dir), so that it works on any filesystem, not only on
// the one of the system's temp dir; its exclusive creates (NAME/LOCK, a
// version's files and manifest) are made by the OS (see the package doc).
type Store struct {
	bucket *blob.Bucket
	where  string // the URL without credentials or query, for messages
	// dir is, for a file:// store, the directory of the bucket, and prefix
	// the URL's prefix parameter: createIfAbsent works there with the OS.
	// dir is "" for other stores.
	dir, prefix string

	probe  sync.Mutex // guards probed
	probed bool       // the store refused a second conditional create
}

// ErrNoVersion is returned when a model has no complete version.
var ErrNoVersion = errors.New("no published version")

// OpenStore opens the store at a bucket URL. A file:// directory is created
// when missing, and its temporary files are written next to their
// destination (no_tmp_dir=true unless the URL sets no_tmp_dir: os.Rename
// cannot cross filesystems, so this is done only for a store on another
// filesystem than os.TempDir()). Credentials come from the provider's usual
// chain (for S3: AWS_* environment variables, shared config files,
// instance roles); they never appear in URLs this package prints.
func OpenStore(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store URL %q: %w", Redact(rawURL), err)
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("store URL %q: no scheme (want file:///dir, s3://bucket, ...)", Redact(rawURL))
	}
	if u.Scheme == "file" {
		q := u.Query()
		if !q.Has("create_dir") {
			q.Set("create_dir", "true")
		}
		if !q.Has("metadata") {
			q.Set("metadata", "skip") // no .attrs sidecar files next to artifacts
		}
		if !q.Has("no_tmp_dir") && otherDevice(u, os.TempDir()) {
			// fileblob writes a temporary file and renames it into place;
			// from os.TempDir() that fails on a store on another
			// filesystem (invalid cross-device link), so the temporary
			// file goes next to its destination instead. Only then: a
			// listing that meets such a file as it is renamed fails
			// (fileblob's List stats every entry it read).
			q.Set("no_tmp_dir", "true")
		}
		u.RawQuery = q.Encode()
	}
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		// gocloud.dev quotes the whole URL in its errors: keep the message
		// without it (and so without the error chain).
		return nil, fmt.Errorf("opening store %s: %s", Redact(rawURL), scrub(err.Error(), rawURL, u.String()))
	}
	s := &Store{bucket: b, where: Redact(rawURL)}
	if u.Scheme == "file" {
		if s.dir, s.prefix, err = fileLocation(u); err != nil {
			b.Close()
			return nil, fmt.Errorf("opening store %s: %w", s.where, err)
		}
	}
	return s, nil
}

// Redact returns a store URL without user info, query and fragment (where
// secrets could hide), for logs and errors (internal/redact.URL).
func Redact(raw string) string { return redact.URL(raw) }

// scrub removes from msg the given URLs and every secret they could carry
// (user info, query values; internal/redact.Message).
func scrub(msg string, urls ...string) string { return redact.Message(msg, urls...) }

// Bucket exposes the underlying bucket (for the archive and tests).
func (s *Store) Bucket() *blob.Bucket { return s.bucket }

// String names the store without secrets.
func (s *Store) String() string { return s.where }

// Close releases the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// FileInfo is a file's entry in a manifest.
type FileInfo struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func checksum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// NewVersionName returns a fresh version name for time t.
func NewVersionName(t time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return "v" + t.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(r[:])
}

// nameRE is the set of model and version names: 1 to 128 of A-Z a-z 0-9
// . _ -, starting with a letter or digit. Names reach URLs, file names,
// logs, hook arguments and environment variables, so none may hold a
// newline, start with '-' (read as a flag) or carry shell metacharacters.
// NewVersionName's names (v20261127T105755.123Z-9f2c41ab) are in it.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CheckName reports whether s is a valid name of the given kind: "model"
// and "version" names are held to nameRE; file names within a version may
// be anything but empty, ".", ".." or hold '/', '\\' or '@'.
func CheckName(kind, s string) error { return validName(kind, s) }

func validName(kind, s string) error {
	if kind == "model" || kind == "version" {
		if !nameRE.MatchString(s) {
			return fmt.Errorf("invalid %s name %q: want 1 to 128 of A-Z a-z 0-9 . _ -, starting with a letter or digit", kind, s)
		}
		return nil
	}
	if s == "" || strings.ContainsAny(s, "/\\@") || s == "." || s == ".." {
		return fmt.Errorf("invalid %s name %q (no '/', '\\', '@'; not empty)", kind, s)
	}
	return nil
}

func versionPrefix(model, version string) string {
	return path.Join(model, "versions", version) + "/"
}

// Put writes a version's files and then its manifest (which must already
// list the files: see Manifest.SetFiles), without moving LATEST. A version
// is never overwritten: the manifest is written only if absent. On failure
// the files already written are deleted (best effort); a version without a
// manifest is invisible and Clean removes it later.
func (s *Store) Put(ctx context.Context, m *Manifest, files map[string][]byte) error {
	if err := validName("model", m.Model); err != nil {
		return err
	}
	if err := validName("version", m.Version); err != nil {
		return err
	}
	prefix := versionPrefix(m.Model, m.Version)
	if ok, err := s.bucket.Exists(ctx, prefix+ManifestFile); err != nil {
		return fmt.Errorf("store %s: checking %s: %w", s.where, prefix+ManifestFile, err)
	} else if ok {
		return fmt.Errorf("store %s: version %s@%s already exists; versions are never overwritten", s.where, m.Model, m.Version)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		if err := validName("file", n); err != nil {
			return err
		}
		if n == ManifestFile {
			return fmt.Errorf("file name %q is reserved for the manifest", n)
		}
		if fi, ok := m.Files[n]; !ok || fi.SHA256 != checksum(files[n]) {
			return fmt.Errorf("manifest of %s@%s does not describe file %s (call SetFiles)", m.Model, m.Version, n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var written []string
	// cleanup stops at the first delete that fails: the store is likely
	// down, each delete would wait out the client's retries, and Clean
	// removes the version folder later anyway.
	cleanup := func() {
		for _, k := range written {
			if err := s.bucket.Delete(context.WithoutCancel(ctx), k); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return
			}
		}
	}
	for _, n := range names {
		// Files are created only if absent too, so that a writer that
		// picked a taken version name fails before it replaces anybody's
		// bytes.
		err := s.createIfAbsent(ctx, prefix+n, files[n], "")
		if errors.Is(err, errExists) {
			cleanup()
			return fmt.Errorf("store %s: version %s@%s already has a file %s; versions are never overwritten", s.where, m.Model, m.Version, n)
		}
		if err != nil {
			cleanup()
			return err // names the store and the key
		}
		written = append(written, prefix+n)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		cleanup()
		return fmt.Errorf("encoding manifest: %w", err)
	}
	// The manifest is created only if absent (If-None-Match on S3, link(2)
	// on file://): of two writers of one version, exactly one completes it.
	err = s.createIfAbsent(ctx, prefix+ManifestFile, append(mb, '\n'), "application/json")
	if errors.Is(err, errExists) {
		return fmt.Errorf("store %s: version %s@%s already exists; versions are never overwritten", s.where, m.Model, m.Version)
	}
	if err != nil {
		cleanup()
		return err
	}
	return nil
}

// SetLatest points NAME/LATEST at version, which must be complete.
func (s *Store) SetLatest(ctx context.Context, model, version string) error {
	if _, err := s.Manifest(ctx, model, version); err != nil {
		return fmt.Errorf("moving LATEST of %s: %w", model, err)
	}
	if err := s.bucket.WriteAll(ctx, path.Join(model, LatestFile), []byte(version+"\n"), nil); err != nil {
		return fmt.Errorf("store %s: writing %s/%s: %w", s.where, model, LatestFile, err)
	}
	return nil
}

// Latest returns the version NAME/LATEST names, or ErrNoVersion.
func (s *Store) Latest(ctx context.Context, model string) (string, error) {
	b, err := s.bucket.ReadAll(ctx, path.Join(model, LatestFile))
	if gcerrors.Code(err) == gcerrors.NotFound {
		return "", fmt.Errorf("model %s in %s: %w", model, s.where, ErrNoVersion)
	}
	if err != nil {
		return "", fmt.Errorf("store %s: reading %s/%s: %w", s.where, model, LatestFile, err)
	}
	v := strings.TrimSpace(string(b))
	if err := validName("version", v); err != nil {
		return "", fmt.Errorf("%w: store %s: %s/%s: %w", ErrCorrupt, s.where, model, LatestFile, err)
	}
	return v, nil
}

// Manifest reads and parses a version's manifest.
func (s *Store) Manifest(ctx context.Context, model, version string) (*Manifest, error) {
	key := versionPrefix(model, version) + ManifestFile
	b, err := s.bucket.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("version %s@%s in %s: %w (no manifest: missing or incomplete)", model, version, s.where, ErrNoVersion)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: reading %s: %w", s.where, key, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: store %s: %s is not a valid manifest: %w", ErrCorrupt, s.where, key, err)
	}
	if m.Model != model || m.Version != version {
		return nil, fmt.Errorf("%w: store %s: %s names %s@%s", ErrCorrupt, s.where, key, m.Model, m.Version)
	}
	return &m, nil
}

// ReadFiles reads every file of a complete version and checks its size and
// SHA-256 against the manifest; a mismatch is an error naming the file.
func (s *Store) ReadFiles(ctx context.Context, model, version string) (*Manifest, map[string][]byte, error) {
	m, err := s.Manifest(ctx, model, version)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{}
	for n := range m.Files {
		if files[n], err = s.ReadFile(ctx, m, n); err != nil {
			return nil, nil, err
		}
	}
	return m, files, nil
}

// ReadFile reads one file of the version m describes and checks its size
// and SHA-256 against m; a file m does not list is ErrNoVersion, a
// mismatch ErrCorrupt, each error naming the file.
func (s *Store) ReadFile(ctx context.Context, m *Manifest, name string) ([]byte, error) {
	model, version := m.Model, m.Version
	fi, ok := m.Files[name]
	if !ok {
		return nil, fmt.Errorf("%s@%s has no file %s: %w", model, version, name, ErrNoVersion)
	}
	key := versionPrefix(model, version) + name
	b, err := s.bucket.ReadAll(ctx, key)
	if err != nil && strings.Contains(err.Error(), "checksum did not match") {
		// The S3 SDK checks the server's own checksum of the object:
		// the stored bytes changed.
		return nil, fmt.Errorf("%w: %s@%s file %s: the store's checksum of the object does not match its bytes (%s)",
			ErrCorrupt, model, version, name, strings.TrimSpace(err.Error()[strings.LastIndex(err.Error(), "checksum did not match"):]))
	}
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("%w: %s@%s: file %s of the manifest is missing", ErrCorrupt, model, version, name)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: reading %s: %w", s.where, key, err)
	}
	if int64(len(b)) != fi.Size || checksum(b) != fi.SHA256 {
		return nil, fmt.Errorf("%w: %s@%s file %s: %d bytes with sha256 %s, the manifest says %d bytes with %s",
			ErrCorrupt, model, version, name, len(b), checksum(b)[:12], fi.Size, fi.SHA256[:min(12, len(fi.SHA256))])
	}
	return b, nil
}

// ErrCorrupt marks an artifact whose bytes do not match its manifest.
var ErrCorrupt = errors.New("corrupt artifact")

// Versions lists the complete versions of a model (those with a
// manifest), oldest first.
func (s *Store) Versions(ctx context.Context, model string) ([]string, error) {
	var out []string
	it := s.bucket.List(&blob.ListOptions{Prefix: path.Join(model, "versions") + "/", Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("store %s: listing versions of %s: %w", s.where, model, err)
		}
		if !obj.IsDir {
			continue
		}
		v := path.Base(strings.TrimSuffix(obj.Key, "/"))
		ok, err := s.bucket.Exists(ctx, versionPrefix(model, v)+ManifestFile)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", s.where, err)
		}
		if ok {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out, nil
}
