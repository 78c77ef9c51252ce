package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	kg "github.com/segmentio/kafka-go"
	"gocloud.dev/blob"

	"github.com/wdstream/wdstream/continuous"
	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/simulate"
)

// serviceSpec writes configs/playstore.yaml with the given replacements
// (old, new, old, new ...) into the test's temp dir; each old must occur.
func serviceSpec(t *testing.T, repl ...string) string {
	t.Helper()
	data, err := os.ReadFile("../../configs/playstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			t.Fatalf("configs/playstore.yaml has no %q to replace", repl[i])
		}
		s = strings.Replace(s, repl[i], repl[i+1], 1)
	}
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// playstoreSpec is configs/playstore.yaml with the dry run's latency budget
// these tests meet: the spec's 50ms, and 500ms under the race detector
// (which slows scoring 5 to 20 times). The gate applies a spec's budget as
// written, in every build, so a test states the one it can meet.
func playstoreSpec(t *testing.T) string {
	budget := "50ms"
	if testenv.RaceEnabled {
		budget = "500ms"
	}
	return serviceSpec(t, "latency_budget: 50ms", "latency_budget: "+budget)
}

// smallServiceSpec is the playstore spec sized for tests: small crosses,
// idle advance 2s, a candidate every 6000 examples on 1000 fresh ones, and
// a permissive gate (the tests check the data a version covers, not its
// quality).
func smallServiceSpec(t *testing.T) string {
	return serviceSpec(t,
		"hash_buckets: 4194304", "hash_buckets: 16384",
		"idle_advance: 1m", "idle_advance: 2s",
		"min_auc: 0.55", "min_auc: 0.5",
		"max_logloss: 0.7", "max_logloss: 2",
		"calibration: [0.5, 2.0]", "calibration: [0.1, 10]",
		"max_auc_drop: 0.01", "max_auc_drop: 0.5",
		"max_logloss_rise: 0.01", "max_logloss_rise: 0.5",
		"latency_budget: 50ms", "latency_budget: 5s",
		"examples: 20000", "examples: 1000",
		"every: 5m ", "every: 0 ",
		"every_examples: 0 ", "every_examples: 6000 ",
	)
}

// serviceStore returns the store URL for a service test: the real S3
// bucket when the environment has one (always in CI), else a temp dir.
// Objects of model are deleted when the test ends.
func serviceStore(t *testing.T, models ...string) string {
	t.Helper()
	url := "file://" + t.TempDir()
	if os.Getenv(testenv.EnvS3URL) != "" || testenv.InCI() {
		url = testenv.S3Bucket(t)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			b, err := blob.OpenBucket(ctx, url)
			if err != nil {
				t.Logf("cleaning the store: %v", err)
				return
			}
			defer b.Close()
			for _, m := range models {
				it := b.List(&blob.ListOptions{Prefix: m + "/"})
				for {
					obj, err := it.Next(ctx)
					if err != nil {
						if err != io.EOF {
							t.Logf("cleaning the store: %v", err)
						}
						break
					}
					_ = b.Delete(ctx, obj.Key)
				}
			}
		})
	}
	return url
}

