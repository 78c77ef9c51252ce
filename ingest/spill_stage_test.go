package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/simulate"
)

// spillSchedule is one run of TestJoinStageSpillMatchesOffline.
type spillSchedule struct {
	chaosSchedule      // parts, order and skew
	middle        bool // half of the events produced after the start
	restart       bool // the stage stopped and started again half way
}

func newSpillSchedule(seed uint64) spillSchedule {
	rng := rand.New(rand.NewPCG(seed, 0x5b111))
	s := spillSchedule{chaosSchedule: chaosSchedule{seed: seed, parts: 1 + rng.IntN(3), impressions: scaled(12000)}}
	s.order = []string{"imps-first", "installs-first", "interleaved", "imps-ahead", "installs-ahead"}[rng.IntN(5)]
	if s.order == "imps-ahead" || s.order == "installs-ahead" {
		s.skew = time.Duration(1+rng.IntN(60)) * time.Minute
	}
	s.middle, s.restart = seed%2 == 1, seed%4 >= 2
	return s
}

func (s spillSchedule) String() string {
	return fmt.Sprintf("seed %d: %d partitions, %s (skew %v), %d impressions, half produced after the start %v, restart %v",
		s.seed, s.parts, s.order, s.skew, s.impressions, s.middle, s.restart)
}

// TestJoinStageSpillMatchesOffline runs the join stage with a memory
// budget so small that nearly every message of a pending impression is
// spilled, in 64 KiB spill segments, on seeded schedules: the chaos
// harness's stores (chaosEvents) and production orders (one topic first,
// interleaved, one ahead of the other), the backlog produced before the
// start or half of it after, and a stop and start of the stage half way
// (the new one replays from the committed offsets and suppresses what was
// emitted, dropping spilled messages unread). Every example must be the
// offline join's, byte for byte, and the spill directory empty once the
// stage stopped. WDSTREAM_SPILL_SCHEDULES sets the number of schedules
// (default 4), WDSTREAM_SPILL_SEED the first seed (default 0).
func TestJoinStageSpillMatchesOffline(t *testing.T) {
	brokers := testenv.Brokers(t)
	schedules, first := envUint(t, "WDSTREAM_SPILL_SCHEDULES", 4), envUint(t, "WDSTREAM_SPILL_SEED", 0)
	for seed := first; seed < first+schedules; seed++ {
		s := newSpillSchedule(seed)
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Logf("schedule %v", s)
			runSpillSchedule(t, brokers, s)
		})
	}
}

