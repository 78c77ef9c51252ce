package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	kg "github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
)

// TestLagAfterRetention, against the real broker: retention deletes the
// first segments of a partition, and the lag of a group must count only
// records that can still be read. A group that never committed, and one
// whose commit points into the deleted records, both have the whole
// partition left (end - first); a group past the first offset has end -
// commit. Before one definition, /metrics counted a group without a commit
// from offset 0 and the status page from the first offset, and both
// counted a commit older than retention from the commit.
func TestLagAfterRetention(t *testing.T) {
	brokers := testenv.RealKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := kafka.NewClient(brokers, kafka.Auth{})
	defer c.Close()
	topic := testenv.UniqueName(t, "lag")
	// Small segments that expire after 2 s: the broker checks retention
	// every second (scripts/services.sh).
	err := c.CreateTopic(ctx, kafka.TopicSpec{Name: topic, Partitions: 1, Configs: map[string]string{
		"segment.bytes": "1024", "retention.ms": "2000",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteTopics(context.Background(), topic) })

	w := &kg.Writer{Addr: kg.TCP(brokers...), Topic: topic, BatchSize: 1, RequiredAcks: kg.RequireAll}
	defer w.Close()
	const n = 60
	for i := range n {
		if err := w.WriteMessages(ctx, kg.Message{Value: []byte(strings.Repeat("x", 100) + string(rune('a'+i%26)))}); err != nil {
			t.Fatal(err)
		}
	}
	commit := func(group string, offset int64) {
		t.Helper()
		// A fresh broker may still be electing the group's coordinator.
		var err error
		for range 60 {
			if err = c.CommitStandalone(ctx, group, topic, map[int]int64{0: offset}); err == nil {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Fatalf("committing %d for %s: %v", offset, group, err)
	}
	old, mid, none := topic+"-old", topic+"-mid", topic+"-none"
	commit(old, 3)

	var offs []kafka.PartitionOffsets
	deadline := time.Now().Add(60 * time.Second)
	for {
		if offs, err = c.Offsets(ctx, topic); err != nil {
			t.Fatal(err)
		}
		if offs[0].First > 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention did not delete the first segment within 60 s: offsets %+v", offs)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Retention off from here, and records that stay.
	cl := &kg.Client{Addr: kg.TCP(brokers...)}
	ac, err := cl.AlterConfigs(ctx, &kg.AlterConfigsRequest{Resources: []kg.AlterConfigRequestResource{{
		ResourceType: kg.ResourceTypeTopic, ResourceName: topic,
		Configs: []kg.AlterConfigRequestConfig{{Name: "retention.ms", Value: "-1"}, {Name: "segment.bytes", Value: "1024"}},
	}}})
	if err == nil {
		for _, e := range ac.Errors {
			err = e
		}
	}
	if err != nil {
		t.Fatalf("turning retention off: %v", err)
	}
	for i := range 10 {
		if err := w.WriteMessages(ctx, kg.Message{Value: []byte{byte('A' + i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if offs, err = c.Offsets(ctx, topic); err != nil {
		t.Fatal(err)
	}
	if offs[0].End != n+10 || offs[0].First <= 3 || offs[0].First > n {
		t.Fatalf("offsets %+v: want end %d and the first past 3", offs, n+10)
	}
	commit(mid, n+8)
	t.Logf("retention moved the first offset to %d (end %d)", offs[0].First, offs[0].End)
	live := offs[0].End - offs[0].First
	for _, tc := range []struct {
		group string
		want  int64
	}{{none, live}, {old, live}, {mid, 2}} {
		got, err := c.Lag(ctx, tc.group, topic)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("Lag(%s) = %d, want %d (first %d, end %d)", tc.group, got, tc.want, offs[0].First, offs[0].End)
		}
	}
}
