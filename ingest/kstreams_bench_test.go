package ingest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/simulate"
)

// The Kafka Streams reference (bench/reference/kstreams) re-keys both
// inputs by user_id|app_id into these repartition topics (its Keys and
// LabelTopology).
const (
	ksImpRepartition = "-impressions-by-user-app-repartition"
	ksInsRepartition = "-installs-by-user-app-repartition"
)

// ksConfig is the reference run's setting, from the environment.
type ksConfig struct {
	jar      string
	grace    time.Duration // the join's grace (--grace)
	args     []string      // more flags for the jar (WDSTREAM_KSTREAMS_ARGS)
	javaOpts []string      // JVM flags (WDSTREAM_KSTREAMS_JAVA_OPTS)
	timeout  time.Duration // how long to wait for an example per impression
}

func ksConfigFromEnv(t *testing.T) ksConfig {
	c := ksConfig{jar: os.Getenv("WDSTREAM_KSTREAMS_JAR"), grace: 25 * time.Hour, timeout: 15 * time.Minute}
	if v := os.Getenv("WDSTREAM_KSTREAMS_GRACE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("WDSTREAM_KSTREAMS_GRACE: %v", err)
		}
		c.grace = d
	}
	if v := os.Getenv("WDSTREAM_KSTREAMS_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("WDSTREAM_KSTREAMS_TIMEOUT: %v", err)
		}
		c.timeout = d
	}
	c.args = strings.Fields(os.Getenv("WDSTREAM_KSTREAMS_ARGS"))
	c.javaOpts = strings.Fields(os.Getenv("WDSTREAM_KSTREAMS_JAVA_OPTS"))
	return c
}

