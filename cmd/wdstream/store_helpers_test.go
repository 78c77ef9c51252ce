package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
)

// backfilled is a file:// store holding one backfill of a small simulated
// world as model ps.
type backfilled struct {
	world, dir, url string
	st              *publisher.Store
}

func newBackfilled(t *testing.T) *backfilled {
	t.Helper()
	b := &backfilled{world: smallWorld(t), dir: t.TempDir()}
	b.url = "file://" + b.dir
	run(t, "backfill", "--spec", playstoreSpec(t), "--store", b.url, "--model", "ps",
		"--impressions", filepath.Join(b.world, "impressions", "*.parquet"),
		"--installs", filepath.Join(b.world, "installs", "*.parquet"), "--holdout", "0.2", "--warm-start", "none")
	st, err := publisher.OpenStore(context.Background(), b.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b.st = st
	return b
}

// publishAs publishes ps's LATEST again as a new version of model,
// ungated, after mutate (nil: as it is), and returns the version.
func (b *backfilled) publishAs(t *testing.T, model string, mutate func(*publisher.Bundle)) string {
	t.Helper()
	ctx := context.Background()
	bd, _, err := publisher.Load(ctx, b.st, "ps", "")
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(bd)
	}
	m := &publisher.Manifest{Model: model}
	if err := b.st.PublishUngated(ctx, bd, m); err != nil {
		t.Fatal(err)
	}
	return m.Version
}

// versionFile is the path of a file of a version in the store.
func (b *backfilled) versionFile(model, v, name string) string {
	return filepath.Join(b.dir, model, "versions", v, name)
}

// readImpressions reads the impressions of the files of pattern.
func readImpressions(t *testing.T, pattern string) []schemas.Impression {
	t.Helper()
	ctx := context.Background()
	files, err := ingest.Glob(ctx, pattern)
	if err != nil {
		t.Fatal(err)
	}
	imps, err := ingest.ReadImpressions(ctx, files)
	if err != nil {
		t.Fatal(err)
	}
	return imps
}
