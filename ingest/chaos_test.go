package ingest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
)

// The chaos harness: seeded, randomized schedules of the real wdstream
// binary against the real broker, compared impression by impression with
// the offline join (join.Offline, the path of `wdstream join` and the
// backfill) on the same events.
//
// Knobs (environment):
//   - WDSTREAM_CHAOS_SCHEDULES: schedules to run (default 3);
//   - WDSTREAM_CHAOS_DURATION: run schedules until this much time has
//     passed instead (a soak, bench/chaos.sh);
//   - WDSTREAM_CHAOS_SEED: the first schedule's seed (default: from the
//     clock); schedule i uses seed+i. A failing schedule prints its seed:
//     WDSTREAM_CHAOS_SEED=S WDSTREAM_CHAOS_SCHEDULES=1 replays it.
//   - WDSTREAM_CHAOS_MAX_STATE_BYTES: the spec's join.max_state_bytes
//     (default off), such as 256KiB: a budget that small spills nearly
//     every pending message (spill_dir: a temp dir of the test; a killed
//     instance's spill is deleted by the next start).
//
// Each schedule logs one line starting "chaos-row" (bench/chaos.sh makes a
// table of them).

const (
	chaosWindow = time.Hour
	chaosIdle   = 10 * time.Second
)

// chaosSchedule is one randomized run.
type chaosSchedule struct {
	seed  uint64
	parts int
	// order is how the two topics are produced: "imps-first" and
	// "installs-first" (one topic's whole backlog, then the other's),
	// "interleaved" (by event time), "imps-ahead" and "installs-ahead"
	// (by event time, one topic skew ahead of the other).
	order string
	skew  time.Duration
	// start: "backlog" (everything produced before the service starts),
	// "empty" (the service starts on empty topics, production follows) or
	// "middle" (half before, half after).
	start       string
	impressions int
	// chaosAfter: the kills, rebalance and broker restart come after the
	// production instead of during it (so that one instance sees all of
	// a production that lasts longer than the idle advance).
	chaosAfter    bool
	kills         int  // SIGKILLs of the service, each restarted at once
	rebalance     bool // a second instance joins and leaves
	brokerRestart bool
}

func newChaosSchedule(seed uint64) chaosSchedule {
	rng := rand.New(rand.NewPCG(seed, 0xc4a05))
	s := chaosSchedule{
		seed:          seed,
		parts:         1 + rng.IntN(4),
		order:         []string{"imps-first", "installs-first", "interleaved", "imps-ahead", "installs-ahead"}[rng.IntN(5)],
		start:         []string{"backlog", "empty", "middle"}[rng.IntN(3)],
		impressions:   scaled(20000 + rng.IntN(40000)),
		chaosAfter:    rng.IntN(3) == 0,
		kills:         5 + rng.IntN(2),
		rebalance:     rng.IntN(2) == 0,
		brokerRestart: rng.IntN(3) == 0,
	}
	if strings.HasSuffix(s.order, "-ahead") {
		s.skew = time.Duration(1+rng.IntN(60)) * time.Minute // up to the window
	}
	// Every four consecutive seeds cover what CI must see every time: the
	// issue's replay (both backlogs before the start, impressions first),
	// the same backlogs produced while the service runs (for longer than
	// the idle advance: the installs are not there yet), a rebalance, a
	// broker restart; the fourth is left to chance. A schedule is a
	// function of its seed alone, so a seed replays it.
	switch seed % 4 {
	case 0:
		s.order, s.start, s.brokerRestart = "imps-first", "backlog", false
	case 1:
		s.order, s.start, s.chaosAfter, s.rebalance = "imps-first", "empty", true, true
	case 2:
		s.brokerRestart = true
	}
	if !strings.HasSuffix(s.order, "-ahead") {
		s.skew = 0
	}
	return s
}