// TestKafkaJoinVsKafkaStreams compares wdstream's join with the same
// labeling join written with Kafka Streams (issue 17), on the real broker,
// on one event set produced once into fresh topics (set WDSTREAM_BENCH=1
// and WDSTREAM_KSTREAMS_JAR; bash bench/join-kstreams.sh builds the jar and
// runs it). Each join runs as a process of its own over the same input
// topics, with its own output topic: first the reference (java -jar), then
// `wdstream run --stages join`, then wdstream again with join.max_state_bytes
// a tenth of the peak join state of its first run (its own output topic;
// WDSTREAM_BENCH_BUDGET=off skips it). Each phase ends when every simulated
// impression has an example in its output topic (or, for the reference,
// at WDSTREAM_KSTREAMS_TIMEOUT). For both it reports events/s, CPU per
// event of the process and of the broker, the peak RSS (VmHWM) of the
// process and every impression's label and install_ts against the offline
// join (join.Offline): missing, doubled and wrong.
//
// The end of the input: Kafka Streams closes a window, and emits a left
// join's null-joined result, only when a later record advances the
// stream time of its task, and at most once a second (its emit interval).
// Stream time is per task, and the join's tasks read repartition topics
// that the re-keying tasks of the four input partitions write at their own
// pace: one event a day after the data in each input partition, as
// TestKafkaJoinThroughput ends its input, would reach a join task while
// other input partitions are still being re-keyed and make their last
// records late. So the reference reads the simulated events alone, and
// only once the repartition topics hold every one of them does this test
// produce "ticks": rounds of one impression and one install (ts past
// every simulated window plus the grace), every 250 ms, whose keys reach
// every partition of the inputs and of the repartition topics. wdstream reads them after the
// simulated events too; they close its last windows as its own sentinel
// would.
func TestKafkaJoinVsKafkaStreams(t *testing.T) {
	if os.Getenv("WDSTREAM_BENCH") == "" {
		t.Skip("set WDSTREAM_BENCH=1 to run the Kafka Streams comparison")
	}
	cfg := ksConfigFromEnv(t)
	if cfg.jar == "" {
		t.Skip("set WDSTREAM_KSTREAMS_JAR to the reference's jar (bash bench/join-kstreams.sh builds it)")
	}
	brokers := testenv.RealKafka(t)
	bin := testenv.Wdstream(t)
	spec := fastSpec(t)
	const parts = 4
	const window = 30 * time.Minute // configs/playstore.yaml's join.label_window
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("WDSTREAM_BENCH_IMPRESSIONS")); err == nil && v > 0 {
		n = v
	}

	evs := simEvents(t, n)
	o := newOracle(t, evs, window)
	t.Logf("%d events (%d impressions, %d installs: %d without impression_id) in %d partitions; offline join: %d positives; installs matched %d, duplicate %d, late %d, orphan %d, out of window %d",
		len(evs), o.impressions, o.installs, o.unattributed, parts, o.stats.Positives, o.stats.Matched, o.stats.Duplicates, o.stats.Late, o.stats.Orphans, o.stats.OutOfWindow)
	tp := newTopics(t, brokers, "kv")
	ksOut := testenv.UniqueName(t, "exks")
	deleteAtEnd(t, brokers, ksOut)
	produceEvents(t, brokers, tp.imps, tp.ins, parts, evs)
	evs = nil //nolint:ineffassign // the oracle keeps what the comparison needs
	ctx := context.Background()
	c := kafka.NewClient(brokers, kafka.Auth{})
	// Kafka Streams stamps its output with the event time (2024 in the
	// simulation): without retention.ms -1, the broker's retention (7 days,
	// checked every second here) would delete it as it comes.
	if err := c.CreateTopic(ctx, kafka.TopicSpec{Name: ksOut, Partitions: parts, Configs: map[string]string{"retention.ms": "-1"}}); err != nil {
		t.Fatal(err)
	}
	ep, err := NewEventProducer(ctx, brokers, kafka.Auth{}, tp.imps, tp.ins, parts)
	if err != nil {
		t.Fatal(err)
	}
	ticks := &ticker{ep: ep, parts: parts}
	ticks.ts.Store(o.maxTS + (window + cfg.grace).Milliseconds() + 1)
	events := int64(o.impressions + o.installs)

	ks := runKafkaStreams(t, brokers, cfg, tp, ksOut, window, o, ticks)
	ks.events = events
	ks.check = o.compare(t, brokers, ksOut)

	wd := runWdstreamJoin(t, bin, spec, brokers, tp, o, "wdstream")
	wd.events = events
	wd.check = o.compare(t, brokers, tp.ex)
	wd.check.mustBeExact(t, wd.name)
	phases := []*phaseResult{wd, ks}

	// wdstream again, with join.max_state_bytes a tenth of the peak state
	// of its first run (WDSTREAM_BENCH_BUDGET=off skips it), into an
	// examples topic of its own.
	if os.Getenv("WDSTREAM_BENCH_BUDGET") != "off" {
		if wd.peakState <= 0 {
			t.Fatal("wdstream: no join state in its metrics to take a tenth of")
		}
		budget := wd.peakState / 10
		tb := tp
		tb.ex, tb.dlq, tb.group = testenv.UniqueName(t, "exkvb"), testenv.UniqueName(t, "dlqkvb"), testenv.UniqueName(t, "gkvb")
		deleteAtEnd(t, brokers, tb.ex, tb.dlq)
		wb := runWdstreamJoin(t, bin, budgetSpec(t, spec, budget), brokers, tb, o,
			fmt.Sprintf("wdstream, join.max_state_bytes %s (a tenth of its peak state)", mib(budget)))
		wb.events = events
		wb.check = o.compare(t, brokers, tb.ex)
		wb.check.mustBeExact(t, wb.name)
		if wb.spilled == 0 {
			t.Errorf("%s: nothing spilled", wb.name)
		}
		phases = append(phases, wb)
	}

	for _, r := range phases {
		t.Logf("%s: %s", r.name, r.detail())
	}
	fmt.Printf("\n%d impressions, %d events in %d partitions, label window %v; Kafka Streams: grace %v %s\n\n",
		o.impressions, events, parts, window, cfg.grace, strings.Join(cfg.args, " "))
	fmt.Println(tableHeader)
	for _, r := range phases {
		fmt.Println(r.row())
	}
	fmt.Printf("\nwdstream / Kafka Streams, events per CPU-second: %.2fx (the process), %.2fx (the process and the broker)\n",
		wd.perCPU(false)/ks.perCPU(false), wd.perCPU(true)/ks.perCPU(true))
	if len(phases) > 2 {
		wb := phases[2]
		fmt.Printf("wdstream within its budget / Kafka Streams, events per CPU-second: %.2fx (the process), %.2fx (the process and the broker); %d messages spilled\n",
			wb.perCPU(false)/ks.perCPU(false), wb.perCPU(true)/ks.perCPU(true), wb.spilled)
	}
}

