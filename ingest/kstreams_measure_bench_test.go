package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
)

// phaseResult is what one join process did in TestKafkaJoinVsKafkaStreams.
type phaseResult struct {
	name     string
	events   int64 // simulated events in the input (ticks left out)
	start    time.Time
	readyAt  time.Time     // Kafka Streams: state RUNNING; wdstream: the start
	readyCPU time.Duration // the process's CPU at readyAt
	doneAt   time.Time     // every simulated impression had an example
	cpu      time.Duration // the process's CPU from its start to doneAt
	broker   time.Duration // the broker's CPU over the phase (-1: unknown)
	machine  float64       // busy cores of the whole machine over the phase
	hwm      int64         // peak resident memory of the process (VmHWM), bytes
	// wdstream: the peak of its join state estimate and the messages it
	// spilled (wdstream_join_state_bytes, wdstream_join_spilled_total)
	peakState, spilled int64
	timedOut           bool
	notes              []string
	check              labelCheck
}

// phaseMeter takes the broker's and the machine's CPU at the start of a
// phase.
type phaseMeter struct {
	start               time.Time
	brokerPid           string
	broker              time.Duration
	machBusy, machTotal int64
}

func startPhase() *phaseMeter {
	m := &phaseMeter{brokerPid: brokerPid()}
	m.broker = pidCPU(m.brokerPid)
	m.machBusy, m.machTotal = machineCPU()
	m.start = time.Now()
	return m
}

// end records in r the phase's end: sample, the first one in which the
// output held an example for every impression.
func (m *phaseMeter) end(r *phaseResult, s sample) {
	r.start, r.doneAt = m.start, s.at
	r.cpu, r.hwm = s.cpu, s.hwm
	r.broker = -1
	if m.brokerPid != "" {
		r.broker = s.broker - m.broker
	}
	if s.total > m.machTotal {
		r.machine = float64(runtime.NumCPU()) * float64(s.busy-m.machBusy) / float64(s.total-m.machTotal)
	}
}

// sample is the state of a phase at one moment: the end offset of each
// partition of the output topic, the CPU of the process, of the broker and
// of the machine, and the process's peak RSS.
type sample struct {
	at          time.Time
	ends        map[int]int64
	cpu, broker time.Duration
	busy, total int64
	hwm         int64
}

// sampler takes a sample every 100 ms, so that a phase's end is the moment
// its output was complete, not the moment this test finished reading it.
type sampler struct {
	mu      sync.Mutex
	samples []sample
	stop    context.CancelFunc
	done    chan struct{}
	// wdstream's metrics, scraped when metrics is set (metricsURL)
	metrics            string
	peakState, spilled int64
}

// metricsURL makes the sampler scrape a wdstream process's Prometheus
// metrics too, for its join state and spill.
func (s *sampler) metricsURL(u string) {
	s.mu.Lock()
	s.metrics = u
	s.mu.Unlock()
}

// joinState returns the peak join state and the spilled messages scraped.
func (s *sampler) joinState() (peak, spilled int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakState, s.spilled
}

// scrape reads the join state gauges from the metrics at u.
func (s *sampler) scrape(ctx context.Context, u string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return // not listening yet
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		s.mu.Lock()
		switch f[0] {
		case "wdstream_join_state_bytes":
			s.peakState = max(s.peakState, int64(v))
		case "wdstream_join_spilled_total":
			s.spilled = int64(v)
		}
		s.mu.Unlock()
	}
}

func startSampler(c *kafka.Client, topic string, pid int, brokerPid string) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sampler{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			sm := sample{at: time.Now(), cpu: procCPU(pid), broker: pidCPU(brokerPid), hwm: procHWM(pid), ends: map[int]int64{}}
			sm.busy, sm.total = machineCPU()
			if counts, err := c.PartitionCounts(ctx, topic); err == nil {
				for p := range counts[topic] {
					if _, end, err := c.PartitionOffsets(ctx, topic, p); err == nil {
						sm.ends[p] = end
					}
				}
			}
			s.mu.Lock()
			s.samples = append(s.samples, sm)
			u := s.metrics
			s.mu.Unlock()
			if u != "" {
				s.scrape(ctx, u)
			}
			if !sleepCtx(ctx, 100*time.Millisecond) {
				return
			}
		}
	}()
	return s
}

