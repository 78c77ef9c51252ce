package publisher

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer"
)

const testSpecYAML = `version: 1
name: t
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 4}
  - {name: country, type: categorical, embedding_dim: 2}
  - {name: app_rating, type: numeric, quantiles: 4}
model:
  hidden: [4]
`

func testBundle(t *testing.T) (*Bundle, *featurize.Batch) {
	t.Helper()
	sp, err := spec.Parse("t.yaml", []byte(testSpecYAML))
	if err != nil {
		t.Fatal(err)
	}
	st, err := featurize.New(sp, featurize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var exs []schemas.Example
	for i := range 50 {
		exs = append(exs, schemas.Example{Impression: schemas.Impression{
			ImpressionID: string(rune('a' + i%26)), TS: int64(i), UserID: "u", AppID: []string{"x", "y", "z"}[i%3],
			Features: map[string]schemas.Value{"country": schemas.String("de"), "app_rating": schemas.Number(float64(i % 5))},
		}, Label: int32(i % 2)})
	}
	if err := st.Fit(exs); err != nil {
		t.Fatal(err)
	}
	st.RefreshBoundaries()
	var b featurize.Batch
	if err := st.Transform(&b, exs); err != nil {
		t.Fatal(err)
	}
	m, err := trainer.NewModel(sp, st.Layout())
	if err != nil {
		t.Fatal(err)
	}
	trainer.NewTrainer(m, 1).Step(&b, nil)
	return &Bundle{Spec: sp, State: st, Model: m}, &b
}

func fileStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenStore(context.Background(), "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func TestPublishLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := fileStore(t)
	b, batch := testBundle(t)
	if _, err := s.Latest(ctx, "m"); !errors.Is(err, ErrNoVersion) {
		t.Fatalf("empty store: %v, want ErrNoVersion", err)
	}
	m := &Manifest{Model: "m"}
	if err := s.PublishUngated(ctx, b, m); err != nil {
		t.Fatal(err)
	}
	got, man, err := Load(ctx, s, "m", "")
	if err != nil {
		t.Fatal(err)
	}
	if man.Version != m.Version || len(man.Files) != 3 {
		t.Fatalf("manifest %+v", man)
	}
	want := trainer.NewTrainer(b.Model, 1).Predict(nil, batch)
	have := trainer.NewTrainer(got.Model, 1).Predict(nil, batch)
	if !slices.Equal(want, have) {
		t.Fatal("the loaded model predicts differently")
	}
	// A second version sorts after the first and becomes LATEST.
	m2 := &Manifest{Model: "m", Parent: m.Version}
	if err := s.PublishUngated(ctx, b, m2); err != nil {
		t.Fatal(err)
	}
	vs, err := s.Versions(ctx, "m")
	if err != nil || !slices.Equal(vs, []string{m.Version, m2.Version}) {
		t.Fatalf("versions %v (%v), want [%s %s]", vs, err, m.Version, m2.Version)
	}
	if v, _ := s.Latest(ctx, "m"); v != m2.Version {
		t.Fatalf("LATEST %s, want %s", v, m2.Version)
	}
	// Versions are never overwritten.
	if err := s.Put(ctx, m2, map[string][]byte{}); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("overwrite: %v", err)
	}
}

func TestLoadRefusesACorruptFile(t *testing.T) {
	ctx := context.Background()
	s, dir := fileStore(t)
	b, _ := testBundle(t)
	m := &Manifest{Model: "m"}
	if err := s.PublishUngated(ctx, b, m); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "m", "versions", m.Version, WeightsFile)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-5] ^= 0x10 // one bit of one weight
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = Load(ctx, s, "m", m.Version)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), WeightsFile) {
		t.Fatalf("load of a flipped bit: %v, want ErrCorrupt naming %s", err, WeightsFile)
	}
}

func TestIncompleteVersionIsInvisible(t *testing.T) {
	ctx := context.Background()
	s, dir := fileStore(t)
	if err := os.MkdirAll(filepath.Join(dir, "m", "versions", "v20260101T000000.000Z-00000000"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "m", "versions", "v20260101T000000.000Z-00000000", WeightsFile), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	vs, err := s.Versions(ctx, "m")
	if err != nil || len(vs) != 0 {
		t.Fatalf("versions %v (%v): a version without a manifest must not be listed", vs, err)
	}
	if err := s.SetLatest(ctx, "m", "v20260101T000000.000Z-00000000"); err == nil {
		t.Fatal("LATEST moved to an incomplete version")
	}
}

func TestRedactDropsSecrets(t *testing.T) {
	got := Redact("s3://AKIA:secret@bucket/prefix?endpoint=http://x&secret_key=s")
	if strings.Contains(got, "secret") || strings.Contains(got, "AKIA") {
		t.Fatalf("Redact left a secret: %s", got)
	}
}
