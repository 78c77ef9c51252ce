package publisher

import (
	"context"
	"fmt"
	"time"
)

// Publish writes bundle b as a new version described by m (Model set; the
// version name, time, format and file checksums are filled in here), then
// moves LATEST to it. m.Version is set on return.
func Publish(ctx context.Context, s *Store, b *Bundle, m *Manifest) error {
	files, err := b.Files()
	if err != nil {
		return err
	}
	now := time.Now()
	if m.Version == "" {
		m.Version = NewVersionName(now)
	}
	if m.Created.IsZero() {
		m.Created = now.UTC()
	}
	m.Format = ManifestFormat
	m.Spec = b.Spec.Name
	m.Mode = string(b.Model.Mode)
	m.Params = b.Model.Params()
	m.SetFiles(files)
	if err := s.Put(ctx, m, files); err != nil {
		return fmt.Errorf("publishing %s: %w", m.Model, err)
	}
	if err := s.SetLatest(ctx, m.Model, m.Version); err != nil {
		return fmt.Errorf("publishing %s@%s: %w", m.Model, m.Version, err)
	}
	return nil
}
