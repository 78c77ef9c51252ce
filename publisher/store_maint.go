package publisher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Layout of the store's bookkeeping next to the versions, under NAME:
//
//	NAME/pins/VERSION               a pinned version (empty marker object)
//	NAME/rejected/VERSION.json      the gate's report of a rejected candidate
//	NAME/history.jsonl              every move of LATEST, one JSON line each
//	NAME/LOCK                       held while LATEST and history change
const (
	pinsDir     = "pins"
	rejectedDir = "rejected"
	HistoryFile = "history.jsonl"
	lockFile    = "LOCK"
)

// versionTime reads the creation time out of a version name, or reports
// false for a name that NewVersionName did not make.
func versionTime(v string) (time.Time, bool) {
	ts, _, ok := strings.Cut(strings.TrimPrefix(v, "v"), "-")
	if !ok || !strings.HasPrefix(v, "v") {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T150405.000Z", ts)
	return t, err == nil
}

// listDirs lists the "folders" right under prefix (which ends in "/").
func (s *Store) listDirs(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("store %s: listing %s: %w", s.where, prefix, err)
		}
		if obj.IsDir {
			out = append(out, path.Base(strings.TrimSuffix(obj.Key, "/")))
		}
	}
	sort.Strings(out)
	return out, nil
}

// deletePrefix deletes every object under prefix, the manifest first when
// there is one, so that a version disappears at once: after the manifest
// goes, what is left is an incomplete version that nobody loads.
func (s *Store) deletePrefix(ctx context.Context, prefix string) error {
	if err := s.bucket.Delete(ctx, prefix+ManifestFile); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("store %s: deleting %s: %w", s.where, prefix+ManifestFile, err)
	}
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	var errs []error
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("store %s: listing %s: %w", s.where, prefix, err)
		}
		if obj.IsDir {
			continue
		}
		if err := s.bucket.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			errs = append(errs, fmt.Errorf("store %s: deleting %s: %w", s.where, obj.Key, err))
		}
	}
	return errors.Join(errs...)
}

// Clean removes the leftovers of failed uploads: version folders without a
// manifest whose name is older than grace (a younger one may be an upload
// in progress), and on file:// the temporary files of writers killed
// mid-write (removeStaleTemps). A folder whose name carries no time is
// left alone. It returns the versions removed.
func (s *Store) Clean(ctx context.Context, model string, grace time.Duration, now time.Time) ([]string, error) {
	if err := validName("model", model); err != nil {
		return nil, err
	}
	if err := s.removeStaleTemps(model, now.Add(-grace)); err != nil {
		return nil, err
	}
	dirs, err := s.listDirs(ctx, path.Join(model, "versions")+"/")
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, v := range dirs {
		t, ok := versionTime(v)
		if !ok || now.Sub(t) < grace {
			continue
		}
		complete, err := s.bucket.Exists(ctx, versionPrefix(model, v)+ManifestFile)
		if err != nil {
			return removed, fmt.Errorf("store %s: %w", s.where, err)
		}
		if complete {
			continue
		}
		if err := s.deletePrefix(ctx, versionPrefix(model, v)); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, v)
	}
	return removed, errors.Join(errs...)
}

// ErrLatest is returned when an operation would remove the version that
// LATEST names.
var ErrLatest = errors.New("the version LATEST names")

// Delete removes a complete version (manifest first). It refuses the
// version LATEST names.
func (s *Store) Delete(ctx context.Context, model, version string) error {
	if err := validName("version", version); err != nil {
		return err
	}
	cur, err := s.Latest(ctx, model)
	if err != nil && !errors.Is(err, ErrNoVersion) {
		return err
	}
	if cur == version {
		return fmt.Errorf("deleting %s@%s: %w", model, version, ErrLatest)
	}
	return s.deletePrefix(ctx, versionPrefix(model, version))
}