// ticker produces the end-of-input rounds (see TestKafkaJoinVsKafkaStreams).
type ticker struct {
	ep     *EventProducer
	parts  int
	ts     atomic.Int64 // event time of the next round
	rounds int
	events int
}

// round produces one round of ticks at event time ts: impressions (ids
// tick-ROUND-J, users tick-user-ROUND-J, app "none") and an install of the
// same user and app without impression_id for each, so that the ticks'
// user_id reaches every input partition and their user_id|app_id every
// partition of the reference's join. Each round has its own users:
// the reference would pair an install with the ticks of every earlier
// round of its user (same key, same ts), a number of results growing with
// the square of the rounds.
func (tk *ticker) round(ctx context.Context, ts int64) error {
	tk.rounds++
	m := kafka.NewMurmur2(tk.parts)
	in, jn := make([]bool, tk.parts), make([]bool, tk.parts)
	left := 2 * tk.parts
	for j := 0; left > 0; j++ {
		suffix := strconv.Itoa(tk.rounds) + "-" + strconv.Itoa(j)
		u, id := "tick-user-"+suffix, "tick-"+suffix
		a, b := tk.ep.PartitionOf(u), m.Partition([]byte(u+"|none"))
		if in[a] && jn[b] {
			continue
		}
		for _, cov := range []struct {
			s []bool
			p int
		}{{in, a}, {jn, b}} {
			if !cov.s[cov.p] {
				cov.s[cov.p] = true
				left--
			}
		}
		tk.ep.Impression(&schemas.Impression{ImpressionID: id, TS: ts, UserID: u, AppID: "none"})
		tk.ep.Install(&schemas.Install{TS: ts, UserID: u, AppID: "none"})
		tk.events += 2
	}
	return tk.ep.Flush(ctx)
}

// run produces a round every 250 ms until ctx is done; a round that
// fails is logged, and the next one tried.
func (tk *ticker) run(ctx context.Context, t *testing.T) {
	for {
		if err := tk.round(ctx, tk.ts.Load()); err != nil && ctx.Err() == nil {
			t.Logf("producing ticks: %v", err)
		}
		if !sleepCtx(ctx, 250*time.Millisecond) {
			return
		}
	}
}

