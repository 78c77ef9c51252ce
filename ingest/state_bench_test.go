package ingest

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/schemas"
)

// stateMeasure is the heap the join stage's state takes, per impression.
type stateMeasure struct {
	record  float64 // bytes of the message (JSON), on average
	payload float64 // heap bytes of the message as the fetcher allocates it
	index   float64 // heap bytes of everything else the state keeps of a pending impression
	recent  float64 // heap bytes kept of an emitted impression for another window
	// The estimates of the index and of recent by join.Joiner.IndexBytes.
	estIndex, estRecent float64
}

// messages returns n impression messages as the fetcher hands them over
// (one exact-size allocation each, kafka-go's ReadAll), from a simulated
// world, copied with new ids past its size.
func messages(tb testing.TB, n int) [][]byte {
	evs := simEvents(tb, min(n, 200_000))
	var base [][]byte
	for _, e := range evs {
		if e.Impression != nil {
			base = append(base, schemas.AppendImpressionJSON(nil, e.Impression))
		}
	}
	var dec schemas.Decoder
	var imp schemas.Impression
	out := make([][]byte, n)
	for i := range out {
		src := base[i%len(base)]
		if i >= len(base) { // a copy with a new id, as a new message
			if err := dec.Impression(src, &imp); err != nil {
				tb.Fatal(err)
			}
			imp.ImpressionID += "-" + strconv.Itoa(i/len(base))
			src = schemas.AppendImpressionJSON(nil, &imp)
		}
		out[i] = append(make([]byte, 0, len(src)), src...)
	}
	return out
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// measureState measures the join state of n pending impressions, the
// stage's way (messages decoded with ImpressionKey, kept as read), in
// three phases: the n messages are allocated (payload); n impressions are
// added with ts 0..n-1 ms and a window of n ms, the watermark following
// them, so all stay pending (index); n more are added the same way, each
// closing one of the first n, which the joiner then remembers until the
// watermark passes their ts plus two windows (recent: the growth, while
// the pending count stays n). The messages of the second n are allocated
// before the first reading, so only the state's own bytes count.
func measureState(tb testing.TB, n int) stateMeasure {
	var m stateMeasure
	before := heapAlloc()
	raws := messages(tb, 2*n)
	afterMsgs := heapAlloc()
	for _, r := range raws {
		m.record += float64(len(r))
	}
	m.record /= float64(len(raws))
	m.payload = float64(afterMsgs-before) / float64(len(raws))

	st := newBenchState(tb, time.Duration(n)*time.Millisecond)
	var dec schemas.Decoder
	var imp schemas.Impression
	add := func(i int) {
		if err := dec.ImpressionKey(raws[i], &imp); err != nil {
			tb.Fatal(err)
		}
		k := join.Key{ImpressionID: imp.ImpressionID, TS: int64(i), UserID: imp.UserID, AppID: imp.AppID}
		st.add(tb, k, raws[i], int64(i))
	}
	base := heapAlloc()
	for i := range n {
		add(i)
	}
	filled := heapAlloc()
	if got := st.pending(); got != int64(n) {
		tb.Fatalf("pending %d, want %d", got, n)
	}
	m.index = (float64(filled) - float64(base)) / float64(n)
	est := st.indexBytes()
	m.estIndex = float64(est) / float64(n)
	for i := n; i < 2*n; i++ {
		add(i)
	}
	churned := heapAlloc()
	if got := st.pending(); got != int64(n)+1 {
		tb.Fatalf("pending %d after the second fill, want %d", got, n+1)
	}
	m.recent = (float64(churned) - float64(filled)) / float64(n-1)
	m.estRecent = float64(st.indexBytes()-est) / float64(n-1)
	runtime.KeepAlive(raws)
	runtime.KeepAlive(st)
	return m
}

// BenchmarkStateBytes reports the heap bytes of the join stage's state:
// per pending impression its message (payload, and the ratio to the
// message's length) and the rest (index), and per emitted impression what
// is remembered of it for another window (recent).
//
//	go test ./ingest -run '^$' -bench StateBytes -benchtime 1x
func BenchmarkStateBytes(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 400_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var m stateMeasure
			for range b.N {
				m = measureState(b, n)
			}
			b.ReportMetric(m.record, "record-bytes")
			b.ReportMetric(m.payload, "payload-bytes/pending")
			b.ReportMetric(m.payload/m.record, "payload/record")
			b.ReportMetric(m.index, "index-bytes/pending")
			b.ReportMetric(m.recent, "recent-bytes/emitted")
			b.ReportMetric(m.estIndex, "est-index-bytes/pending")
			b.ReportMetric(m.estRecent, "est-recent-bytes/emitted")
		})
	}
}

// benchState is the state as the stage keeps it, without a budget.
type benchState struct {
	st joinState
}

func newBenchState(tb testing.TB, window time.Duration) *benchState {
	j, err := join.New[impPayload](join.Config{Window: window, MaxPending: 1 << 30})
	if err != nil {
		tb.Fatal(err)
	}
	return &benchState{st: newJoinState(j, &stateBudget{}, 0, 1)}
}

func (s *benchState) add(tb testing.TB, k join.Key, raw []byte, off int64) {
	emit := func(r join.Result[impPayload]) error {
		_, err := s.st.take(r.Payload, true)
		return err
	}
	if err := s.st.addImpression(k, raw, off, emit); err != nil {
		tb.Fatal(err)
	}
	if err := s.st.j.Advance(k.TS, emit); err != nil {
		tb.Fatal(err)
	}
	s.st.note(false)
}

func (s *benchState) pending() int64    { return s.st.j.Stats().Pending }
func (s *benchState) indexBytes() int64 { return s.st.j.IndexBytes() }
