package serve

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
)

func (k *KafkaImpressions) droppedCount(reason string) float64 {
	var m dto.Metric
	if err := k.met.dropped.WithLabelValues(reason).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// TestImpressionIDs: ids share the process's random prefix, never repeat,
// and are valid ids for the join's decoder.
func TestImpressionIDs(t *testing.T) {
	g := processIDs()
	if g != processIDs() {
		t.Fatal("processIDs is not one generator per process")
	}
	if len(g.prefix) != 17 || strings.Trim(g.prefix[:16], "abcdefghijklmnopqrstuvwxyz234567") != "" {
		t.Fatalf("prefix %q: want 16 base32 characters and a dash", g.prefix)
	}
	seen := map[string]bool{}
	for range 100_000 {
		id := g.next()
		if seen[id] || !strings.HasPrefix(id, g.prefix) || len(id) > schemas.DefaultMaxIDBytes {
			t.Fatalf("id %q: repeated, without the prefix %q, or too long", id, g.prefix)
		}
		seen[id] = true
	}
}

// TestImpressionsQueueFull: Log never waits; a request whose impressions
// do not fit the queue is dropped whole and counted, and one line is
// logged for a burst of drops.
func TestImpressionsQueueFull(t *testing.T) {
	var log testenv.SyncBuffer
	k, err := NewKafkaImpressions(KafkaImpressionsConfig{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Queue: 10,
		Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	served := func(n int) []Served { return make([]Served, n) }
	start := time.Now()
	k.Log(served(6)) // no Run: nothing empties the queue
	k.Log(served(6))
	k.Log(served(4))
	for range 100 {
		k.Log(served(1))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("103 calls of Log took %v", d)
	}
	if len(k.pending) != 10 || k.droppedCount(dropQueueFull) != 106 {
		t.Fatalf("%d queued, %v dropped: want 10 and 106 (6 + 100)", len(k.pending), k.droppedCount(dropQueueFull))
	}
	if n := strings.Count(log.String(), "dropping served impressions"); n != 1 {
		t.Fatalf("%d log lines for the drops, want 1:\n%s", n, log.String())
	}
}

// TestImpressionsEncode: each record is the impression in the join's
// format with the position column, keyed by user_id in the user's murmur2
// partition; the position replaces a scored column of its name; an
// impression the join would reject is left out.
func TestImpressionsEncode(t *testing.T) {
	k, err := NewKafkaImpressions(KafkaImpressionsConfig{Brokers: []string{"127.0.0.1:1"}, Topic: "t", PositionColumn: "pos"})
	if err != nil {
		t.Fatal(err)
	}
	k.parts, k.recs = 3, make([][]kafka.Record, 3)
	f := map[string]schemas.Value{"country": schemas.String("de"), "installed_apps": schemas.Strings([]string{"a", "b"}), "price": schemas.Number(1.5)}
	batch := []Served{
		{Impression: schemas.Impression{ImpressionID: "i0", TS: 5, UserID: "u1", AppID: "a1", Features: f}, Position: 3},
		{Impression: schemas.Impression{ImpressionID: "i1", TS: 5, UserID: "u2", AppID: "a2", Features: map[string]schemas.Value{"pos": schemas.String("top"), "x": schemas.Bool(true)}}, Position: 1},
		{Impression: schemas.Impression{ImpressionID: "i2", TS: 6, UserID: strings.Repeat("u", schemas.DefaultMaxIDBytes+1), AppID: "a"}, Position: 2},
		{Impression: schemas.Impression{ImpressionID: "i3", TS: 6, UserID: "u1", AppID: "a3"}, Position: 1},
	}
	invalid, n := k.encode(batch)
	if invalid != 1 || n != 3 {
		t.Fatalf("%d invalid, %d records: want 1 and 3", invalid, n)
	}
	if _, ok := f["pos"]; ok {
		t.Fatal("encode wrote the position into the served impression's own map")
	}
	want := map[string]string{
		"i0": `{"impression_id":"i0","ts":5,"user_id":"u1","app_id":"a1","country":"de","installed_apps":["a","b"],"pos":3,"price":1.5}`,
		"i1": `{"impression_id":"i1","ts":5,"user_id":"u2","app_id":"a2","pos":1,"x":true}`,
		"i3": `{"impression_id":"i3","ts":6,"user_id":"u1","app_id":"a3","pos":1}`,
	}
	part := kafka.NewMurmur2(3)
	var dec schemas.Decoder
	for p, recs := range k.recs {
		for _, r := range recs {
			var imp schemas.Impression
			if err := dec.Impression(r.Value, &imp); err != nil {
				t.Fatalf("%s: the join's decoder: %v", r.Value, err)
			}
			if string(r.Value) != want[imp.ImpressionID] {
				t.Errorf("record %s, want %s", r.Value, want[imp.ImpressionID])
			}
			if string(r.Key) != imp.UserID || part.Partition(r.Key) != p {
				t.Errorf("%s: key %q in partition %d, want %q in %d", imp.ImpressionID, r.Key, p, imp.UserID, part.Partition([]byte(imp.UserID)))
			}
			delete(want, imp.ImpressionID)
		}
	}
	if len(want) > 0 {
		t.Errorf("no record of %v", want)
	}
	// PositionColumn "-": no position, the scored columns as they were.
	k.cfg.PositionColumn = noPosition
	if _, n := k.encode(batch[1:2]); n != 1 || string(k.recs[part.Partition([]byte("u2"))][0].Value) != `{"impression_id":"i1","ts":5,"user_id":"u2","app_id":"a2","pos":"top","x":true}` {
		t.Errorf("without a position column: %d records, %s", n, k.recs[part.Partition([]byte("u2"))][0].Value)
	}
}

// TestImpressionsShown: with Shown, only the candidates ranked 1..Shown of
// an answer are queued, whatever their order in the request.
func TestImpressionsShown(t *testing.T) {
	k, err := NewKafkaImpressions(KafkaImpressionsConfig{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Shown: 2, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	k.Log([]Served{{Position: 3}, {Position: 1}, {Position: 4}, {Position: 2}})
	if len(k.pending) != 2 || k.pending[0].Position != 1 || k.pending[1].Position != 2 {
		t.Fatalf("queued %+v: want the candidates at positions 1 and 2", k.pending)
	}
	if _, err := NewKafkaImpressions(KafkaImpressionsConfig{Brokers: []string{"b"}, Topic: "t", Shown: -1}); err == nil {
		t.Fatal("Shown -1 accepted")
	}
}
