package ingest

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	kg "github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/simulate"
)

// pendingState fills a joiner the way the stage does (raw message bytes
// as the payload, the key fields decoded) with n simulated impressions
// that all stay pending, and returns it with the heap growth.
func pendingState(tb testing.TB, n int) (*join.Joiner[impPayload], uint64) {
	evs := simEvents(tb, min(n, 200_000))
	var raws [][]byte
	for _, e := range evs {
		if e.Impression != nil {
			raws = append(raws, schemas.AppendImpressionJSON(nil, e.Impression))
		}
	}
	evs = nil //nolint:ineffassign // dropped before runtime.GC, so the measure leaves it out
	var dec schemas.Decoder
	var imp schemas.Impression
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	j, err := join.New[impPayload](join.Config{Window: 1000 * time.Hour, MaxPending: n})
	if err != nil {
		tb.Fatal(err)
	}
	emit := func(join.Result[impPayload]) error { return nil }
	for i := range n {
		src := raws[i%len(raws)]
		var raw []byte
		if i >= len(raws) { // a copy with a new id, as a new message
			if err := dec.Impression(src, &imp); err != nil {
				tb.Fatal(err)
			}
			imp.ImpressionID += "-" + strconv.Itoa(i/len(raws))
			raw = schemas.AppendImpressionJSON(nil, &imp)
		} else {
			raw = append([]byte(nil), src...) // each message has its own bytes
		}
		if err := dec.Impression(raw, &imp); err != nil {
			tb.Fatal(err)
		}
		k := join.Key{ImpressionID: imp.ImpressionID, TS: imp.TS, UserID: imp.UserID, AppID: imp.AppID}
		if err := j.AddImpression(k, impPayload{raw: raw, off: int64(i)}, int64(i), emit); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(raws) // the source copies are in both readings
	if got := j.Stats().Pending; got != int64(n) {
		tb.Fatalf("pending %d, want %d", got, n)
	}
	return j, after.HeapAlloc - before.HeapAlloc
}

// BenchmarkPendingBytes reports the heap bytes per pending impression of
// the join stage's state, for simulated impressions.
func BenchmarkPendingBytes(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var per float64
			for range b.N {
				j, grown := pendingState(b, n)
				per = float64(grown) / float64(n)
				runtime.KeepAlive(j)
			}
			b.ReportMetric(per, "bytes/pending")
		})
	}
}

// TestPendingMillionRSS measures the resident memory of the process with
// one million pending impressions (set WDSTREAM_BENCH=1).
func TestPendingMillionRSS(t *testing.T) {
	if os.Getenv("WDSTREAM_BENCH") == "" {
		t.Skip("set WDSTREAM_BENCH=1 to measure the resident memory with 1M pending impressions")
	}
	base := rssBytes(t)
	j, grown := pendingState(t, 1_000_000)
	debug.FreeOSMemory()
	rss := rssBytes(t)
	t.Logf("1,000,000 pending impressions: heap %.0f MiB (%.0f bytes each), process RSS %.0f MiB (%.0f MiB before)",
		float64(grown)/(1<<20), float64(grown)/1e6, float64(rss)/(1<<20), float64(base)/(1<<20))
	runtime.KeepAlive(j)
}