// runKafkaStreams runs the reference over the input topics into out.
func runKafkaStreams(t *testing.T, brokers []string, cfg ksConfig, tp topics, out string, window time.Duration, o *oracle, tk *ticker) *phaseResult {
	appID := testenv.UniqueName(t, "ks")
	t.Cleanup(func() { deleteInternalTopics(t, brokers, appID) })
	args := append(append([]string(nil), cfg.javaOpts...), "-jar", cfg.jar,
		"--bootstrap-servers", strings.Join(brokers, ","), "--application-id", appID,
		"--impressions", tp.imps, "--installs", tp.ins, "--examples", out,
		"--window", window.String(), "--grace", cfg.grace.String(),
		"--state-dir", filepath.Join(t.TempDir(), "state"))
	args = append(args, cfg.args...)
	r := &phaseResult{name: "Kafka Streams"}
	cmd := exec.Command("java", args...)
	// Kafka's own log (warnings and errors) goes to a file that outlives
	// the test, named in the test's log.
	logf, err := os.CreateTemp("", appID+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	t.Logf("Kafka Streams: application.id %s, log in %s", appID, logf.Name())
	stderr := &tailBuffer{}
	cmd.Stderr = io.MultiWriter(stderr, logf)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // r's fields that the reader below sets
	m := startPhase()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	samples := startSampler(kafka.NewClient(brokers, kafka.Auth{}), out, pid, m.brokerPid)
	exited := make(chan struct{})
	go func() { // the reference's version, state changes and metrics at exit
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			switch {
			case line == "state RUNNING" && r.readyAt.IsZero():
				r.readyAt, r.readyCPU = time.Now(), procCPU(pid)
			case strings.HasPrefix(line, "version "):
				r.name = "Kafka Streams " + strings.TrimPrefix(line, "version ")
			case strings.HasPrefix(line, "java "):
				r.notes = append(r.notes, "Java "+strings.TrimPrefix(line, "java "))
			case strings.HasPrefix(line, "metrics "):
				r.notes = append(r.notes, "Kafka Streams' "+strings.TrimPrefix(line, "metrics "))
			}
			mu.Unlock()
		}
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = cmd.Wait()
	}
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	c := kafka.NewClient(brokers, kafka.Auth{})
	// Once the re-keying is done, the ticks (see TestKafkaJoinVsKafkaStreams).
	for !recordsAtLeast(ctx, c, appID+ksImpRepartition, int64(o.impressions)) ||
		!recordsAtLeast(ctx, c, appID+ksInsRepartition, int64(o.keyedInstalls)) {
		if !sleepCtx(ctx, 100*time.Millisecond) || processGone(exited) {
			t.Fatalf("Kafka Streams did not re-key the inputs (%v)\n%s", ctx.Err(), stderr)
		}
	}
	rekeyed := time.Now()
	t.Logf("Kafka Streams: repartition topics complete after %.2fs; ticks at ts %d", rekeyed.Sub(m.start).Seconds(), tk.ts.Load())
	tctx, stopTicks := context.WithCancel(ctx)
	tickDone := make(chan struct{})
	go func() { defer close(tickDone); tk.run(tctx, t) }()
	defer func() { stopTicks(); <-tickDone }()
	w := newIDWatcher(c, out, o, exampleID)
	w.logf = t.Logf
	timedOut := !w.waitAll(ctx, exited)
	if timedOut {
		t.Logf("Kafka Streams: %d of %d impressions have an example after %v", w.found, len(o.want), cfg.timeout)
	}
	last, _ := samples.first(w.need)
	mu.Lock()
	m.end(r, last)
	mu.Unlock()
	stopTicks()
	<-tickDone
	stop()
	mu.Lock()
	defer mu.Unlock()
	r.timedOut = timedOut
	r.notes = append(r.notes, fmt.Sprintf("repartition topics complete %.2fs after the start; %d tick rounds (%d events)", rekeyed.Sub(m.start).Seconds(), tk.rounds, tk.events))
	// SIGTERM ends the JVM with 143 (128 + 15) after its shutdown hook.
	if ps := cmd.ProcessState; ps != nil && !ps.Success() && ps.ExitCode() != 143 {
		t.Logf("Kafka Streams exited with %v\n%s", cmd.ProcessState, stderr)
	}
	return r
}

// runWdstreamJoin runs `wdstream run --stages join` over the input topics
// into tp.ex.
func runWdstreamJoin(t *testing.T, bin, spec string, brokers []string, tp topics, o *oracle, name string) *phaseResult {
	r := &phaseResult{name: name}
	m := startPhase()
	addr := freeAddr(t)
	cmd := startRun(t, bin, append(tp.runArgs(brokers, spec), "--http", addr))
	samples := startSampler(kafka.NewClient(brokers, kafka.Auth{}), tp.ex, cmd.Process.Pid, m.brokerPid)
	samples.metricsURL("http://" + addr + "/metrics")
	r.readyAt, r.readyCPU = m.start, 0
	w := newIDWatcher(kafka.NewClient(brokers, kafka.Auth{}), tp.ex, o, exampleID)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if !w.waitAll(ctx, nil) {
		r.timedOut = true
		t.Errorf("wdstream: %d of %d impressions have an example after 15m", w.found, len(o.want))
	}
	last, _ := samples.first(w.need)
	m.end(r, last)
	r.peakState, r.spilled = samples.joinState()
	r.notes = append(r.notes, fmt.Sprintf("join state at most %s, %d messages spilled", mib(r.peakState), r.spilled))
	stopRun(t, cmd)
	return r
}