func openStore(t *testing.T, url string) *publisher.Store {
	t.Helper()
	st, err := publisher.OpenStore(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// worldEvents simulates a one-day world of n impressions.
func worldEvents(t *testing.T, seed uint64, n int) []simulate.Event {
	t.Helper()
	w, err := simulate.NewWorld(simulate.Config{Seed: seed, Users: 2000, Apps: 300, Days: 1, ImpressionsPerDay: n})
	if err != nil {
		t.Fatal(err)
	}
	var evs []simulate.Event
	if _, err := w.Run(context.Background(), func(e simulate.Event) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return evs
}

// offlineTrainedSet is what the service must train on: the backfill's
// join of the events, as "impression_id,label" lines.
func offlineTrainedSet(t *testing.T, evs []simulate.Event, window time.Duration) map[string]int {
	t.Helper()
	var imps []schemas.Impression
	var ins []schemas.Install
	for _, e := range evs {
		if e.Impression != nil {
			imps = append(imps, *e.Impression)
		} else {
			ins = append(ins, *e.Install)
		}
	}
	exs, _, err := join.Offline(imps, ins, window)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int, len(exs))
	for _, ex := range exs {
		out[fmt.Sprintf("%s,%d", ex.ImpressionID, ex.Label)]++
	}
	return out
}

// liveWorld moves evs to the near future in event time (the labels do not
// change), so that a caught-up input never counts as empty up to their ts
// (idle advance), and returns, per partition of parts, a sentinel
// impression and install a day after the last event, which close every
// real impression's window when produced last. The sentinel impressions
// stay pending: they never become examples.
func liveWorld(t *testing.T, evs []simulate.Event, parts int) (sentinels []simulate.Event, minTS, maxTS int64) {
	t.Helper()
	shift := time.Now().Add(time.Hour).UnixMilli() - evs[0].Impression.TS
	minTS, maxTS = int64(1<<62), 0
	for _, e := range evs {
		if e.Impression != nil {
			e.Impression.TS += shift
			minTS, maxTS = min(minTS, e.Impression.TS), max(maxTS, e.Impression.TS)
		} else {
			e.Install.TS += shift
		}
	}
	all := make([]int, parts)
	for i := range all {
		all[i] = i
	}
	for p, i := 0, 0; p < parts; i++ {
		u := "sentinel-" + strconv.Itoa(i)
		if (kg.Murmur2Balancer{}).Balance(kg.Message{Key: []byte(u)}, all...) == p {
			ts := maxTS + 24*3600_000
			sentinels = append(sentinels, simulate.Event{Impression: &schemas.Impression{ImpressionID: u, TS: ts, UserID: u, AppID: "none"}},
				simulate.Event{Install: &schemas.Install{TS: ts + 1, UserID: u, AppID: "none"}})
			p++
		}
	}
	return sentinels, minTS, maxTS
}

// producer writes events to the two topics (created with parts
// partitions), keyed by user like `wdstream simulate --brokers`.
type producer struct {
	t  *testing.T
	ep *ingest.EventProducer
}

func newProducer(t *testing.T, brokers []string, auth kafka.Auth, imps, ins string, parts int) *producer {
	t.Helper()
	ep, err := ingest.NewEventProducer(context.Background(), brokers, auth, imps, ins, parts)
	if err != nil {
		t.Fatal(err)
	}
	return &producer{t: t, ep: ep}
}

// produce writes evs with acks=all; errors are returned (produce may run
// on another goroutine than the test's).
func (p *producer) produce(evs []simulate.Event) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, e := range evs {
		if e.Impression != nil {
			p.ep.Impression(e.Impression)
		} else {
			p.ep.Install(e.Install)
		}
		if p.ep.Buffered() > 4<<20 {
			if err := p.ep.Flush(ctx); err != nil {
				return err
			}
		}
	}
	return p.ep.Flush(ctx)
}

// service is one `wdstream run` process, restarted at will; its stderr
// goes to one log file over every start.
type service struct {
	t    *testing.T
	bin  string
	args []string
	env  []string
	log  string
	tmp  string // TMPDIR of every start
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited; err is then its result
	err  error
}

func newService(t *testing.T, args ...string) *service {
	dir := t.TempDir()
	return &service{t: t, bin: testenv.Wdstream(t), args: args, log: filepath.Join(dir, "service.log"), tmp: dir}
}

// checkNoTempLeft checks that no temporary directory of the service's
// processes is left: each start removes those of the processes killed
// before it, and a stopped one removes its own (package tmpdir).
func (s *service) checkNoTempLeft() {
	s.t.Helper()
	parent := filepath.Join(s.tmp, "wdstream-"+strconv.Itoa(os.Getuid()))
	entries, err := os.ReadDir(parent)
	if err != nil {
		s.t.Fatalf("the service made no temporary directory under %s: %v", s.tmp, err)
	}
	for _, e := range entries {
		s.t.Errorf("left in the temporary directory: %s", filepath.Join(parent, e.Name()))
	}
}

func (s *service) start() {
	s.t.Helper()
	f, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	fmt.Fprintf(f, "=== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), append([]string{"TMPDIR=" + s.tmp}, s.env...)...)
	if err := cmd.Start(); err != nil {
		f.Close()
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	go func() {
		err := cmd.Wait()
		f.Close()
		s.err = err
		close(done)
	}()
	s.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
}

// exited reports whether the process has exited.
func (s *service) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to go.
func (s *service) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// stop sends SIGTERM and waits: the process must exit 0 within limit. It
// returns how long it took.
func (s *service) stop(limit time.Duration) time.Duration {
	s.t.Helper()
	t0 := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if s.err != nil {
			s.t.Fatalf("wdstream run after SIGTERM: %v\n%s", s.err, s.tail())
		}
	case <-time.After(limit):
		s.kill()
		s.t.Fatalf("wdstream run did not exit within %v of SIGTERM\n%s", limit, s.tail())
	}
	return time.Since(t0)
}

// waitLog waits until the log of the current start holds substr and
// reports whether it did within timeout (false when the process exited).
func (s *service) waitLog(substr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && !s.exited() {
		b, _ := os.ReadFile(s.log)
		if strings.Contains(string(b[strings.LastIndex(string(b), "=== start")+1:]), substr) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// tail returns the end of the service's log, for failure messages.
func (s *service) tail() string {
	b, _ := os.ReadFile(s.log)
	const n = 8000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// waitTrained waits until the newest complete checkpoint of model covers
// want examples, and returns it.
func waitTrained(t *testing.T, st *publisher.Store, model string, want int64, timeout time.Duration, s *service) continuous.Progress {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		cps, err := continuous.Checkpoints(context.Background(), st, model)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(cps); n > 0 && cps[n-1].Examples >= want {
			return cps[n-1]
		}
		if s.exited() {
			t.Fatalf("the service exited before training %d examples\n%s", want, s.tail())
		}
		if time.Now().After(deadline) {
			got := int64(0)
			if n := len(cps); n > 0 {
				got = cps[n-1].Examples
			}
			t.Fatalf("after %v the checkpoints cover %d of %d examples\n%s", timeout, got, want, s.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
