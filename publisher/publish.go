package publisher

import (
	"context"
	"fmt"
	"time"
)

// PublishUngated writes bundle b as a new version described by m (Model
// set; the version name, time, format and file checksums are filled in
// here), then moves LATEST to it, recording the move in the history. It
// runs no gate (its version's verdict is Ungated): Publisher.Publish is the
// gated path that services and backfill use. m.Version is set on return.
func (s *Store) PublishUngated(ctx context.Context, b *Bundle, m *Manifest) error {
	files, err := b.Files()
	if err != nil {
		return err
	}
	prepare(m, b, files, time.Now())
	if err := s.Put(ctx, m, files); err != nil {
		return fmt.Errorf("publishing %s: %w", m.Model, err)
	}
	if _, err := s.moveLatest(ctx, m.Model, m.Version, HistoryEntry{Action: "publish", Reason: "ungated"}, false); err != nil {
		return fmt.Errorf("publishing %s@%s: %w", m.Model, m.Version, err)
	}
	return nil
}