// budgetSpec writes a copy of spec with join.max_state_bytes set to budget
// bytes and the spill in a temp dir.
func budgetSpec(t *testing.T, spec string, budget int64) string {
	t.Helper()
	raw, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	const mp = "max_pending: 2000000\n"
	s := string(raw)
	if !strings.Contains(s, mp) {
		t.Fatalf("%s has no %q to follow", spec, mp)
	}
	s = strings.Replace(s, mp, mp+"  max_state_bytes: "+strconv.FormatInt(budget, 10)+"\n  spill_dir: "+t.TempDir()+"\n", 1)
	p := filepath.Join(t.TempDir(), "budget.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mib formats n bytes in MiB, or KiB when under 1 MiB.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// deleteInternalTopics deletes the repartition and changelog topics of the
// Kafka Streams application appID (at the test's end: t.Context, which
// testenv.Topics uses, is done by then).
func deleteInternalTopics(t *testing.T, brokers []string, appID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := kafka.NewClient(brokers, kafka.Auth{})
	all, err := c.PartitionCounts(ctx) // no topic named: every topic
	if err != nil {
		t.Logf("listing the internal topics of %s: %v", appID, err)
		return
	}
	var mine []string
	for name := range all {
		if strings.HasPrefix(name, appID+"-") {
			mine = append(mine, name)
		}
	}
	if len(mine) == 0 {
		return
	}
	if err := c.DeleteTopics(ctx, mine...); err != nil {
		t.Logf("internal topics %v left behind: %v", mine, err)
	}
}

// oracle is the offline join's answer for every simulated impression.
type oracle struct {
	want                                 map[string]oracleLabel
	stats                                join.Stats
	impressions, installs, keyedInstalls int
	unattributed                         int
	maxTS                                int64
	unattributedAt                       map[[2]string][]int64 // (user, app) -> ts of installs without impression_id
	attributedAt                         map[[2]string][]idAt  // (user, app) -> installs with impression_id
	userApp                              map[string][2]string  // impression id -> (user, app)
	impTS                                map[string]int64
}

type idAt struct {
	ts int64
	id string
}

type oracleLabel struct {
	label     int32
	installTS int64
}

func newOracle(t *testing.T, evs []simulate.Event, window time.Duration) *oracle {
	o := &oracle{want: map[string]oracleLabel{}, unattributedAt: map[[2]string][]int64{}, attributedAt: map[[2]string][]idAt{},
		userApp: map[string][2]string{}, impTS: map[string]int64{}}
	var imps []schemas.Impression
	var ins []schemas.Install
	for _, e := range evs {
		if e.Impression != nil {
			imps = append(imps, *e.Impression)
			o.maxTS = max(o.maxTS, e.Impression.TS)
			o.userApp[e.Impression.ImpressionID] = [2]string{e.Impression.UserID, e.Impression.AppID}
			o.impTS[e.Impression.ImpressionID] = e.Impression.TS
			continue
		}
		in := e.Install
		ins = append(ins, *in)
		if in.UserID != "" && in.AppID != "" {
			o.keyedInstalls++
		}
		k := [2]string{in.UserID, in.AppID}
		if in.ImpressionID == "" {
			o.unattributed++
			o.unattributedAt[k] = append(o.unattributedAt[k], in.TS)
		} else {
			o.attributedAt[k] = append(o.attributedAt[k], idAt{in.TS, in.ImpressionID})
		}
	}
	o.impressions, o.installs = len(imps), len(ins)
	exs, st, err := join.Offline(imps, ins, window)
	if err != nil {
		t.Fatal(err)
	}
	o.stats = st
	for _, ex := range exs {
		o.want[ex.ImpressionID] = oracleLabel{ex.Label, ex.InstallTS}
	}
	if len(o.want) != len(imps) {
		t.Fatalf("offline join: %d examples for %d impressions", len(o.want), len(imps))
	}
	return o
}

// labelCheck compares an examples topic with the offline join, impression
// by impression (ticks and other ids left out).
type labelCheck struct {
	records, impressions    int // records of simulated impressions; impressions with one at least
	missing, doubled, wrong int // wrong: an impression with a record whose label is not the offline one
	installTS               int // impressions with the right label but another install_ts on a record
	falsePos, falseNeg      int // wrong ones: a label 1 where the offline join says 0; no label 1 where it says 1
	fpUnattributed          int // false positives with an install without impression_id of their user and app in their window
	zeroOther               int // impressions with a label 0 record, offline 1, and an install naming another impression of their user and app in their window
	dupKinds                map[string]int
	positives               int // impressions with a record of label 1
}

// mustBeExact fails t unless every impression has exactly the offline
// join's example: wdstream's labels must be exact (the reference's are
// reported, not required).
func (c labelCheck) mustBeExact(t *testing.T, name string) {
	t.Helper()
	if c.missing+c.doubled+c.wrong+c.installTS > 0 || c.records != c.impressions {
		t.Errorf("%s: %d missing, %d doubled, %d wrong labels, %d other install_ts (%d records for %d impressions), want every impression's example as the offline join's",
			name, c.missing, c.doubled, c.wrong, c.installTS, c.records, c.impressions)
	}
}

func (o *oracle) compare(t *testing.T, brokers []string, topic string) labelCheck {
	t.Helper()
	var dec schemas.Decoder
	var ex schemas.Example
	got := map[string][]oracleLabel{}
	r := labelCheck{dupKinds: map[string]int{}}
	for p, ms := range readTopic(t, brokers, topic) {
		for _, m := range ms {
			if err := dec.Example(m.Value, &ex); err != nil {
				t.Fatalf("%s %d at %d: %v", topic, p, m.Offset, err)
			}
			if _, ok := o.want[ex.ImpressionID]; ok {
				got[ex.ImpressionID] = append(got[ex.ImpressionID], oracleLabel{ex.Label, ex.InstallTS})
				r.records++
			}
		}
	}
	for id, w := range o.want {
		g := got[id]
		if len(g) == 0 {
			r.missing++
			continue
		}
		r.impressions++
		if len(g) > 1 {
			r.doubled++
			kind := ""
			for _, l := range g {
				kind += strconv.Itoa(int(l.label))
			}
			r.dupKinds[sortedDigits(kind)]++
		}
		wrongLabel, wrongTS, pos := false, false, false
		for _, l := range g {
			pos = pos || l.label == 1
			switch {
			case l.label != w.label:
				wrongLabel = true
			case l.installTS != w.installTS:
				wrongTS = true
			}
		}
		if pos {
			r.positives++
		}
		switch {
		case wrongLabel:
			r.wrong++
			if pos && w.label == 0 {
				r.falsePos++
				if o.unattributedInWindow(id) {
					r.fpUnattributed++
				}
			}
			if !pos && w.label == 1 {
				r.falseNeg++
			}
			if w.label == 1 && o.otherInWindow(id) {
				for _, l := range g {
					if l.label == 0 {
						r.zeroOther++
						break
					}
				}
			}
		case wrongTS:
			r.installTS++
		}
	}
	return r
}

// unattributedInWindow reports whether an install without impression_id of
// the impression's user and app falls in its window (30 minutes).
func (o *oracle) unattributedInWindow(id string) bool {
	ts := o.impTS[id]
	for _, its := range o.unattributedAt[o.userApp[id]] {
		if its >= ts && its <= ts+30*60_000 {
			return true
		}
	}
	return false
}

// otherInWindow reports whether an install naming another impression of
// the impression's user and app falls in its window (30 minutes).
func (o *oracle) otherInWindow(id string) bool {
	ts := o.impTS[id]
	for _, in := range o.attributedAt[o.userApp[id]] {
		if in.id != id && in.ts >= ts && in.ts <= ts+30*60_000 {
			return true
		}
	}
	return false
}

func sortedDigits(s string) string {
	b := []byte(s)
	for i := range b {
		for j := i + 1; j < len(b); j++ {
			if b[j] < b[i] {
				b[i], b[j] = b[j], b[i]
			}
		}
	}
	return strings.Join(strings.Split(string(b), ""), "+")
}