func (s chaosSchedule) String() string {
	order := s.order
	if s.skew > 0 {
		order += " " + s.skew.String()
	}
	when := "during"
	if s.chaosAfter {
		when = "after"
	}
	return fmt.Sprintf("seed %d: %d partitions, %s, start %s, %d impressions, chaos %s production: %d kills, rebalance %v, broker restart %v",
		s.seed, s.parts, order, s.start, s.impressions, when, s.kills, s.rebalance, s.brokerRestart)
}

// chaosEvents generates a store unlike the simulator's: pages of
// impressions sharing a ts, 5% converting, 10% of installs without
// impression_id, 1% sent twice, 4% after the window, a few orphans and
// installs at the impression's very ts.
func chaosEvents(seed uint64, n int) ([]schemas.Impression, []schemas.Install) {
	rng := rand.New(rand.NewPCG(seed, 0xe7e47))
	w := chaosWindow.Milliseconds()
	ts := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli() + rng.Int64N(1e9)
	users, apps := 200+rng.IntN(400), 20+rng.IntN(40)
	imps := make([]schemas.Impression, 0, n)
	var ins []schemas.Install
	for len(imps) < n {
		ts += rng.Int64N(4000) // ~14 h of event time for 25,000 impressions
		user := "u" + strconv.Itoa(rng.IntN(users))
		for range 1 + rng.IntN(4) { // a page: same user, same ts
			id := "i" + strconv.FormatUint(seed%1000, 10) + "-" + strconv.Itoa(len(imps))
			app := "a" + strconv.Itoa(rng.IntN(apps))
			imps = append(imps, schemas.Impression{ImpressionID: id, TS: ts, UserID: user, AppID: app,
				Features: map[string]schemas.Value{"country": schemas.String("c" + strconv.Itoa(rng.IntN(5)))}})
			if rng.Float64() >= 0.05 {
				continue
			}
			d := rng.Int64N(w + 1)
			switch r := rng.Float64(); {
			case r < 0.04:
				d = w + 1 + rng.Int64N(w)
			case r < 0.06:
				d = 0
			case r < 0.07:
				d = w
			}
			in := schemas.Install{TS: ts + d, ImpressionID: id, UserID: user, AppID: app}
			if rng.Float64() < 0.10 {
				in.ImpressionID = ""
			}
			ins = append(ins, in)
			if rng.Float64() < 0.01 {
				ins = append(ins, in)
			}
		}
		if rng.Float64() < 0.002 {
			ins = append(ins, schemas.Install{TS: ts, ImpressionID: "nowhere-" + strconv.Itoa(len(ins)), UserID: user, AppID: "a0"})
		}
	}
	slices.SortStableFunc(ins, func(a, b schemas.Install) int { return cmp.Compare(a.TS, b.TS) })
	return imps, ins
}

// chaosEvent is one record to produce, in production order.
type chaosEvent struct {
	imp *schemas.Impression
	ins *schemas.Install
}

// productionOrder interleaves the two topics as s.order says; each topic
// keeps its own order.
func productionOrder(s chaosSchedule, imps []schemas.Impression, ins []schemas.Install) []chaosEvent {
	out := make([]chaosEvent, 0, len(imps)+len(ins))
	var impShift, insShift int64 // subtracted from ts: the topic that runs ahead
	switch s.order {
	case "imps-first":
		impShift = 1 << 62
	case "installs-first":
		insShift = 1 << 62
	case "imps-ahead":
		impShift = s.skew.Milliseconds()
	case "installs-ahead":
		insShift = s.skew.Milliseconds()
	}
	a, b := 0, 0
	for a < len(imps) || b < len(ins) {
		if b == len(ins) || (a < len(imps) && imps[a].TS-impShift <= ins[b].TS-insShift) {
			out = append(out, chaosEvent{imp: &imps[a]})
			a++
		} else {
			out = append(out, chaosEvent{ins: &ins[b]})
			b++
		}
	}
	return out
}

