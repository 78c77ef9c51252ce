package publisher

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Load is the one loader of published models, used by predict, eval, the
// gate's dry run and warm start: it resolves version ("" means LATEST),
// reads every file, checks each against the manifest's checksum and
// decodes the bundle. A file whose bytes do not match is refused with an
// error wrapping ErrCorrupt that names it.
func Load(ctx context.Context, s *Store, model, version string) (*Bundle, *Manifest, error) {
	if version == "" {
		v, err := s.Latest(ctx, model)
		if err != nil {
			return nil, nil, err
		}
		version = v
	}
	m, files, err := s.ReadFiles(ctx, model, version)
	if err != nil {
		return nil, nil, err
	}
	b, err := decodeVerified(m, files)
	if err != nil {
		return nil, nil, err
	}
	return b, m, nil
}

// decodeVerified checks every file against the manifest (size and SHA-256,
// and that the manifest lists exactly these files), then decodes the
// bundle. Load runs it on the bytes it read; the gate's dry run runs it on
// the bytes it is about to publish.
func decodeVerified(m *Manifest, files map[string][]byte) (*Bundle, error) {
	for n, fi := range m.Files {
		b, ok := files[n]
		if !ok {
			return nil, fmt.Errorf("%w: %s@%s: file %s of the manifest is missing", ErrCorrupt, m.Model, m.Version, n)
		}
		if int64(len(b)) != fi.Size || checksum(b) != fi.SHA256 {
			return nil, fmt.Errorf("%w: %s@%s file %s: %d bytes with sha256 %s, the manifest says %d bytes with %s",
				ErrCorrupt, m.Model, m.Version, n, len(b), checksum(b)[:12], fi.Size, fi.SHA256[:min(12, len(fi.SHA256))])
		}
	}
	for n := range files {
		if _, ok := m.Files[n]; !ok {
			return nil, fmt.Errorf("%w: %s@%s: file %s is not in the manifest", ErrCorrupt, m.Model, m.Version, n)
		}
	}
	b, err := DecodeBundle(files)
	if err != nil {
		// The bytes are those the manifest describes, yet they do not
		// decode: the version was written broken.
		return nil, fmt.Errorf("%w: loading %s@%s: %w", ErrCorrupt, m.Model, m.Version, err)
	}
	return b, nil
}

// LoadNewestIntact loads the version LATEST names or, when that one is
// corrupt or incomplete (ErrCorrupt, ErrNoVersion), the newest older
// version that loads. Other errors (the store unreachable) are returned
// as they are: they say nothing about the version. skipped holds the reason of every
// version passed over, newest first, for the caller to say so. Versions
// newer than LATEST (rolled back from) are never used. With no LATEST it
// returns an error wrapping ErrNoVersion; when no version is intact, an
// error wrapping ErrNoVersion that joins the reasons.
func LoadNewestIntact(ctx context.Context, s *Store, model string) (b *Bundle, m *Manifest, skipped []error, err error) {
	cur, err := s.Latest(ctx, model)
	if err != nil {
		return nil, nil, nil, err
	}
	b, m, err = Load(ctx, s, model, cur)
	if err == nil {
		return b, m, nil, nil
	}
	if !unusable(err) {
		return nil, nil, nil, err
	}
	skipped = append(skipped, err)
	vs, lerr := s.Versions(ctx, model)
	if lerr != nil {
		return nil, nil, skipped, errors.Join(err, lerr)
	}
	slices.Reverse(vs)
	for _, v := range vs {
		if v >= cur {
			continue
		}
		b, m, err = Load(ctx, s, model, v)
		if err == nil {
			return b, m, skipped, nil
		}
		if !unusable(err) {
			return nil, nil, skipped, err
		}
		skipped = append(skipped, err)
	}
	return nil, nil, skipped, fmt.Errorf("model %s in %s: no intact version at or before LATEST %s: %w: %w", model, s.where, cur, ErrNoVersion, errors.Join(skipped...))
}

// unusable reports whether a Load error condemns the version itself.
func unusable(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNoVersion)
}
