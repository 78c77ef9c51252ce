package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	gcaws "gocloud.dev/aws"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob" // also registers s3:// URLs
)

// EnvVersitygw names the versitygw binary that scripts/services.sh runs as
// the shared S3 server; PrivateS3 starts servers of its own with it.
const EnvVersitygw = "WDSTREAM_VERSITYGW"

// privateBucket is the bucket of every private server (each has its own
// root, so the name is never shared).
const privateBucket = "private"

// s3StartTimeout bounds how long a (re)started server may take to serve.
const s3StartTimeout = 20 * time.Second

// S3Server is a versitygw S3 server private to one test: its own port on
// 127.0.0.1, its own posix root under the test's temp dir and its own
// bucket, with the credentials of the shared server (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, which gocloud's S3 driver reads too). The test
// may Kill it (SIGKILL: no request it was serving finishes) and Start it
// again on the same port and root, without disturbing the tests that run
// in parallel against the shared server. The process is killed when the
// test ends.
//
// Its posix backend keeps the object KEY as the file Object(KEY), written
// to a temporary file and linked into place once complete, so a test can
// watch objects appear there (KillWhen) to kill the server at a chosen
// step of a sequence of writes.
type S3Server struct {
	tb                 testing.TB
	bin, root, logPath string
	addr               string
	access, secret     string

	mu     sync.Mutex    // guards cmd, done and starts
	cmd    *exec.Cmd     // nil while killed
	done   chan struct{} // closed when cmd has exited
	starts int
}

// PrivateS3 starts a versitygw of tb's own (see S3Server) and returns it
// serving. Without WDSTREAM_VERSITYGW the test is skipped (it fails in
// CI); a binary that does not run, or credentials missing from the
// environment, fail it.
func PrivateS3(tb testing.TB) *S3Server {
	tb.Helper()
	bin := os.Getenv(EnvVersitygw)
	if bin == "" {
		missing(tb, "versitygw binary for a private S3 server", EnvVersitygw)
	}
	if err := checkExecutable(bin); err != nil {
		tb.Fatalf("testenv: %s: %v", EnvVersitygw, err)
	}
	s := &S3Server{tb: tb, bin: bin, access: os.Getenv("AWS_ACCESS_KEY_ID"), secret: os.Getenv("AWS_SECRET_ACCESS_KEY")}
	if s.access == "" || s.secret == "" {
		tb.Fatalf("testenv: %s is set but AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY not: the private S3 server and its clients need the credentials of the test environment (scripts/services.sh exports them)", EnvVersitygw)
	}
	dir := tb.TempDir()
	s.root, s.logPath = filepath.Join(dir, "root"), filepath.Join(dir, "server.log")
	// A posix bucket is a folder of the root.
	if err := os.MkdirAll(filepath.Join(s.root, privateBucket), 0o755); err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: no free port for a private S3 server: %v", err)
	}
	s.addr = l.Addr().String()
	l.Close()
	tb.Cleanup(s.Kill)
	s.Start()
	return s
}

// URL is the gocloud.dev URL of the server's bucket.
func (s *S3Server) URL() string {
	return fmt.Sprintf("s3://%s?endpoint=%s&use_path_style=true&region=us-east-1", privateBucket, s.Endpoint())
}

// Endpoint is the server's HTTP address, http://127.0.0.1:PORT.
func (s *S3Server) Endpoint() string { return "http://" + s.addr }

// Object returns the file in which the server keeps the object key of its
// bucket (it exists once the object is complete).
func (s *S3Server) Object(key string) string {
	return filepath.Join(s.root, privateBucket, filepath.FromSlash(key))
}

