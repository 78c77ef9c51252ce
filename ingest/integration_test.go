package ingest

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/simulate"
)

// fastSpec writes the playstore spec with idle_advance 2s.
func fastSpec(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../configs/playstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "idle_advance: 1m", "idle_advance: 2s", 1)
	if s == string(data) {
		t.Fatal("configs/playstore.yaml has no idle_advance: 1m line to shorten")
	}
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type topics struct{ imps, ins, ex, dlq, group string }

// newTopics names the topics and group of one join test; the topics are
// deleted when t ends (the group's offsets expire with the broker's
// retention).
func newTopics(t *testing.T, brokers []string, tag string) topics {
	tp := topics{
		imps: testenv.UniqueName(t, "imp"+tag), ins: testenv.UniqueName(t, "ins"+tag),
		ex: testenv.UniqueName(t, "ex"+tag), dlq: testenv.UniqueName(t, "dlq"+tag), group: testenv.UniqueName(t, "g"+tag),
	}
	deleteAtEnd(t, brokers, tp.imps, tp.ins, tp.ex, tp.dlq)
	return tp
}

func (tp topics) runArgs(brokers []string, spec string) []string {
	return []string{"run", "--spec", spec, "--brokers", strings.Join(brokers, ","), "--stages", "join",
		"--group", tp.group, "--topic-impressions", tp.imps, "--topic-installs", tp.ins,
		"--topic-examples", tp.ex, "--topic-dlq", tp.dlq, "--log-level", "warn"}
}

func startRun(t *testing.T, bin string, args []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	} else {
		cmd.Stderr = &tailBuffer{} // reported by stopRun on failure
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// stopRun sends SIGTERM and waits: the service must exit within 30 s.
func stopRun(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			tail := ""
			if b, ok := cmd.Stderr.(*tailBuffer); ok {
				tail = b.String()
			}
			t.Errorf("wdstream run after SIGTERM: %v\n%s", err, tail)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("wdstream run did not exit within 30s of SIGTERM")
	}
}

// TestKafkaCrashExactness kills the join with SIGKILL at random moments,
// restarts it, and compares the examples with a run without crashes and
// with the backfill's offline join of the same events.
func TestKafkaCrashExactness(t *testing.T) {
	brokers := testenv.RealKafka(t)
	bin := testenv.Wdstream(t)
	spec := fastSpec(t)
	evs := simEvents(t, 60000)
	want := offlineLabels(t, evs, 30*time.Minute)

	clean, crash := newTopics(t, brokers, "c"), newTopics(t, brokers, "k")
	crash.imps, crash.ins = clean.imps, clean.ins // same input, other group and output
	produceEvents(t, brokers, clean.imps, clean.ins, 4, evs)

	// Run without crashes.
	cmd := startRun(t, bin, clean.runArgs(brokers, spec))
	waitExamples(t, brokers, clean.ex, len(want), 2*time.Minute)
	stopRun(t, cmd)
	ref := readExamples(t, brokers, clean.ex)
	if len(ref.dups) > 0 {
		t.Fatalf("crash-free run: %d duplicates %v", len(ref.dups), head(ref.dups))
	}
	compareLabels(t, ref.labels, want)

	// Run with crashes, each in the middle of the stream: a random moment
	// within 120ms after the instance's first new example (a restarted
	// instance first waits for the killed member's session to expire, so
	// a kill at a fixed time after the start would hit the group join).
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for i := range 3 {
		have := countRecords(t, brokers, crash.ex)
		if have >= int64(len(want)) {
			break
		}
		cmd := startRun(t, bin, crash.runArgs(brokers, spec))
		deadline := time.Now().Add(time.Minute)
		for countRecords(t, brokers, crash.ex) == have {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("crash %d: no new example within a minute", i+1)
			}
			time.Sleep(5 * time.Millisecond)
		}
		d := time.Duration(rng.IntN(120)) * time.Millisecond
		time.Sleep(d)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Logf("crash %d: SIGKILL %v after the first new example; %d examples in the topic (%d before)", i+1, d, countRecords(t, brokers, crash.ex), have)
	}
	cmd = startRun(t, bin, crash.runArgs(brokers, spec))
	waitExamples(t, brokers, crash.ex, len(want), 2*time.Minute)
	time.Sleep(3 * time.Second) // any duplicate would arrive now
	stopRun(t, cmd)
	got := readExamples(t, brokers, crash.ex)
	if len(got.dups) > 0 {
		t.Fatalf("after crashes: %d duplicate examples, e.g. %v", len(got.dups), head(got.dups))
	}
	compareLabels(t, got.labels, ref.labels)
	t.Logf("%d examples, %d positive, equal with and without the SIGKILLs", got.n, positives(got.labels))
}

