package ingest

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/testenv"
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
	evs = nil
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
		raw := src
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
// events/s next to a bare kafka-go consumer (kafka.Reader per partition)
// reading the same topics in the same run (set WDSTREAM_BENCH=1).
func TestKafkaJoinThroughput(t *testing.T) {
	if os.Getenv("WDSTREAM_BENCH") == "" {
		t.Skip("set WDSTREAM_BENCH=1 to run the join throughput benchmark")
	}
	brokers := testenv.RealKafka(t)
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("WDSTREAM_BENCH_IMPRESSIONS")); err == nil && v > 0 {
		n = v
	}
	evs := simEvents(t, n)
	total := int64(len(evs))
	tp := newTopics(t, "tp")
	const parts = 4
	// One install far in the future per partition (an orphan) keeps the
	// installs input non-empty to the end, so that the measurement is the
	// steady state and not the idle_advance wait of a drained input.
	maxTS := int64(0)
	for _, e := range evs {
		if e.Impression != nil {
			maxTS = max(maxTS, e.Impression.TS)
		}
	}
	ep, err := NewEventProducer(context.Background(), brokers, tp.imps, tp.ins, parts)
	if err != nil {
		t.Fatal(err)
	}
	for p, i := 0, 0; p < parts; i++ {
		u := "sentinel-" + strconv.Itoa(i)
		if ep.PartitionOf(u) == p {
			evs = append(evs, simulate.Event{Install: &schemas.Install{TS: maxTS + 24*3600_000, UserID: u, AppID: "none"}})
			p++
		}
	}
	total = int64(len(evs))
	produceEvents(t, brokers, tp.imps, tp.ins, parts, evs)
	evs = nil
	runtime.GC()

	// Bare consumer: one kafka.Reader per topic partition, all at once.
	cpu0 := cpuTime()
	start := time.Now()
	var read int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, topic := range []string{tp.imps, tp.ins} {
		for p := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, end, err := endOffset(context.Background(), newClient(brokers), topic, p)
				if err != nil {
					t.Error(err)
					return
				}
				r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 500 * time.Millisecond})
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
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	bare := time.Since(start)
	bareCPU := cpuTime() - cpu0
	if read != total {
		t.Fatalf("bare consumer read %d, want %d", read, total)
	}

	s, err := NewJoinStage(JoinConfig{Brokers: brokers, Group: tp.group, Impressions: tp.imps, Installs: tp.ins,
		Examples: tp.ex, DeadLetter: tp.dlq, Window: 30 * time.Minute, IdleAdvance: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if f := os.Getenv("WDSTREAM_BENCH_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cpu0 = cpuTime()
	start = time.Now()
	go func() { done <- s.Run(ctx) }()
	var first time.Time
	for {
		st := s.Stats()
		if first.IsZero() && st.Impressions+st.Installs > 0 {
			first = time.Now()
		}
		if st.Impressions+st.Installs == total && st.Examples >= int64(n)-st.Pending-1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	joined := time.Since(start)
	joinCPU := cpuTime() - cpu0
	fromFirst := time.Since(first)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	t.Logf("GOMAXPROCS %d, %d events (%d impressions) in %d partitions", runtime.GOMAXPROCS(0), total, n, parts)
	t.Logf("bare kafka-go Readers: %.0f events/s (%.2fs, %.2f cores busy in this process)", float64(total)/bare.Seconds(), bare.Seconds(), bareCPU.Seconds()/bare.Seconds())
	t.Logf("join stage (merge, join, produce examples zstd acks=all, commit): %.0f events/s (%.2fs incl. group join; %.0f events/s from the first record, %.2fs); %d examples, %d positive",
		float64(total)/joined.Seconds(), joined.Seconds(), float64(total)/fromFirst.Seconds(), fromFirst.Seconds(), st.Examples, st.Positives)
	t.Logf("join stage: %.2f cores busy in this process; %d commits, flushes by records/bytes/time/idle %d/%d/%d/%d",
		joinCPU.Seconds()/joined.Seconds(), st.Commits, st.FlushRecords, st.FlushBytes, st.FlushTime, st.FlushIdle)
	t.Logf("ratio join/bare: %.2f (from the first record: %.2f)", bare.Seconds()/joined.Seconds(), bare.Seconds()/fromFirst.Seconds())
}