// Retain deletes the complete versions of a model beyond the newest keep,
// except pinned ones and the one LATEST names (read again right before
// each deletion). It returns the versions deleted.
//
// A rollback that moves LATEST to an old version in the instant between
// that read and the deletion could still lose the race: the rollback then
// names a version without a manifest, which Load refuses and
// LoadNewestIntact steps over.
func (s *Store) Retain(ctx context.Context, model string, keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("retain %d: must keep at least 1 version", keep)
	}
	vs, err := s.Versions(ctx, model)
	if err != nil {
		return nil, err
	}
	if len(vs) <= keep {
		return nil, nil
	}
	if vs, err = s.byOrderTime(ctx, model, vs); err != nil {
		return nil, err
	}
	pins, err := s.Pins(ctx, model)
	if err != nil {
		return nil, err
	}
	var deleted []string
	for _, v := range vs[:len(vs)-keep] {
		if slices.Contains(pins, v) {
			continue
		}
		if err := s.Delete(ctx, model, v); errors.Is(err, ErrLatest) {
			continue
		} else if err != nil {
			return deleted, fmt.Errorf("retention of %s: %w", model, err)
		}
		deleted = append(deleted, v)
	}
	return deleted, nil
}

// byOrderTime returns the versions vs (sorted by name) sorted by their
// rank in the only-forward rule (orderTime), so that a version named by a
// clock running ahead counts as new for as long as it really is, not for
// as long as its name says: otherwise a name in 2099 would hold one of
// retention's places for good. Only names later than now (plus
// clockAhead) need their manifest's time; the others rank by name.
func (s *Store) byOrderTime(ctx context.Context, model string, vs []string) ([]string, error) {
	type ranked struct {
		v string
		t time.Time
	}
	rs := make([]ranked, len(vs))
	now := time.Now()
	for i, v := range vs {
		t, _ := versionTime(v)
		if t.After(now.Add(clockAhead)) {
			var err error
			if t, _, err = s.orderTime(ctx, model, v); err != nil {
				return nil, err
			}
		}
		rs[i] = ranked{v, t}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int { return a.t.Compare(b.t) })
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.v
	}
	return out, nil
}

// Pin protects a complete version from retention.
func (s *Store) Pin(ctx context.Context, model, version string) error {
	if _, err := s.Manifest(ctx, model, version); err != nil {
		return fmt.Errorf("pinning: %w", err)
	}
	key := path.Join(model, pinsDir, version)
	if err := s.bucket.WriteAll(ctx, key, nil, nil); err != nil {
		return fmt.Errorf("store %s: writing %s: %w", s.where, key, err)
	}
	return nil
}

// Unpin removes a pin; unpinning a version that is not pinned is not an
// error.
func (s *Store) Unpin(ctx context.Context, model, version string) error {
	if err := validName("version", version); err != nil {
		return err
	}
	key := path.Join(model, pinsDir, version)
	if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("store %s: deleting %s: %w", s.where, key, err)
	}
	return nil
}

// Pins lists the pinned versions of a model, sorted.
func (s *Store) Pins(ctx context.Context, model string) ([]string, error) {
	if err := validName("model", model); err != nil {
		return nil, err
	}
	return s.listNames(ctx, path.Join(model, pinsDir)+"/", "")
}

// PutRejected stores the gate's report of a rejected candidate as
// NAME/rejected/VERSION.json.
func (s *Store) PutRejected(ctx context.Context, r *Report) error {
	if err := validName("model", r.Model); err != nil {
		return err
	}
	if err := validName("version", r.Version); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report of %s@%s: %w", r.Model, r.Version, err)
	}
	key := path.Join(r.Model, rejectedDir, r.Version+".json")
	if err := s.bucket.WriteAll(ctx, key, append(b, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("store %s: writing %s: %w", s.where, key, err)
	}
	return nil
}

// Rejected lists the candidates of a model that the gate rejected, oldest
// first.
func (s *Store) Rejected(ctx context.Context, model string) ([]string, error) {
	if err := validName("model", model); err != nil {
		return nil, err
	}
	return s.listNames(ctx, path.Join(model, rejectedDir)+"/", ".json")
}