// TestKafkaStreamEqualsBackfill writes one world to Parquet files and to
// Kafka, and compares the stream's examples with the backfill's join of the
// files (ingest.ReadImpressions, ReadInstalls and join.Offline, the path of
// `wdstream backfill --impressions --installs`).
func TestKafkaStreamEqualsBackfill(t *testing.T) {
	brokers := testenv.RealKafka(t)
	cfg := simulate.Config{Seed: 11, Users: 2000, Apps: 300, Days: 1, ImpressionsPerDay: scaled(20000)}
	w, err := simulate.NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := simulate.WriteFiles(context.Background(), w, simulate.WriteOptions{Dir: dir, Format: simulate.FormatParquet}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	impFiles, err := Glob(ctx, filepath.Join(dir, "impressions", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer impFiles.Close()
	insFiles, err := Glob(ctx, filepath.Join(dir, "installs", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer insFiles.Close()
	imps, err := ReadImpressions(ctx, impFiles)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := ReadInstalls(ctx, insFiles)
	if err != nil {
		t.Fatal(err)
	}
	exs, _, err := join.Offline(imps, ins, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int32{}
	for _, e := range exs {
		want[e.ImpressionID] = e.Label
	}

	var evs []simulate.Event
	if _, err := w.Run(ctx, func(e simulate.Event) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatal(err)
	}
	tp := newTopics(t, brokers, "b")
	produceEvents(t, brokers, tp.imps, tp.ins, 3, evs)
	s, err := NewJoinStage(JoinConfig{Brokers: brokers, Group: tp.group, Impressions: tp.imps, Installs: tp.ins,
		Examples: tp.ex, DeadLetter: tp.dlq, Window: 30 * time.Minute, IdleAdvance: 2 * time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	waitExamples(t, brokers, tp.ex, len(want), time.Minute)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := readExamples(t, brokers, tp.ex)
	if len(got.dups) > 0 {
		t.Fatalf("%d duplicates", len(got.dups))
	}
	compareLabels(t, got.labels, want)
	t.Logf("stream and backfill agree on %d examples (%d positive)", got.n, positives(got.labels))
}

// TestKafkaTwoInstances runs two stages in one group: each takes its share
// of the partitions, and together they produce what one instance produces
// (the offline join's labels, which TestKafkaCrashExactness ties to one
// instance's output).
func TestKafkaTwoInstances(t *testing.T) {
	brokers := testenv.RealKafka(t)
	evs := simEvents(t, scaled(30000))
	// The events reach live members: move them to the near future in event
	// time (the labels do not change), so that the installs input, caught
	// up and silent before production starts, does not count as empty up
	// to their ts (idle advance); and end each partition with a sentinel
	// impression and install a day later, which closes every real one.
	shift := time.Now().Add(time.Minute).UnixMilli() - evs[0].Impression.TS
	maxTS := int64(0)
	for _, e := range evs {
		if e.Impression != nil {
			e.Impression.TS += shift
			maxTS = max(maxTS, e.Impression.TS)
		} else {
			e.Install.TS += shift
		}
	}
	want := offlineLabels(t, evs, 30*time.Minute)
	tp := newTopics(t, brokers, "2")
	ep, err := NewEventProducer(context.Background(), brokers, kafka.Auth{}, tp.imps, tp.ins, 4)
	if err != nil {
		t.Fatal(err)
	}
	for p, i := 0, 0; p < 4; i++ {
		u := "sentinel-" + strconv.Itoa(i)
		if ep.PartitionOf(u) == p {
			ts := maxTS + 24*3600_000
			evs = append(evs, simulate.Event{Impression: &schemas.Impression{ImpressionID: u, TS: ts, UserID: u, AppID: "none"}},
				simulate.Event{Install: &schemas.Install{TS: ts + 1, UserID: u, AppID: "none"}})
			p++
		}
	}
	if err := kafka.NewClient(brokers, kafka.Auth{}).EnsureTopics(context.Background(), 4, tp.imps, tp.ins); err != nil {
		t.Fatal(err)
	}
	var stages [2]*JoinStage
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range stages {
		s, err := NewJoinStage(JoinConfig{Brokers: brokers, Group: tp.group, Impressions: tp.imps, Installs: tp.ins,
			Examples: tp.ex, DeadLetter: tp.dlq, Window: 30 * time.Minute, IdleAdvance: 2 * time.Second, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		stages[i] = s
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.Run(ctx) }()
	}
	// Produce once both members hold two partitions each.
	deadline := time.Now().Add(time.Minute)
	for stages[0].Stats().Assigned != 2 || stages[1].Stats().Assigned != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("assignment did not settle to 2+2 partitions: %d and %d", stages[0].Stats().Assigned, stages[1].Stats().Assigned)
		}
		time.Sleep(100 * time.Millisecond)
	}
	produceEvents(t, brokers, tp.imps, tp.ins, 4, evs)
	waitExamples(t, brokers, tp.ex, len(want), 2*time.Minute)
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := readExamples(t, brokers, tp.ex)
	if len(got.dups) > 0 {
		t.Fatalf("%d duplicates", len(got.dups))
	}
	compareLabels(t, got.labels, want)
	a, b := stages[0].Stats(), stages[1].Stats()
	if a.Impressions == 0 || b.Impressions == 0 || a.Impressions+b.Impressions != int64(len(want)+4) {
		t.Fatalf("instances joined %d and %d impressions, want shares summing to %d", a.Impressions, b.Impressions, len(want))
	}
	t.Logf("instance shares: %d and %d impressions; %d examples", a.Impressions, b.Impressions, got.n)
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if n := len(b.buf); n > 8<<10 {
		b.buf = append(b.buf[:0], b.buf[n-8<<10:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
