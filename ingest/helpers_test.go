package ingest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/simulate"
)

// simEvents returns the event stream of a small seeded world.
func simEvents(t testing.TB, impressions int) []simulate.Event {
	t.Helper()
	w, err := simulate.NewWorld(simulate.Config{Seed: 7, Users: 2000, Apps: 300, Days: 1, ImpressionsPerDay: impressions})
	if err != nil {
		t.Fatal(err)
	}
	var evs []simulate.Event
	if _, err := w.Run(context.Background(), func(e simulate.Event) error {
		evs = append(evs, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

// deleteAtEnd deletes the topics that exist among names when t ends, so
// that repeated runs leave nothing on a shared broker.
func deleteAtEnd(t testing.TB, brokers []string, names ...string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := kafka.NewClient(brokers, kafka.Auth{})
		counts, err := c.PartitionCounts(ctx, names...)
		if err == nil {
			var existing []string
			for _, n := range names {
				if counts[n] > 0 {
					existing = append(existing, n)
				}
			}
			if len(existing) > 0 {
				err = c.DeleteTopics(ctx, existing...)
			}
		}
		if err != nil {
			t.Logf("topics %v left behind: %v", names, err)
		}
	})
}

// produceEvents writes evs to the two topics (created with parts partitions).
func produceEvents(t testing.TB, brokers []string, imps, ins string, parts int, evs []simulate.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := NewEventProducer(ctx, brokers, kafka.Auth{}, imps, ins, parts)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Impression != nil {
			p.Impression(e.Impression)
		} else {
			p.Install(e.Install)
		}
		if p.Buffered() > 4<<20 {
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// offlineLabels joins evs with one joiner in ts order (impressions first on
// equal ts), as the backfill does, and returns the label of every id.
func offlineLabels(t testing.TB, evs []simulate.Event, window time.Duration) map[string]int32 {
	t.Helper()
	type item struct {
		ts  int64
		imp bool
		i   int
	}
	items := make([]item, len(evs))
	for i, e := range evs {
		if e.Impression != nil {
			items[i] = item{e.Impression.TS, true, i}
		} else {
			items[i] = item{e.Install.TS, false, i}
		}
	}
	slices.SortStableFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.ts, b.ts); c != 0 {
			return c
		}
		if a.imp != b.imp {
			if a.imp {
				return -1
			}
			return 1
		}
		return 0
	})
	j, err := join.New[struct{}](join.Config{Window: window, MaxPending: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int32{}
	emit := func(r join.Result[struct{}]) error {
		got[r.ImpressionID] = r.Label
		return nil
	}
	for _, it := range items {
		e := evs[it.i]
		if it.imp {
			im := e.Impression
			if err := j.AddImpression(join.Key{ImpressionID: im.ImpressionID, TS: im.TS, UserID: im.UserID, AppID: im.AppID}, struct{}{}, -1, emit); err != nil {
				t.Fatal(err)
			}
		} else {
			in := e.Install
			j.AddInstall(join.Install{TS: in.TS, ImpressionID: in.ImpressionID, UserID: in.UserID, AppID: in.AppID}, -1)
		}
		if err := j.Advance(it.ts, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Flush(emit); err != nil {
		t.Fatal(err)
	}
	return got
}

// readTopic reads every record of every partition of topic up to its end.
func readTopic(t testing.TB, brokers []string, topic string) map[int][]kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := kafka.NewClient(brokers, kafka.Auth{})
	counts, err := c.PartitionCounts(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]kafka.Message{}
	for p := range counts[topic] {
		first, end, err := c.PartitionOffsets(ctx, topic, p)
		if err != nil {
			t.Fatal(err)
		}
		for off := first; off < end; {
			msgs, _, err := c.FetchOnce(ctx, topic, p, off, 8<<20, 200*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				out[p] = append(out[p], m)
				off = m.Offset + 1
			}
		}
	}
	return out
}

// exampleSet decodes the examples topic: label by id, and the ids seen
// more than once.
type exampleSet struct {
	labels map[string]int32
	dups   []string
	n      int
}

func readExamples(t testing.TB, brokers []string, topic string) exampleSet {
	t.Helper()
	var dec schemas.Decoder
	var ex schemas.Example
	s := exampleSet{labels: map[string]int32{}}
	for p, ms := range readTopic(t, brokers, topic) {
		for _, m := range ms {
			if err := dec.Example(m.Value, &ex); err != nil {
				t.Fatalf("examples %d at %d: %v", p, m.Offset, err)
			}
			if hdr(m, "impression_id") != ex.ImpressionID {
				t.Fatalf("examples %d at %d: header impression_id %q, value %q", p, m.Offset, hdr(m, "impression_id"), ex.ImpressionID)
			}
			if _, dup := s.labels[ex.ImpressionID]; dup {
				s.dups = append(s.dups, ex.ImpressionID)
			}
			s.labels[ex.ImpressionID] = ex.Label
			s.n++
		}
	}
	return s
}

func hdr(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// countRecords returns the records in topic (0 when it does not exist).
func countRecords(t testing.TB, brokers []string, topic string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := kafka.NewClient(brokers, kafka.Auth{})
	counts, err := c.PartitionCounts(ctx, topic)
	if err != nil {
		return 0
	}
	total := int64(0)
	for p := range counts[topic] {
		if first, end, err := c.PartitionOffsets(ctx, topic, p); err == nil {
			total += end - first
		}
	}
	return total
}

// waitExamples waits until topic holds at least n examples.
func waitExamples(t testing.TB, brokers []string, topic string, n int, timeout time.Duration) {
	t.Helper()
	c := kafka.NewClient(brokers, kafka.Auth{})
	deadline := time.Now().Add(timeout)
	for {
		total := int64(0)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		counts, err := c.PartitionCounts(ctx, topic)
		if err == nil {
			for p := range counts[topic] {
				first, end, err := c.PartitionOffsets(ctx, topic, p)
				if err == nil {
					total += end - first
				}
			}
		}
		cancel()
		if total >= int64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("examples topic %s holds %d records after %v, want %d", topic, total, timeout, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func compareLabels(t testing.TB, got, want map[string]int32) {
	t.Helper()
	var missing, extra, differ []string
	for id, l := range want {
		g, ok := got[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case g != l:
			differ = append(differ, fmt.Sprintf("%s:%d/%d", id, g, l))
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			extra = append(extra, id)
		}
	}
	if len(missing)+len(extra)+len(differ) > 0 {
		slices.Sort(missing)
		slices.Sort(differ)
		t.Fatalf("labels differ: %d missing %v, %d extra %v, %d different (got/want) %v", len(missing), head(missing), len(extra), head(extra), len(differ), head(differ))
	}
}

func head(s []string) []string { return s[:min(len(s), 8)] }

func positives(m map[string]int32) int {
	n := 0
	for _, l := range m {
		n += int(l)
	}
	return n
}

var _ = maps.Keys[map[string]int]
var _ = strconv.Itoa
var _ = testenv.UniqueName

// scaled returns n, or a quarter of it under the race detector.
func scaled(n int) int {
	if raceEnabled {
		return max(n/4, 1)
	}
	return n
}

func envSet(name string) bool { return os.Getenv(name) != "" }