// cpuTime returns the CPU time (user and system) of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rssBytes(t testing.TB) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestKafkaJoinThroughput measures, on the real broker, the join stage's
// events/s next to a bare kafka-go consumer (kg.Reader per partition)
// reading the same topics in the same run (set WDSTREAM_BENCH=1).
func TestKafkaJoinThroughput(t *testing.T) {
	if os.Getenv("WDSTREAM_BENCH") == "" {
		t.Skip("set WDSTREAM_BENCH=1 to run the join throughput benchmark")
	}
	brokers := testenv.RealKafka(t)
	n := 1_000_000 // large enough that the group join (about 1 s) barely counts
	if v, err := strconv.Atoi(os.Getenv("WDSTREAM_BENCH_IMPRESSIONS")); err == nil && v > 0 {
		n = v
	}
	evs := simEvents(t, n)
	var total int64
	tp := newTopics(t, brokers, "tp")
	const parts = 4
	// Per partition, one impression and one install a day after the last
	// simulated event (the install an orphan, the impression left pending)
	// end both inputs: every simulated event is merged without waiting for
	// a drained input to count as quiet (IdleAdvance), and merging the
	// sentinel impression moves the watermark past every simulated
	// impression's label window. The join phase ends when every simulated
	// impression's example is acknowledged, so it measures the steady
	// state and not the end-of-input wait. (The sentinel install alone, as
	// before, left the last installs waiting IdleAdvance for the drained
	// impressions input: 2 s of the 4-5 s measured.)
	maxTS := int64(0)
	for _, e := range evs {
		if e.Impression != nil {
			maxTS = max(maxTS, e.Impression.TS)
		}
	}
	ep, err := NewEventProducer(context.Background(), brokers, kafka.Auth{}, tp.imps, tp.ins, parts)
	if err != nil {
		t.Fatal(err)
	}
	for p, i := 0, 0; p < parts; i++ {
		u := "sentinel-" + strconv.Itoa(i)
		if ep.PartitionOf(u) == p {
			ts := maxTS + 24*3600_000
			evs = append(evs,
				simulate.Event{Impression: &schemas.Impression{ImpressionID: u, TS: ts, UserID: u, AppID: "none"}},
				simulate.Event{Install: &schemas.Install{TS: ts, UserID: u, AppID: "none"}})
			p++
		}
	}
	total = int64(len(evs))
	produceEvents(t, brokers, tp.imps, tp.ins, parts, evs)
	evs = nil //nolint:ineffassign // dropped before runtime.GC, so the measure leaves it out
	runtime.GC()

	// Bare consumer: one kg.Reader per topic partition, all at once.
	meter := startCPUMeter()
	start := time.Now()
	var read int64
	var bareFirst, bareLast time.Time // the first and the last record read
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, topic := range []string{tp.imps, tp.ins} {
		for p := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, end, err := kafka.NewClient(brokers, kafka.Auth{}).PartitionOffsets(context.Background(), topic, p)
				if err != nil {
					t.Error(err)
					return
				}
				r := kg.NewReader(kg.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 500 * time.Millisecond})
				defer r.Close()
				k := int64(0)
				for k < end {
					m, err := r.ReadMessage(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					k = m.Offset + 1
					mu.Lock()
					read++
					bareLast = time.Now()
					if bareFirst.IsZero() {
						bareFirst = bareLast
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	closed := time.Now()
	bareCPU := meter.report(read)
	// Up to the last record read (not the readers' Close), the bare rate at
	// its best.
	bare, bareFromFirst := bareLast.Sub(start), bareLast.Sub(bareFirst)
	if read != total {
		t.Fatalf("bare consumer read %d, want %d", read, total)
	}

	cfg := JoinConfig{Brokers: brokers, Group: tp.group, Impressions: tp.imps, Installs: tp.ins,
		Examples: tp.ex, DeadLetter: tp.dlq, Window: 30 * time.Minute, IdleAdvance: 2 * time.Second}
	if v := os.Getenv("WDSTREAM_BENCH_COMPRESSION"); v != "" {
		if err := cfg.Compression.UnmarshalText([]byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewJoinStage(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stopProfile := record(t, "WDSTREAM_BENCH_CPUPROFILE", pprof.StartCPUProfile, pprof.StopCPUProfile)
	stopTrace := record(t, "WDSTREAM_BENCH_TRACE", trace.Start, trace.Stop)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	meter = startCPUMeter()
	start = time.Now()
	go func() { done <- s.Run(ctx) }()
	var first time.Time
	var merged int64
	var joinCPU string
	heapTaken := false
	for {
		st := s.Stats()
		if first.IsZero() && st.Impressions+st.Installs > 0 {
			first = time.Now()
		}
		if !heapTaken && st.Examples >= int64(n)/2 {
			heapTaken = true
			writeHeapProfile(t, os.Getenv("WDSTREAM_BENCH_HEAPPROFILE"))
		}
		if st.Examples >= int64(n) {
			merged = st.Impressions + st.Installs
			joinCPU = meter.report(merged)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	joined := time.Since(start)
	fromFirst := time.Since(first)
	stopTrace()
	stopProfile()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	bareRate, bareFirstRate := float64(read)/bare.Seconds(), float64(read)/bareFromFirst.Seconds()
	joinRate, firstRate := float64(merged)/joined.Seconds(), float64(merged)/fromFirst.Seconds()
	t.Logf("GOMAXPROCS %d, %d events (%d impressions) in %d partitions", runtime.GOMAXPROCS(0), total, n, parts)
	t.Logf("bare kafka-go Readers: %.0f events/s (%.2fs incl. dialing; %.0f events/s from the first record, %.2fs; closing the readers took %.2fs more); %s",
		bareRate, bare.Seconds(), bareFirstRate, bareFromFirst.Seconds(), closed.Sub(bareLast).Seconds(), bareCPU)
	t.Logf("join stage (merge, join, produce examples %v acks=all, commit): %.0f events/s (%d events merged in %.2fs incl. group join; %.0f events/s from the first record, %.2fs); %d examples, %d positive",
		s.cfg.Compression, joinRate, merged, joined.Seconds(), firstRate, fromFirst.Seconds(), st.Examples, st.Positives)
	t.Logf("join stage: %s; %d commits, flushes by records/bytes/time/idle %d/%d/%d/%d",
		joinCPU, st.Commits, st.FlushRecords, st.FlushBytes, st.FlushTime, st.FlushIdle)
	t.Logf("ratio join/bare: %.2f (from the first record of each: %.2f)", joinRate/bareRate, firstRate/bareFirstRate)
}

// writeHeapProfile writes the heap profile (as of the last GC) to file,
// when it is set: WDSTREAM_BENCH_HEAPPROFILE takes it half way through the
// join phase, `go tool pprof -sample_index=inuse_space -top FILE`.
func writeHeapProfile(t *testing.T, file string) {
	if file == "" {
		return
	}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Error(err)
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}
}

// record starts a recording (CPU profile, execution trace) into the file
// named by the environment variable env, when it is set, and returns what
// stops it (a no-op when it is not).
func record(t *testing.T, env string, start func(io.Writer) error, stop func()) func() {
	f := os.Getenv(env)
	if f == "" {
		return func() {}
	}
	out, err := os.Create(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := start(out); err != nil {
		out.Close()
		t.Fatal(err)
	}
	return func() {
		stop()
		if err := out.Close(); err != nil {
			t.Error(err)
		}
	}
}

// cpuMeter measures, over a phase of the benchmark, the CPU time of this
// process, of the broker when its pid is known (the services of
// scripts/services.sh: WDSTREAM_SERVICES_DIR/kafka/pid) and of the whole
// machine (/proc/stat), so that a figure shows how busy the machine was.
type cpuMeter struct {
	start               time.Time
	proc, broker        time.Duration
	machBusy, machTotal int64
	brokerPid           string
}

func startCPUMeter() *cpuMeter {
	m := &cpuMeter{start: time.Now(), proc: cpuTime(), brokerPid: brokerPid()}
	m.broker = pidCPU(m.brokerPid)
	m.machBusy, m.machTotal = machineCPU()
	return m
}

// brokerPid returns the pid of the broker of scripts/services.sh
// (WDSTREAM_SERVICES_DIR/kafka/pid), or "" when it is not known.
func brokerPid() string {
	dir := os.Getenv("WDSTREAM_SERVICES_DIR")
	if dir == "" {
		return ""
	}
	raw, err := os.ReadFile(dir + "/kafka/pid")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(raw))
}

// report describes the phase since start in which events were handled.
func (m *cpuMeter) report(events int64) string {
	wall := time.Since(m.start).Seconds()
	proc := (cpuTime() - m.proc).Seconds()
	out := fmt.Sprintf("this process %.2f cores busy (%.2f µs CPU per event)", proc/wall, proc*1e6/float64(events))
	if m.brokerPid != "" {
		b := (pidCPU(m.brokerPid) - m.broker).Seconds()
		out += fmt.Sprintf(", the broker %.2f cores (%.2f µs per event)", b/wall, b*1e6/float64(events))
	}
	if busy, total := machineCPU(); total > m.machTotal {
		out += fmt.Sprintf(", the machine %.2f of %d cores", float64(runtime.NumCPU())*float64(busy-m.machBusy)/float64(total-m.machTotal), runtime.NumCPU())
	}
	return out
}

// machineCPU returns the busy and total CPU time of the machine (every
// process) in clock ticks from /proc/stat, zeros without it.
func machineCPU() (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// pidCPU returns the user and system CPU time of process pid from
// /proc/PID/stat (clock ticks of 1/100 s, Linux's USER_HZ), zero when it
// cannot be read.
func pidCPU(pid string) time.Duration {
	if pid == "" {
		return 0
	}
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
	k, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
	return time.Duration(u+k) * 10 * time.Millisecond
}