// first returns the first sample whose end offsets reach need, or the last
// one (false) when none does.
func (s *sampler) first(need map[int]int64) (sample, bool) {
	s.stop()
	<-s.done
	if len(need) == 0 { // nothing seen
		return s.samples[len(s.samples)-1], false
	}
	for _, sm := range s.samples {
		ok := true
		for p, n := range need {
			if sm.ends[p] < n {
				ok = false
				break
			}
		}
		if ok {
			return sm, true
		}
	}
	return s.samples[len(s.samples)-1], false
}

func procCPU(pid int) time.Duration { return pidCPU(strconv.Itoa(pid)) }

// procHWM returns VmHWM of process pid in bytes, 0 when unknown.
func procHWM(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// perCPU returns events per CPU-second of the process, and of the process
// and the broker together when withBroker is set.
func (r *phaseResult) perCPU(withBroker bool) float64 {
	cpu := r.cpu
	if withBroker && r.broker > 0 {
		cpu += r.broker
	}
	return float64(r.events) / cpu.Seconds()
}

const tableHeader = "| join | events/s | CPU µs per event: process | broker | events per CPU-second: process | process + broker | peak RSS | examples | missing | doubled | wrong label | other install_ts |\n" +
	"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"

// row is the phase's line of the Markdown table.
func (r *phaseResult) row() string {
	wall := r.doneAt.Sub(r.start).Seconds()
	broker, both := "?", "?"
	if r.broker >= 0 {
		broker = fmt.Sprintf("%.2f", r.broker.Seconds()*1e6/float64(r.events))
		both = commas(r.perCPU(true))
	}
	name := r.name
	if r.timedOut {
		name += " (timed out)"
	}
	c := r.check
	return fmt.Sprintf("| %s | %s | %.2f | %s | %s | %s | %s MiB | %s | %d | %d | %d | %d |",
		name, commas(float64(r.events)/wall), r.cpu.Seconds()*1e6/float64(r.events), broker,
		commas(r.perCPU(false)), both, commas(float64(r.hwm)/(1<<20)), commas(float64(c.records)),
		c.missing, c.doubled, c.wrong, c.installTS)
}

// detail says how the phase went, beyond the table.
func (r *phaseResult) detail() string {
	wall := r.doneAt.Sub(r.start)
	var b strings.Builder
	fmt.Fprintf(&b, "%d events in %.2fs (%.0f events/s), process %.2fs CPU (%.2f cores), broker %.2fs, machine %.2f of %d cores busy, peak RSS %.0f MiB",
		r.events, wall.Seconds(), float64(r.events)/wall.Seconds(), r.cpu.Seconds(), r.cpu.Seconds()/wall.Seconds(),
		r.broker.Seconds(), r.machine, runtime.NumCPU(), float64(r.hwm)/(1<<20))
	if !r.readyAt.IsZero() && r.readyAt.After(r.start) {
		w, cpu := r.doneAt.Sub(r.readyAt), r.cpu-r.readyCPU
		fmt.Fprintf(&b, "; from RUNNING (%.2fs and %.2fs CPU after the start): %.0f events/s, %.2f µs CPU per event",
			r.readyAt.Sub(r.start).Seconds(), r.readyCPU.Seconds(), float64(r.events)/w.Seconds(), cpu.Seconds()*1e6/float64(r.events))
	}
	c := r.check
	fmt.Fprintf(&b, "; %d records for %d impressions, %d missing, %d doubled %v, %d wrong label (%d false positive, %d of them with an install without impression_id of the user and app in the window; %d false negative; %d positive with a label 0 record too, %d of them with an install naming another impression of the user and app in the window), %d other install_ts; %d positive impressions",
		c.records, c.impressions, c.missing, c.doubled, c.dupKinds, c.wrong, c.falsePos, c.fpUnattributed, c.falseNeg, c.wrong-c.falsePos-c.falseNeg, c.zeroOther, c.installTS, c.positives)
	for _, n := range r.notes {
		b.WriteString("; " + n)
	}
	return b.String()
}

// commas formats v rounded, with thousands separators.
func commas(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// idWatcher follows a topic until it holds a record for every simulated
// impression; id names a record's impression.
type idWatcher struct {
	c     *kafka.Client
	topic string
	o     *oracle
	id    func(kafka.Message) string
	next  map[int]int64
	seen  map[string]bool
	found int
	// need: per partition, 1 + the offset of the last record that named
	// an impression for the first time.
	need map[int]int64
	logf func(format string, args ...any) // progress every 30 s (nil: none)
}

func newIDWatcher(c *kafka.Client, topic string, o *oracle, id func(kafka.Message) string) *idWatcher {
	return &idWatcher{c: c, topic: topic, o: o, id: id, next: map[int]int64{}, seen: map[string]bool{}, need: map[int]int64{}}
}

// waitAll reads the topic every 100 ms, once it holds as many records as
// there are impressions, until every simulated impression has a record
// (true), ctx is done or the process exited (false).
func (w *idWatcher) waitAll(ctx context.Context, exited <-chan struct{}) bool {
	logAt := time.Now().Add(30 * time.Second)
	for w.found < len(w.o.want) {
		if w.logf != nil && time.Now().After(logAt) {
			w.logf("%s: %d of %d impressions seen", w.topic, w.found, len(w.o.want))
			logAt = logAt.Add(30 * time.Second)
		}
		if recordsAtLeast(ctx, w.c, w.topic, int64(len(w.o.want))) {
			w.readNew(ctx)
		}
		if w.found == len(w.o.want) {
			break
		}
		if !sleepCtx(ctx, 100*time.Millisecond) || processGone(exited) {
			return false
		}
	}
	return true
}

func (w *idWatcher) readNew(ctx context.Context) {
	counts, err := w.c.PartitionCounts(ctx, w.topic)
	if err != nil {
		return
	}
	for p := range counts[w.topic] {
		first, end, err := w.c.PartitionOffsets(ctx, w.topic, p)
		if err != nil {
			continue
		}
		off := max(w.next[p], first)
		for off < end {
			msgs, _, err := w.c.FetchOnce(ctx, w.topic, p, off, 8<<20, 100*time.Millisecond)
			if err != nil || len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				if id := w.id(m); !w.seen[id] {
					if _, ok := w.o.want[id]; ok {
						w.seen[id] = true
						w.found++
						w.need[p] = m.Offset + 1
					}
				}
				off = m.Offset + 1
			}
		}
		w.next[p] = off
	}
}

var idPrefix = []byte(`{"impression_id":"`)

// exampleID returns the impression_id of an example: both joins write it
// first; another layout is decoded.
func exampleID(m kafka.Message) string {
	if rest, ok := bytes.CutPrefix(m.Value, idPrefix); ok {
		if i := bytes.IndexAny(rest, `"\`); i >= 0 && rest[i] == '"' {
			return string(rest[:i])
		}
	}
	var dec schemas.Decoder
	var ex schemas.Example
	if dec.Example(m.Value, &ex) != nil {
		return ""
	}
	return ex.ImpressionID
}

// recordsAtLeast reports whether topic exists and its partitions' end
// offsets add up to n or more.
func recordsAtLeast(ctx context.Context, c *kafka.Client, topic string, n int64) bool {
	counts, err := c.PartitionCounts(ctx, topic)
	if err != nil || counts[topic] == 0 {
		return false
	}
	total := int64(0)
	for p := range counts[topic] {
		_, end, err := c.PartitionOffsets(ctx, topic, p)
		if err != nil {
			return false
		}
		total += end
	}
	return total >= n
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// processGone reports whether exited (nil: never) is closed.
func processGone(exited <-chan struct{}) bool {
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return true
	default:
		return false
	}
}
