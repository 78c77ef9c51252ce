package publisher

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
)

// EnvVersitygw names the versitygw binary (exported by scripts/services.sh)
// that the fault tests start privately, to kill and restart it.
const EnvVersitygw = "WDSTREAM_VERSITYGW"

// privateS3 is a versitygw started by a test, on its own port and
// directory, with its own credentials.
type privateS3 struct {
	bin, root, addr string
	cmd             *exec.Cmd
}

const privBucket = "faults"

func startPrivateS3(t *testing.T) *privateS3 {
	t.Helper()
	bin := os.Getenv(EnvVersitygw)
	if bin == "" {
		msg := EnvVersitygw + " is not set (scripts/services.sh exports it): no private S3 server to kill"
		if testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	g := &privateS3{bin: bin, root: t.TempDir(), addr: addr}
	if err := os.Mkdir(filepath.Join(g.root, privBucket), 0o755); err != nil { // a posix bucket is a directory
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "faultkey")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "faultsecret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	g.start(t)
	t.Cleanup(func() { g.kill() })
	return g
}

func (g *privateS3) url() string {
	return fmt.Sprintf("s3://%s?endpoint=http://%s&use_path_style=true&region=us-east-1", privBucket, g.addr)
}

func (g *privateS3) start(t *testing.T) {
	t.Helper()
	g.cmd = exec.Command(g.bin, "--port", g.addr, "--region", "us-east-1", "--quiet", "posix", g.root)
	g.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID=faultkey", "ROOT_SECRET_ACCESS_KEY=faultsecret")
	logf, err := os.OpenFile(filepath.Join(g.root, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close() // the child keeps its own descriptor
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", g.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen on %s: %v", g.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the server with SIGKILL (no chance to finish anything).
func (g *privateS3) kill() {
	if g.cmd != nil && g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
		_ = g.cmd.Wait()
		g.cmd = nil
	}
}

// TestS3KilledMidUpload: the S3 server is SIGKILLed while a version's
// files are being uploaded, then restarted. No partial version is visible,
// LATEST is unchanged and loads, the next publish succeeds and removes
// the stray files of the failed upload.
func TestS3KilledMidUpload(t *testing.T) {
	f := getFixture(t)
	g := startPrivateS3(t)
	ctx := context.Background()
	s := openStore(t, g.url())
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
	first := filepath.Join(g.root, privBucket, "m", "versions", m.Version, StateFile)
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
	g.kill()
	err = <-putErr
	if err == nil {
		t.Fatal("the upload finished before the kill: the test needs a larger file")
	}
	t.Logf("upload after the kill: %v", err)

	g.start(t)
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
	if got := counterValue(t, p.Metrics().Cleaned); got != 1 {
		t.Fatalf("cleaned %v, want 1", got)
	}
	if vs, _ := s.Versions(ctx, "m"); !slices.Equal(vs, []string{r1.Version, r2.Version}) {
		t.Fatalf("versions %v", vs)
	}
}

// TestFlippedBitRefusedOnS3: a bit flipped in a weight file on the S3
// server is refused on load, naming the file.
func TestFlippedBitRefusedOnS3(t *testing.T) {
	g := startPrivateS3(t)
	ctx := context.Background()
	s := openStore(t, g.url())
	b, _ := testBundle(t)
	m := &Manifest{Model: "m"}
	if err := Publish(ctx, s, b, m); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(g.root, privBucket, "m", "versions", m.Version, WeightsFile)
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
