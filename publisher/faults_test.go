package publisher

import (
	"context"
	"crypto/rand"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
)

// TestS3KilledMidUpload: the S3 server is SIGKILLed while a version's
// files are being uploaded, then restarted. No partial version is visible,
// LATEST is unchanged and loads, the next publish succeeds and removes
// the stray files of the failed upload.
func TestS3KilledMidUpload(t *testing.T) {
	f := getFixture(t)
	g := testenv.PrivateS3(t)
	ctx := context.Background()
	s := openStore(t, g.URL())
	p := newPublisher(t, s, Options{Gate: fastGate(f), CleanGrace: time.Millisecond})
	r1, err := p.Publish(ctx, f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
	if err != nil || !r1.Published {
		t.Fatal(r1, err)
	}

	// A version with a small first file and a large second one (files go
	// up in name order): kill the server once the first is stored.
	big := make([]byte, 96<<20)
	_, _ = rand.Read(big)
	files := map[string][]byte{StateFile: []byte("featurizer state"), WeightsFile: big}
	m := &Manifest{Model: "m", Version: NewVersionName(time.Now())}
	m.SetFiles(files)
	putErr := make(chan error, 1)
	go func() { putErr <- s.Put(ctx, m, files) }()
	first := g.Object(versionPrefix("m", m.Version) + StateFile)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(first); err == nil {
			break
		}
		select {
		case err := <-putErr:
			t.Fatalf("the upload ended (%v) before the first file was seen", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the first file never appeared")
		}
		time.Sleep(time.Millisecond)
	}
	g.Kill()
	err = <-putErr
	if err == nil {
		t.Fatal("the upload finished before the kill: the test needs a larger file")
	}
	t.Logf("upload after the kill: %v", err)

	g.Start()
	if vs, err := s.Versions(ctx, "m"); err != nil || !slices.Equal(vs, []string{r1.Version}) {
		t.Fatalf("versions after the crash %v (%v), want only %s", vs, err, r1.Version)
	}
	if v, err := s.Latest(ctx, "m"); err != nil || v != r1.Version {
		t.Fatalf("LATEST %s (%v), want %s", v, err, r1.Version)
	}
	if _, _, err := Load(ctx, s, "m", ""); err != nil {
		t.Fatal(err)
	}
	stray, err := s.Bucket().Exists(ctx, versionPrefix("m", m.Version)+StateFile)
	if err != nil || !stray {
		t.Fatalf("expected the stray first file to survive the crash (exists %v, %v)", stray, err)
	}

	r2, err := p.Publish(ctx, f.good2, &Manifest{Model: "m", Parent: r1.Version}, f.fresh, PublishOptions{})
	if err != nil || !r2.Published || !r2.Latest {
		t.Fatalf("publish after the restart: %+v %v", r2, err)
	}
	if ok, _ := s.Bucket().Exists(ctx, versionPrefix("m", m.Version)+StateFile); ok {
		t.Fatal("the stray files were not cleaned up")
	}
	if got := counterValue(t, p.Collectors().Cleaned); got != 1 {
		t.Fatalf("cleaned %v, want 1", got)
	}
	if vs, _ := s.Versions(ctx, "m"); !slices.Equal(vs, []string{r1.Version, r2.Version}) {
		t.Fatalf("versions %v", vs)
	}
}

// TestFlippedBitRefusedOnS3: a bit flipped in a weight file on the S3
// server is refused on load, naming the file.
func TestFlippedBitRefusedOnS3(t *testing.T) {
	g := testenv.PrivateS3(t)
	ctx := context.Background()
	s := openStore(t, g.URL())
	b, _ := testBundle(t)
	m := &Manifest{Model: "m"}
	if err := s.PublishUngated(ctx, b, m); err != nil {
		t.Fatal(err)
	}
	p := g.Object(versionPrefix("m", m.Version) + WeightsFile)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-5] ^= 0x10
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(ctx, s, "m", ""); err == nil || !errorsIsCorrupt(err, WeightsFile) {
		t.Fatalf("load of a flipped bit on S3: %v", err)
	}
}
