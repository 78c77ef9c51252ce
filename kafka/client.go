package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	kg "github.com/segmentio/kafka-go"
)

// Client asks brokers for metadata and offsets. It is safe for concurrent
// use and holds idle connections; Close releases them.
type Client struct {
	c *kg.Client
}

// Timeout bounds each request of a Client whose context has no deadline.
const Timeout = 30 * time.Second

// metadataTTL bounds the age of the topic metadata a transport caches, so
// that a topic another process (or test) has just created is seen within
// it rather than answered "unknown topic" for kafka-go's default 6 s.
const metadataTTL = time.Second

func init() {
	// Before any use: the transport reads it when it opens its pools.
	if t, ok := kg.DefaultTransport.(*kg.Transport); ok {
		t.MetadataTTL = metadataTTL
	}
}

// NewClient returns a client of the brokers with auth. Clients without
// auth share kafka-go's default transport (one pool of connections);
// those with auth have their own, which Close releases.
func NewClient(brokers []string, auth Auth) *Client {
	c := &kg.Client{Addr: kg.TCP(brokers...), Timeout: Timeout}
	if auth.Enabled() {
		c.Transport = auth.transport()
	}
	return &Client{c: c}
}

// Close closes the idle connections of a client with its own transport.
func (c *Client) Close() {
	if t, ok := c.c.Transport.(*kg.Transport); ok {
		t.CloseIdleConnections()
	}
}

// PartitionOffsets are the first and end offsets of one partition: it
// holds the records First..End-1 (First == End when empty).
type PartitionOffsets struct {
	Partition  int
	First, End int64
}

// Offsets returns the first and end offsets of every partition of topic,
// in partition order.
func (c *Client) Offsets(ctx context.Context, topic string) ([]PartitionOffsets, error) {
	md, err := c.c.Metadata(ctx, &kg.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("kafka: metadata of %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) == 0 {
		cause := errors.New("no partitions")
		if len(md.Topics) == 1 && md.Topics[0].Error != nil {
			cause = md.Topics[0].Error
		}
		return nil, fmt.Errorf("kafka: topic %s: %w", topic, cause)
	}
	var reqs []kg.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kg.FirstOffsetOf(p.ID), kg.LastOffsetOf(p.ID))
	}
	lo, err := c.c.ListOffsets(ctx, &kg.ListOffsetsRequest{Topics: map[string][]kg.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("kafka: offsets of %s: %w", topic, err)
	}
	out := make([]PartitionOffsets, 0, len(lo.Topics[topic]))
	for _, p := range lo.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("kafka: offsets of %s partition %d: %w", topic, p.Partition, p.Error)
		}
		out = append(out, PartitionOffsets{Partition: p.Partition, First: p.FirstOffset, End: p.LastOffset})
	}
	slices.SortFunc(out, func(a, b PartitionOffsets) int { return a.Partition - b.Partition })
	return out, nil
}

// Committed returns the offsets group has committed on topic's partitions;
// a partition without a commit is absent.
func (c *Client) Committed(ctx context.Context, group, topic string, partitions []int) (map[int]int64, error) {
	of, err := c.c.OffsetFetch(ctx, &kg.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: partitions}})
	if err != nil {
		return nil, fmt.Errorf("kafka: commits of group %s on %s: %w", group, topic, err)
	}
	if of.Error != nil {
		return nil, fmt.Errorf("kafka: commits of group %s on %s: %w", group, topic, of.Error)
	}
	out := map[int]int64{}
	for _, p := range of.Topics[topic] {
		if p.Error == nil && p.CommittedOffset >= 0 {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out, nil
}

// Lag returns the records of topics that group has still to read, summed
// over their partitions (see the package doc for the definition).
func (c *Client) Lag(ctx context.Context, group string, topics ...string) (int64, error) {
	var n int64
	for _, t := range topics {
		offs, err := c.Offsets(ctx, t)
		if err != nil {
			return 0, err
		}
		parts := make([]int, len(offs))
		for i, o := range offs {
			parts[i] = o.Partition
		}
		com, err := c.Committed(ctx, group, t, parts)
		if err != nil {
			return 0, err
		}
		n += lag(offs, com)
	}
	return n, nil
}

// Size returns the records topic holds now (end minus first offsets).
func (c *Client) Size(ctx context.Context, topic string) (int64, error) {
	offs, err := c.Offsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, o := range offs {
		n += o.End - o.First
	}
	return n, nil
}

// lag applies the definition of the package doc.
func lag(offs []PartitionOffsets, committed map[int]int64) int64 {
	var n int64
	for _, o := range offs {
		at, ok := committed[o.Partition]
		if !ok || at < o.First {
			at = o.First
		}
		n += max(o.End-at, 0)
	}
	return n
}
