package ingest

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/wdstream/wdstream/internal/testenv"
)

// holdProxy forwards S3 requests to the real server, except the first
// object upload (PUT of a .parquet key) after arm: it reports the key and
// holds the request, never forwarding it, until release is closed, so
// that the test can kill the uploader in the middle of the upload.
type holdProxy struct {
	rp      *httputil.ReverseProxy
	armed   atomic.Bool
	held    chan string
	release chan struct{}
}

func newHoldProxy(t *testing.T, endpoint string) (*holdProxy, string) {
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	h := &holdProxy{rp: httputil.NewSingleHostReverseProxy(target), held: make(chan string, 1), release: make(chan struct{})}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
	})
	return h, srv.URL
}

func (h *holdProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, ".parquet") && h.armed.CompareAndSwap(true, false) {
		h.held <- strings.TrimPrefix(r.URL.Path, "/")
		<-h.release
		http.Error(w, "held by the test", http.StatusServiceUnavailable)
		return
	}
	h.rp.ServeHTTP(w, r) // keeps the Host header the client signed
}

// TestKafkaArchiveKill runs `wdstream run --stages archive` and kills it
// with SIGKILL mid-run, on S3 once in the middle of an upload (held by a
// proxy in front of the real server: the object must not appear) and at
// random moments, restarts it each time, and checks that the archive holds
// every example exactly once: a re-upload of a file replaces the one of
// the same name, and no file overlaps another.
func TestKafkaArchiveKill(t *testing.T) {
	brokers := testenv.RealKafka(t)
	bin := testenv.Wdstream(t)
	spec := fastSpec(t)
	for name, u := range bucketURLs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := fillExamples(t, brokers, "k"+name, 2, 20000)
			ctx := context.Background()
			b, err := blob.OpenBucket(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			model := testenv.UniqueName(t, "m")
			prefix := model + "/examples/"
			group := testenv.UniqueName(t, "gk")
			store := u
			var proxy *holdProxy
			if name == "s3" {
				pu, err := url.Parse(u)
				if err != nil {
					t.Fatal(err)
				}
				q := pu.Query()
				var addr string
				proxy, addr = newHoldProxy(t, q.Get("endpoint"))
				q.Set("endpoint", addr)
				pu.RawQuery = q.Encode()
				store = pu.String()
			}
			args := []string{"run", "--spec", spec, "--brokers", strings.Join(brokers, ","), "--stages", "archive",
				"--store", store, "--model", model, "--topic-examples", in.topic, "--archive-group", group,
				"--archive-flush", "1s", "--archive-file-bytes", "16384", "--log-level", "warn"}
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
			kill := func(cmd *exec.Cmd) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
			if proxy != nil {
				proxy.armed.Store(true)
				cmd := startRun(t, bin, args)
				select {
				case key := <-proxy.held:
					kill(cmd)
					close(proxy.release)
					if ok, err := b.Exists(ctx, strings.TrimPrefix(key, bucketName(t, u)+"/")); err != nil || ok {
						t.Fatalf("after a SIGKILL during the upload of %s: exists %v (%v), want no object", key, ok, err)
					}
					t.Logf("SIGKILL during the upload of %s: no object", key)
				case <-time.After(time.Minute):
					kill(cmd)
					t.Fatal("no upload within a minute")
				}
			}
			last := archiveCommitted(t, brokers, group, in)
			for i := range 2 {
				cmd := startRun(t, bin, args)
				deadline := time.Now().Add(time.Minute)
				for {
					c := archiveCommitted(t, brokers, group, in)
					if !slices.Equal(c, last) {
						break
					}
					if time.Now().After(deadline) {
						kill(cmd)
						t.Fatalf("no progress within a minute after restart %d (committed %v)", i+1, c)
					}
					time.Sleep(50 * time.Millisecond)
				}
				d := time.Duration(rng.IntN(800)) * time.Millisecond
				time.Sleep(d)
				kill(cmd)
				last = archiveCommitted(t, brokers, group, in)
				t.Logf("SIGKILL %v after progress; committed %v of %v", d, last, in.ends)
			}
			cmd := startRun(t, bin, args)
			// Even when the killed instances got everything committed, let
			// this one start (and install its signal handler) before the
			// SIGTERM.
			time.Sleep(time.Second)
			deadline := time.Now().Add(2 * time.Minute)
			for !slices.Equal(archiveCommitted(t, brokers, group, in), in.ends) {
				if time.Now().After(deadline) {
					kill(cmd)
					t.Fatalf("committed %v after 2 minutes, want %v", archiveCommitted(t, brokers, group, in), in.ends)
				}
				time.Sleep(200 * time.Millisecond)
			}
			stopRun(t, cmd)
			files := readArchive(t, b, prefix, in.labels)
			checkCovered(t, files, in.ends)
			checkExactlyOnce(t, files, in.labels)
			fs, err := Glob(ctx, withPath(t, u, prefix+"date=*/hour=*/*.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			defer fs.Close()
			exs, err := ReadExamples(ctx, fs)
			if err != nil {
				t.Fatal(err)
			}
			if len(exs) != len(in.labels) {
				t.Fatalf("Glob+ReadExamples: %d examples, want %d", len(exs), len(in.labels))
			}
			t.Logf("%d examples exactly once in %d files after the kills", len(exs), len(files))
		})
	}
}

// bucketName returns the bucket of an s3:// URL ("" for file://).
func bucketName(t *testing.T, u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if pu.Scheme == "file" {
		return ""
	}
	return pu.Host
}