// OpenBucket opens the server's bucket with an S3 client that makes at
// most attempts attempts of each request (1: none is retried), closed
// when tb ends. A bucket opened from URL (gocloud's s3blob, as the
// product opens stores) makes three, after backoffs of up to 2 s and 4 s:
// a test that wants a request to a killed server to fail at once, as it
// fails once those retries are spent, opens the bucket here.
func (s *S3Server) OpenBucket(tb testing.TB, attempts int) *blob.Bucket {
	tb.Helper()
	ctx := context.Background()
	cfg, err := gcaws.V2ConfigFromURLParams(ctx, url.Values{"region": {"us-east-1"}, "endpoint": {s.Endpoint()}})
	if err != nil {
		tb.Fatalf("testenv: S3 client config for %s: %v", s.Endpoint(), err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.RetryMaxAttempts = attempts
	})
	b, err := s3blob.OpenBucket(ctx, client, privateBucket, nil)
	if err != nil {
		tb.Fatalf("testenv: opening bucket %s on %s: %v", privateBucket, s.Endpoint(), err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// Log returns the server's output over every start, for failure messages.
func (s *S3Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// Running reports whether the server process is up (started and not
// killed).
func (s *S3Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Kill stops the server with SIGKILL and waits for the process to be
// gone; it does nothing when the server is not running. It may be called
// from any goroutine.
func (s *S3Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd, s.done = nil, nil
}

// Start starts the server again (on the same port and root) and returns
// once it answers S3 requests for its bucket; it fails the test when it
// does not. It does nothing when the server is running. Call it from the
// test's goroutine; other goroutines use TryStart.
func (s *S3Server) Start() {
	s.tb.Helper()
	if err := s.TryStart(); err != nil {
		s.tb.Fatal(err)
	}
}

// TryStart is Start returning its error instead of failing the test.
func (s *S3Server) TryStart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	s.starts++
	fmt.Fprintf(logf, "=== start %d at %s\n", s.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.bin, "--port", s.addr, "--region", "us-east-1", "--quiet", "posix", s.root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.access, "ROOT_SECRET_ACCESS_KEY="+s.secret)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testenv: starting versitygw %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	if err := s.waitServing(done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		s.cmd, s.done = nil, nil
		return fmt.Errorf("testenv: private S3 server on %s (start %d): %w\n%s", s.addr, s.starts, err, lastLines(s.Log(), 20))
	}
	return nil
}

// waitServing waits until the server answers an S3 request on its bucket
// (a listing, signed with the credentials), or its process exits.
func (s *S3Server) waitServing(exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), s3StartTimeout)
	defer cancel()
	var last error
	for {
		select {
		case <-exited:
			return errors.New("versitygw exited")
		default:
		}
		if last = s.ping(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not serving after %v: %w", s3StartTimeout, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *S3Server) ping(ctx context.Context) error {
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return err
	}
	c.Close()
	b, err := blob.OpenBucket(ctx, s.URL())
	if err != nil {
		return err
	}
	defer b.Close()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = b.List(&blob.ListOptions{Prefix: "testenv-ping/"}).Next(rctx)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// KillWhen kills the server from a new goroutine as soon as cond reports
// true (polled about every 100µs), then calls after (nil: nothing) from
// that goroutine. cancel stops the watch and reports whether the server
// was killed; once it returns, cond and after are no longer called.
func (s *S3Server) KillWhen(cond func() bool, after func()) (cancel func() bool) {
	stop := make(chan struct{})
	done := make(chan bool, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- false
				return
			default:
			}
			if cond() {
				s.Kill()
				if after != nil {
					after()
				}
				done <- true
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	var once sync.Once
	var killed bool
	return func() bool {
		once.Do(func() {
			close(stop)
			killed = <-done
		})
		return killed
	}
}

// Knobs of the tests that kill a private S3 server (see KillSchedule).
const (
	EnvS3KillRounds = "WDSTREAM_S3_KILL_ROUNDS"
	EnvS3KillSeed   = "WDSTREAM_S3_KILL_SEED"
)

// KillSchedule returns the number of rounds an S3 fault test runs
// (WDSTREAM_S3_KILL_ROUNDS, else def) and the random source of its kill
// points and timings, seeded with WDSTREAM_S3_KILL_SEED, else with the
// clock. It logs both, so that a failing schedule can be run again.
func KillSchedule(tb testing.TB, def int) (int, *rand.Rand) {
	tb.Helper()
	rounds := def
	if v := os.Getenv(EnvS3KillRounds); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			tb.Fatalf("testenv: %s=%q: want a positive number of rounds", EnvS3KillRounds, v)
		}
		rounds = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(EnvS3KillSeed); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			tb.Fatalf("testenv: %s=%q: want an unsigned integer", EnvS3KillSeed, v)
		}
		seed = n
	}
	tb.Logf("kill schedule: %d rounds, seed %d (run again with %s=%d %s=%d)", rounds, seed, EnvS3KillSeed, seed, EnvS3KillRounds, rounds)
	return rounds, rand.New(rand.NewPCG(seed, 0x5eed))
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