func runSpillSchedule(t *testing.T, brokers []string, s spillSchedule) {
	imps, ins := chaosEvents(s.seed, s.impressions)
	want, _, err := join.Offline(imps, ins, chaosWindow)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*schemas.Impression{}
	for i := range imps {
		byID[imps[i].ImpressionID] = &imps[i]
	}
	tp := newTopics(t, brokers, "sp")
	testenv.CreateTopic(t, brokers, tp.imps, s.parts)
	testenv.CreateTopic(t, brokers, tp.ins, s.parts)
	var events []simulate.Event
	for _, e := range productionOrder(s.chaosSchedule, imps, ins) {
		events = append(events, simulate.Event{Impression: e.imp, Install: e.ins})
	}
	before := len(events)
	if s.middle {
		before /= 2
	}
	produceEvents(t, brokers, tp.imps, tp.ins, s.parts, events[:before])
	base := t.TempDir()
	cfg := JoinConfig{Brokers: brokers, Group: tp.group, Impressions: tp.imps, Installs: tp.ins,
		Examples: tp.ex, DeadLetter: tp.dlq, Window: chaosWindow, IdleAdvance: 4 * time.Second, FlushRecords: 500,
		MaxStateBytes: 128 << 10, SpillDir: base, SpillSegmentBytes: 64 << 10, Logger: testLogger(t)}
	var stats []JoinStats
	cur := startStage(t, cfg)
	stop := func() {
		stats = append(stats, cur.stop(t))
		if left := leftSpill(t, base); len(left) > 0 {
			t.Fatalf("spill files left after the stage stopped: %v", left)
		}
	}
	// The rest from a goroutine, so that a restart does not pause the
	// production: a pause of the idle advance while records are still to
	// come would break the labeling rule (see the package doc).
	prodDone := make(chan error, 1)
	go func() { prodDone <- produceChunks(brokers, tp, s.parts, events[before:]) }()
	if s.restart { // once a quarter of the examples are out
		waitExamples(t, brokers, tp.ex, len(want)/4, 2*time.Minute)
		stop()
		cur = startStage(t, cfg)
	}
	if err := <-prodDone; err != nil {
		t.Fatal(err)
	}
	waitExamples(t, brokers, tp.ex, len(want), 3*time.Minute)
	time.Sleep(time.Second) // a duplicate would arrive now
	if n := cur.s.Stats().SpillLive; n != 0 {
		t.Errorf("%d spilled messages left with every impression emitted", n)
	}
	stop()

	r := compareChaos(t, brokers, tp.ex, want)
	if !r.ok() {
		t.Fatalf("%d missing, %d doubled, %d wrong labels, %d extra, e.g. %v", r.missing, r.doubled, r.wrong, r.extra, head(r.sample))
	}
	// The values, byte for byte: the message as produced plus the label.
	labels := map[string]schemas.Example{}
	for _, w := range want {
		labels[w.ImpressionID] = w
	}
	for p, ms := range readTopic(t, brokers, tp.ex) {
		for _, m := range ms {
			id := hdr(m, "impression_id")
			w := labels[id]
			if exp := appendExample(nil, schemas.AppendImpressionJSON(nil, byID[id]), w.Label, w.InstallTS); !bytes.Equal(m.Value, exp) {
				t.Fatalf("examples %d at %d (%s): %s, want %s", p, m.Offset, id, m.Value, exp)
			}
		}
	}
	var spilled, reads, forced, suppressed int64
	for _, st := range stats {
		spilled, reads, forced, suppressed = spilled+st.Spilled, reads+st.SpillReads, forced+st.Forced, suppressed+st.Suppressed
	}
	if spilled < int64(len(want))/2 || reads == 0 || forced != 0 {
		t.Fatalf("spilled %d, read back %d, forced %d of %d impressions: want most spilled, none forced", spilled, reads, forced, len(want))
	}
	t.Logf("%d examples (%d positive), equal to the offline join's; %d messages spilled, %d read back, %d re-emissions suppressed", r.examples, r.positives, spilled, reads, suppressed)
}

// envUint reads a non-negative integer from the environment, def when
// unset.
func envUint(t *testing.T, name string, def uint64) uint64 {
	t.Helper()
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	var n uint64
	if _, err := fmt.Sscan(v, &n); err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// spillStartLog starts the log line of a stage that starts spilling.
const spillStartLog = "join state over its memory budget"

// saw reports whether an instance logged text.
func (l *chaosLog) saw(text string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, in := range l.list {
		if strings.Contains(in.log.String(), text) {
			return true
		}
	}
	return false
}

// runningStage is a JoinStage running in the background.
type runningStage struct {
	s      *JoinStage
	cancel context.CancelFunc
	done   chan error
}

func startStage(t *testing.T, cfg JoinConfig) runningStage {
	t.Helper()
	s, err := NewJoinStage(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := runningStage{s, cancel, make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	return r
}

// stop stops the stage (it produces and commits what it has) and returns
// its stats.
func (r runningStage) stop(t *testing.T) JoinStats {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
	return r.s.Stats()
}

// produceChunks writes evs to the topics in 10 chunks 300 ms apart, well
// under the idle advance.
func produceChunks(brokers []string, tp topics, parts int, evs []simulate.Event) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := NewEventProducer(ctx, brokers, kafka.Auth{}, tp.imps, tp.ins, parts)
	if err != nil {
		return err
	}
	const chunks = 10
	for i := range chunks {
		end := len(evs) * (i + 1) / chunks
		addEvents(p, evs[len(evs)*i/chunks:end])
		// A broker restarted (by a test of the same broker) is retried.
		for err := p.Flush(ctx); err != nil; err = p.Flush(ctx) {
			if ctx.Err() != nil {
				return fmt.Errorf("producing: %w", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return nil
}

// addEvents buffers evs in p.
func addEvents(p *EventProducer, evs []simulate.Event) {
	for _, e := range evs {
		if e.Impression != nil {
			p.Impression(e.Impression)
			continue
		}
		p.Install(e.Install)
	}
}