// listNames lists the objects directly named under prefix whose names end
// in suffix, without the prefix and the suffix, sorted.
func (s *Store) listNames(ctx context.Context, prefix, suffix string) ([]string, error) {
	var out []string
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("store %s: listing %s: %w", s.where, prefix, err)
		}
		if v, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, prefix), suffix); ok && !obj.IsDir {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out, nil
}

// RejectedReport reads the report of a rejected candidate.
func (s *Store) RejectedReport(ctx context.Context, model, version string) (*Report, error) {
	if err := validName("version", version); err != nil {
		return nil, err
	}
	key := path.Join(model, rejectedDir, version+".json")
	b, err := s.bucket.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("no rejected candidate %s@%s in %s: %w", model, version, s.where, ErrNoVersion)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: reading %s: %w", s.where, key, err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: store %s: %s is not a valid report: %w", ErrCorrupt, s.where, key, err)
	}
	return &r, nil
}

// Models lists the model names in the store (the top-level folders).
func (s *Store) Models(ctx context.Context) ([]string, error) {
	return s.listDirs(ctx, "")
}

// VerifyFiles reads every file the manifest m lists, streaming, and checks
// its size and SHA-256 against the manifest without keeping the bytes (a
// listing can check a large version). A file that is missing or differs is
// an error wrapping ErrCorrupt that names it; other errors (the store
// unreachable) are returned as they are.
func (s *Store) VerifyFiles(ctx context.Context, m *Manifest) error {
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := validName("file", n); err != nil {
			return fmt.Errorf("%w: %s@%s: %w", ErrCorrupt, m.Model, m.Version, err)
		}
		fi := m.Files[n]
		key := versionPrefix(m.Model, m.Version) + n
		r, err := s.bucket.NewReader(ctx, key, nil)
		if gcerrors.Code(err) == gcerrors.NotFound {
			return fmt.Errorf("%w: %s@%s: file %s of the manifest is missing", ErrCorrupt, m.Model, m.Version, n)
		}
		if err != nil {
			return fmt.Errorf("store %s: reading %s: %w", s.where, key, err)
		}
		h := sha256.New()
		size, err := io.Copy(h, r)
		r.Close()
		if err != nil && strings.Contains(err.Error(), "checksum did not match") {
			// The S3 SDK checks the server's own checksum of the object.
			return fmt.Errorf("%w: %s@%s file %s: the store's checksum of the object does not match its bytes",
				ErrCorrupt, m.Model, m.Version, n)
		}
		if err != nil {
			return fmt.Errorf("store %s: reading %s: %w", s.where, key, err)
		}
		if sum := hex.EncodeToString(h.Sum(nil)); size != fi.Size || sum != fi.SHA256 {
			return fmt.Errorf("%w: %s@%s file %s: %d bytes with sha256 %s, the manifest says %d bytes with %s",
				ErrCorrupt, m.Model, m.Version, n, size, sum[:12], fi.Size, fi.SHA256[:min(12, len(fi.SHA256))])
		}
	}
	return nil
}

// tempName matches the temporary files written next to a key on file://:
// createIfAbsent's KEY.HEX16.tmp and fileblob's KEY.HEXNANOS.tmp (with
// no_tmp_dir).
var tempName = regexp.MustCompile(`\.[0-9a-f]{8,16}\.tmp$`)

// removeStaleTemps removes, on a file:// store, the temporary files under
// the model's folder last written before cutoff: a writer killed between
// creating one and renaming or removing it leaves it there for good. A
// live writer's file is younger (each write moves its mtime).
func (s *Store) removeStaleTemps(model string, cutoff time.Time) error {
	if s.dir == "" {
		return nil
	}
	root, err := s.localPath(model)
	if err != nil {
		return err
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !tempName.MatchString(d.Name()) {
			return nil // unreadable parts are someone else's problem
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().Before(cutoff) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("store %s: removing a stale temporary file: %w", s.where, err)
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
