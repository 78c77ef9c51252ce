package publisher

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestListMarksWhatItCannotRead: the listing `wdstream models` and the
// status page share has every version and rejected candidate, sorted by
// name, with their verdicts in one wording; a garbage manifest is marked,
// not fatal; limit keeps the newest.
func TestListMarksWhatItCannotRead(t *testing.T) {
	ctx := context.Background()
	s, _ := fileStore(t)
	b, _ := testBundle(t)
	m1 := &Manifest{Model: "m"}
	if err := s.PublishUngated(ctx, b, m1); err != nil {
		t.Fatal(err)
	}
	rejected := NewVersionName(time.Now().Add(time.Second))
	if err := s.PutRejected(ctx, &Report{Model: "m", Version: rejected, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	garbage := NewVersionName(time.Now().Add(2 * time.Second))
	if err := s.bucket.WriteAll(ctx, versionPrefix("m", garbage)+ManifestFile, []byte("{not json"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Pin(ctx, "m", m1.Version); err != nil {
		t.Fatal(err)
	}
	entries, latestErr, err := s.List(ctx, "m", 0)
	if err != nil || latestErr != nil {
		t.Fatalf("List: %v, LATEST: %v", err, latestErr)
	}
	if len(entries) != 3 || entries[0].Version != m1.Version || entries[1].Version != rejected || entries[2].Version != garbage {
		t.Fatalf("entries %+v: want %s, %s, %s", entries, m1.Version, rejected, garbage)
	}
	e := entries[0]
	if !e.Latest || !e.Pinned || e.Verdict() != Ungated || e.Err != nil || e.Time().IsZero() {
		t.Errorf("published version: %+v, verdict %q", e, e.Verdict())
	}
	if e := entries[1]; !e.Rejected || e.Verdict() != "rejected" || e.Report == nil {
		t.Errorf("rejected candidate: %+v", e)
	}
	if e := entries[2]; !errors.Is(e.Err, ErrCorrupt) || e.Verdict() != "-" {
		t.Errorf("garbage manifest: %+v (err %v)", e, e.Err)
	}
	if last, _, err := s.List(ctx, "m", 1); err != nil || len(last) != 1 || last[0].Version != garbage {
		t.Errorf("List(limit 1) = %+v, %v: want the newest only", last, err)
	}
}
