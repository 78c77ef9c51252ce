package publisher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// errExists is returned by createIfAbsent when the key already has an
// object: another writer created it first.
var errExists = errors.New("already exists")

// errBusy is returned by createIfAbsent when the store refused the write
// because another conditional write of the key was in flight (S3's 409
// ConditionalRequestConflict): retrying decides the winner.
var errBusy = errors.New("a concurrent conditional write is in progress")

// errNoConditionalWrites marks a store that accepted a second create of
// one key: it ignores If-None-Match, so publishers on it cannot exclude
// each other.
var errNoConditionalWrites = errors.New("the store does not honour conditional writes (If-None-Match: *)")

// createIfAbsent writes data at key only when no object is there: of any
// number of writers of one key, in one process or in many, exactly one
// succeeds and the others get an error wrapping errExists (or errBusy,
// when the store asks them to retry). It is how NAME/LOCK is taken and
// how a version's files and manifest are written.
//
//   - file:// stores: the bytes go to a temporary file next to the key's
//     file, synced, then hard-linked to the key's name (link(2)), which
//     the kernel refuses when the name exists; a reader never sees part
//     of the bytes. On a filesystem without hard links the key's file is
//     created with O_CREATE|O_EXCL and then written: still exclusive, but
//     a reader can see it partly written for that instant. gocloud's own
//     IfNotExist is not used on file://: fileblob checks with stat and
//     then renames, under a mutex private to each writer, so two
//     processes (or goroutines) can both "create" a key.
//   - other stores (s3://): a conditional write (WriterOptions.IfNotExist,
//     sent by s3blob as If-None-Match: *), which the server decides. The
//     lock checks once per Store that the server honours it
//     (checkConditionalWrites).
func (s *Store) createIfAbsent(ctx context.Context, key string, data []byte, contentType string) error {
	if s.dir != "" {
		p, err := s.localPath(key)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := createFileExclusive(p, data); err != nil {
			if errors.Is(err, errExists) {
				return fmt.Errorf("store %s: %s: %w", s.where, key, err)
			}
			return fmt.Errorf("store %s: creating %s: %w", s.where, key, err)
		}
		return nil
	}
	err := s.bucket.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: contentType, IfNotExist: true})
	switch {
	case err == nil:
		return nil
	case gcerrors.Code(err) == gcerrors.FailedPrecondition:
		return fmt.Errorf("store %s: %s: %w", s.where, key, errExists)
	case apiErrorCode(err) == "ConditionalRequestConflict":
		return fmt.Errorf("store %s: %s: %w", s.where, key, errBusy)
	}
	return fmt.Errorf("store %s: creating %s: %w", s.where, key, err)
}

// apiErrorCode returns the service's error code carried by err (S3's
// "PreconditionFailed", ...), or "".
func apiErrorCode(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// createFileExclusive creates the file p holding data, failing with
// errExists when p exists (see createIfAbsent).
func createFileExclusive(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return err
	}
	tmp, err := writeTemp(p, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, p)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return errExists
	}
	if !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, syscall.EPERM) {
		return err
	}
	// No hard links here (vfat, some network filesystems): an exclusive
	// create, then the bytes.
	err = writeNew(p, data)
	if errors.Is(err, fs.ErrExist) {
		return errExists
	}
	return err
}

// writeTemp writes data, synced, to a new file next to p (p.RANDOM.tmp,
// mode 0666 before the umask, as fileblob makes its files) and returns its
// name.
func writeTemp(p string, data []byte) (string, error) {
	var r [8]byte
	_, _ = rand.Read(r[:])
	name := p + "." + hex.EncodeToString(r[:]) + ".tmp"
	if err := writeNew(name, data); err != nil {
		return "", err
	}
	return name, nil
}

// writeNew creates name, which must not exist (an error wrapping
// fs.ErrExist when it does), and writes data to it, synced; a file it
// created but could not fill is removed.
func writeNew(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name)
	}
	return err
}

// fileLocation returns, for a file:// URL, the absolute directory fileblob
// roots the bucket at and the key prefix of the URL's prefix parameter
// (which gocloud prepends to every key), the way gocloud.dev v0.47 reads
// them.
// otherDevice reports whether the directory of file:// URL u (or, when it
// does not exist yet, its nearest existing parent) is on another device
// than dir. It says false when either cannot be examined.
func otherDevice(u *url.URL, dir string) bool {
	store, _, err := fileLocation(u)
	if err != nil {
		return false
	}
	var a, b syscall.Stat_t
	if syscall.Stat(dir, &b) != nil {
		return false
	}
	for {
		if err := syscall.Stat(store, &a); err == nil {
			return a.Dev != b.Dev
		}
		parent := filepath.Dir(store)
		if parent == store {
			return false
		}
		store = parent
	}
}

func fileLocation(u *url.URL) (dir, prefix string, err error) {
	p := u.Path
	if u.Host == "." || os.PathSeparator != '/' {
		p = strings.TrimPrefix(p, "/")
	}
	dir, err = filepath.Abs(filepath.FromSlash(p))
	if err != nil {
		return "", "", err
	}
	return dir, u.Query().Get("prefix"), nil
}

// localPath returns the file of key in a file:// store. Keys that fileblob
// would escape on disk (control characters, "//", "../", a trailing "/")
// are refused rather than guessed: the store's own keys never need it.
func (s *Store) localPath(key string) (string, error) {
	k := s.prefix + key
	bad := k == "" || strings.HasPrefix(k, "/") || strings.HasSuffix(k, "/") ||
		strings.Contains(k, "//") || strings.HasSuffix(k, ".attrs") || (os.PathSeparator != '/' && strings.ContainsAny(k, `\<>:"|?*`))
	for _, seg := range strings.Split(k, "/") {
		bad = bad || seg == ".." || seg == "."
	}
	for _, c := range k {
		bad = bad || c < 0x20
	}
	if bad || path.Clean(k) != k {
		return "", fmt.Errorf("store %s: key %q cannot be created exclusively on file:// (characters the store would escape)", s.where, key)
	}
	return filepath.Join(s.dir, filepath.FromSlash(k)), nil
}

// checkConditionalWrites makes sure, once per Store, that a store other
// than file:// refuses a second conditional create of one key (versitygw
// and AWS S3 do; a server that ignores If-None-Match would let two
// publishers hold NAME/LOCK at once). The probe object, next to the lock,
// is deleted afterwards.
func (s *Store) checkConditionalWrites(ctx context.Context, model string) error {
	if s.dir != "" {
		return nil
	}
	s.probe.Lock()
	defer s.probe.Unlock()
	if s.probed {
		return nil
	}
	var r [8]byte
	_, _ = rand.Read(r[:])
	key := path.Join(model, lockFile+".probe-"+hex.EncodeToString(r[:]))
	defer func() { _ = s.bucket.Delete(context.WithoutCancel(ctx), key) }()
	if err := s.createIfAbsent(ctx, key, []byte("first"), ""); err != nil {
		return fmt.Errorf("probing conditional writes: %w", err)
	}
	err := s.createIfAbsent(ctx, key, []byte("second"), "")
	switch {
	case errors.Is(err, errExists) || errors.Is(err, errBusy):
		s.probed = true
		return nil
	case err == nil:
		return fmt.Errorf("store %s: a second create of %s succeeded: %w; publishers on it cannot exclude each other, so LATEST is not moved",
			s.where, key, errNoConditionalWrites)
	}
	return fmt.Errorf("probing conditional writes: %w", err)
}