// infoArgs turns runArgs' --log-level warn into info: the instance's
// "partition starting" line tells the harness when to kill it.
func infoArgs(args []string) []string {
	for i, a := range args {
		if a == "--log-level" && i+1 < len(args) {
			args[i+1] = "info"
		}
	}
	return args
}

// chaosInstance is one running `wdstream run --stages join`.
type chaosInstance struct {
	cmd *exec.Cmd
	log *testenv.SyncBuffer
}

func startChaosInstance(t *testing.T, bin string, args []string, tail *chaosLog) *chaosInstance {
	t.Helper()
	in := &chaosInstance{cmd: exec.Command(bin, args...), log: &testenv.SyncBuffer{}}
	in.cmd.Stderr = in.log
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tail.add(in)
	return in
}

// waitPartitions waits until the instance runs a partition (a restarted
// instance first waits for the killed member's session to expire).
func (in *chaosInstance) waitPartitions(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(in.log.String(), "partition starting") {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func (in *chaosInstance) kill() {
	_ = in.cmd.Process.Kill()
	_ = in.cmd.Wait()
}

// stop sends SIGTERM and waits up to 40 s; it reports the exit error.
func (in *chaosInstance) stop() error {
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- in.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(40 * time.Second):
		in.kill()
		return fmt.Errorf("no exit within 40s of SIGTERM")
	}
}

// chaosLog keeps every instance of a schedule, to show their logs when it
// fails.
type chaosLog struct {
	mu   sync.Mutex
	list []*chaosInstance
}

func (l *chaosLog) add(in *chaosInstance) {
	l.mu.Lock()
	l.list = append(l.list, in)
	l.mu.Unlock()
}

func (l *chaosLog) dump(t *testing.T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, in := range l.list {
		s := in.log.String()
		if len(s) > 6000 {
			s = "..." + s[len(s)-6000:]
		}
		t.Logf("instance %d log:\n%s", i, s)
	}
}

// chaosResult compares the examples topic with the offline join.
type chaosResult struct {
	examples, positives, missing, doubled, wrong, extra int
	sample                                              []string
}

func (r chaosResult) ok() bool { return r.missing+r.doubled+r.wrong+r.extra == 0 }

func compareChaos(t *testing.T, brokers []string, topic string, want []schemas.Example) chaosResult {
	t.Helper()
	type got struct {
		n     int
		label int32
		its   int64
	}
	seen := map[string]*got{}
	var dec schemas.Decoder
	var ex schemas.Example
	var r chaosResult
	for p, ms := range readTopic(t, brokers, topic) {
		for _, m := range ms {
			if err := dec.Example(m.Value, &ex); err != nil {
				t.Fatalf("examples %d at %d: %v", p, m.Offset, err)
			}
			r.examples++
			g := seen[ex.ImpressionID]
			if g == nil {
				g = &got{label: ex.Label, its: ex.InstallTS}
				seen[ex.ImpressionID] = g
			}
			g.n++
		}
	}
	ids := map[string]bool{}
	for _, w := range want {
		ids[w.ImpressionID] = true
		r.positives += int(w.Label)
		g := seen[w.ImpressionID]
		switch {
		case g == nil:
			r.missing++
			r.sample = append(r.sample, "missing "+w.ImpressionID)
		case g.label != w.Label || g.its != w.InstallTS:
			r.wrong++
			r.sample = append(r.sample, fmt.Sprintf("%s (ts %d, user %s, app %s): label %d install_ts %d, offline %d %d",
				w.ImpressionID, w.TS, w.UserID, w.AppID, g.label, g.its, w.Label, w.InstallTS))
		}
		if g != nil && g.n > 1 {
			r.doubled++
			r.sample = append(r.sample, fmt.Sprintf("%s emitted %d times", w.ImpressionID, g.n))
		}
	}
	for id := range seen {
		if !ids[id] {
			r.extra++
		}
	}
	return r
}

// chaosSpec writes the playstore spec with a 1 h window and a 10 s idle
// advance.
func chaosSpec(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../configs/playstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, r := range [][2]string{{"label_window: 30m ", "label_window: 1h "}, {"idle_advance: 1m", "idle_advance: " + chaosIdle.String()}} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("configs/playstore.yaml has no %q to replace", r[0])
		}
		s = strings.Replace(s, r[0], r[1], 1)
	}
	if v := os.Getenv("WDSTREAM_CHAOS_MAX_STATE_BYTES"); v != "" {
		const mp = "max_pending: 2000000\n"
		if !strings.Contains(s, mp) {
			t.Fatalf("configs/playstore.yaml has no %q to follow", mp)
		}
		s = strings.Replace(s, mp, mp+"  max_state_bytes: "+v+"\n  spill_dir: "+t.TempDir()+"\n", 1)
		t.Logf("join.max_state_bytes %s", v)
	}
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runChaos runs one schedule and compares its examples with the offline join.
func runChaos(t *testing.T, brokers []string, bin, spec string, s chaosSchedule) chaosResult {
	t.Helper()
	imps, ins := chaosEvents(s.seed, s.impressions)
	want, _, err := join.Offline(imps, ins, chaosWindow)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(s.seed, 0x5c4ed))
	tp := newTopics(t, brokers, "x")
	testenv.CreateTopic(t, brokers, tp.imps, s.parts)
	testenv.CreateTopic(t, brokers, tp.ins, s.parts)
	args := infoArgs(tp.runArgs(brokers, spec))

	events := productionOrder(s, imps, ins)
	before := 0
	switch s.start {
	case "backlog":
		before = len(events)
	case "middle":
		before = len(events) / 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	produce := func(evs []chaosEvent, chunks int, pause func() time.Duration) error {
		p, err := NewEventProducer(ctx, brokers, kafka.Auth{}, tp.imps, tp.ins, s.parts)
		if err != nil {
			return err
		}
		size := max(1, (len(evs)+chunks-1)/chunks)
		for len(evs) > 0 {
			n := min(size, len(evs))
			for _, e := range evs[:n] {
				if e.imp != nil {
					p.Impression(e.imp)
				} else {
					p.Install(e.ins)
				}
			}
			evs = evs[n:]
			for p.Flush(ctx) != nil { // a broker restart: try again
				if ctx.Err() != nil {
					return ctx.Err()
				}
				time.Sleep(200 * time.Millisecond)
			}
			if len(evs) > 0 {
				time.Sleep(pause())
			}
		}
		return nil
	}
	if err := produce(events[:before], 1, nil); err != nil {
		t.Fatal(err)
	}
	logs := &chaosLog{}
	defer func() {
		if t.Failed() {
			logs.dump(t)
		}
	}()
	main := startChaosInstance(t, bin, args, logs)
	// Production of the rest: 40 chunks about 500 ms apart (well under
	// the idle advance, 20 s in all), so the kills below fall in the
	// middle of it unless s.chaosAfter.
	prodDone := make(chan error, 1)
	go func() {
		prng := rand.New(rand.NewPCG(s.seed, 0x9a05e))
		prodDone <- produce(events[before:], 40, func() time.Duration { return time.Duration(100+prng.IntN(800)) * time.Millisecond })
	}()
	if s.chaosAfter {
		if err := <-prodDone; err != nil {
			t.Fatalf("schedule %v: producing: %v", s, err)
		}
		prodDone <- nil
	}

	// The chaos: kills at random moments after the instance got its
	// partitions, a second instance joining and leaving, a broker restart,
	// in a random order.
	actions := make([]string, 0, s.kills+2)
	for range s.kills {
		actions = append(actions, "kill")
	}
	if s.rebalance {
		actions = append(actions, "rebalance")
	}
	if s.brokerRestart {
		actions = append(actions, "broker")
	}
	rng.Shuffle(len(actions), func(i, j int) { actions[i], actions[j] = actions[j], actions[i] })
	for _, a := range actions {
		if !main.waitPartitions(90 * time.Second) {
			t.Fatalf("schedule %v: the instance ran no partition within 90s", s)
		}
		time.Sleep(time.Duration(rng.IntN(2500)) * time.Millisecond)
		switch a {
		case "kill":
			main.kill()
			main = startChaosInstance(t, bin, args, logs)
		case "rebalance":
			second := startChaosInstance(t, bin, args, logs)
			second.waitPartitions(60 * time.Second)
			time.Sleep(time.Duration(500+rng.IntN(3000)) * time.Millisecond)
			if rng.IntN(2) == 0 {
				second.kill()
			} else if err := second.stop(); err != nil {
				t.Errorf("schedule %v: second instance after SIGTERM: %v", s, err)
			}
		case "broker":
			testenv.RestartKafka(t, brokers)
		}
	}
	if err := <-prodDone; err != nil {
		t.Fatalf("schedule %v: producing: %v", s, err)
	}
	waitExamples(t, brokers, tp.ex, len(want), 4*time.Minute)
	time.Sleep(2 * time.Second) // a duplicate would arrive now
	if err := main.stop(); err != nil {
		t.Errorf("schedule %v: after SIGTERM: %v", s, err)
	}
	if os.Getenv("WDSTREAM_CHAOS_MAX_STATE_BYTES") != "" && !logs.saw(spillStartLog) {
		t.Errorf("schedule %v: no instance went over WDSTREAM_CHAOS_MAX_STATE_BYTES", s)
	}
	return compareChaos(t, brokers, tp.ex, want)
}

