package testenv_test

import (
	"context"
	"os"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/wdstream/wdstream/internal/testenv"
)

// TestPrivateS3KillAndStart: an object written to a private server is in
// its posix root, a killed server refuses requests (at once through a
// client without retries), and once started again on the same port and
// root it serves the object written before the kill.
func TestPrivateS3KillAndStart(t *testing.T) {
	srv := testenv.PrivateS3(t)
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.WriteAll(ctx, "a/b.txt", []byte("before the kill"), nil); err != nil {
		t.Fatal(err)
	}
	if raw, err := os.ReadFile(srv.Object("a/b.txt")); err != nil || string(raw) != "before the kill" {
		t.Fatalf("object file %s: %q, %v", srv.Object("a/b.txt"), raw, err)
	}

	watch := srv.KillWhen(func() bool { return true }, nil)
	deadline := time.Now().Add(10 * time.Second)
	for srv.Running() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !watch() || srv.Running() {
		t.Fatal("KillWhen did not kill the server")
	}
	once := srv.OpenBucket(t, 1)
	t0 := time.Now()
	if _, err := once.ReadAll(ctx, "a/b.txt"); err == nil {
		t.Fatal("a read from the killed server succeeded")
	} else if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("a read without retries from the killed server took %v: %v", d, err)
	}

	srv.Start()
	for _, bk := range []*blob.Bucket{b, once} {
		if got, err := bk.ReadAll(ctx, "a/b.txt"); err != nil || string(got) != "before the kill" {
			t.Fatalf("after the restart: %q, %v", got, err)
		}
	}
	if err := b.WriteAll(ctx, "a/c.txt", []byte("after"), nil); err != nil {
		t.Fatalf("writing after the restart: %v", err)
	}
}