func TestKafkaChaosBrokerRestart(t *testing.T) {
	brokers := testenv.RealKafka(t)
	bin := testenv.Wdstream(t)
	spec := chaosSpec(t)
	schedules, _ := strconv.Atoi(os.Getenv("WDSTREAM_CHAOS_SCHEDULES"))
	if schedules <= 0 {
		schedules = 3
	}
	var soak time.Duration
	if v := os.Getenv("WDSTREAM_CHAOS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("WDSTREAM_CHAOS_DURATION=%q: %v", v, err)
		}
		soak = d
	}
	seed := uint64(time.Now().UnixNano()) % 1_000_000 / 4 * 4 // a run starts with the first kind
	if v := os.Getenv("WDSTREAM_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("WDSTREAM_CHAOS_SEED=%q: %v", v, err)
		}
		seed = n
	}
	start := time.Now()
	runs, failed := 0, 0
	for i := 0; ; i++ {
		if soak > 0 {
			if time.Since(start) >= soak {
				break
			}
		} else if i >= schedules {
			break
		}
		s := newChaosSchedule(seed + uint64(i))
		var r chaosResult
		began := time.Now()
		ok := t.Run(fmt.Sprintf("seed%d", s.seed), func(t *testing.T) {
			r = runChaos(t, brokers, bin, spec, s)
			if !r.ok() {
				t.Errorf("schedule %v: %d missing, %d doubled, %d wrong labels, %d extra, e.g. %v\nreplay: WDSTREAM_CHAOS_SEED=%d WDSTREAM_CHAOS_SCHEDULES=1 go test ./ingest -run TestKafkaChaosBrokerRestart -v",
					s, r.missing, r.doubled, r.wrong, r.extra, head(r.sample), s.seed)
			}
		})
		runs++
		if !ok {
			failed++
		}
		when := "during"
		if s.chaosAfter {
			when = "after"
		}
		t.Logf("chaos-row | %d | %d | %s | %v | %s | %d | %s | %d | %v | %v | %d | %d | %d | %d | %d | %.0f |",
			s.seed, s.parts, s.order, s.skew, s.start, s.impressions, when, s.kills, s.rebalance, s.brokerRestart,
			r.positives, r.missing, r.doubled, r.wrong, r.extra, time.Since(began).Seconds())
	}
	t.Logf("chaos: %d schedules, %d failed, in %v", runs, failed, time.Since(start).Round(time.Second))
}
