package kafka

import (
	"context"
	"fmt"

	kg "github.com/segmentio/kafka-go"
)

// PartitionOffsets returns the first offset and the high watermark of
// topic/partition.
func (c *Client) PartitionOffsets(ctx context.Context, topic string, partition int) (first, end int64, err error) {
	res, err := c.c.ListOffsets(ctx, &kg.ListOffsetsRequest{Topics: map[string][]kg.OffsetRequest{
		topic: {kg.FirstOffsetOf(partition), kg.LastOffsetOf(partition)},
	}})
	if err != nil {
		return 0, 0, fmt.Errorf("listing offsets of %s/%d: %w", topic, partition, err)
	}
	for _, p := range res.Topics[topic] {
		if p.Partition == partition {
			if p.Error != nil {
				return 0, 0, fmt.Errorf("listing offsets of %s/%d: %w", topic, partition, p.Error)
			}
			return p.FirstOffset, p.LastOffset, nil
		}
	}
	return 0, 0, fmt.Errorf("listing offsets of %s/%d: partition missing from the answer", topic, partition)
}

// Committed is one partition's committed offset and metadata; Offset -1
// when none.
type Committed struct {
	Offset   int64
	Metadata string
}

// CommittedAt returns group's commits on partition of each of topics.
func (c *Client) CommittedAt(ctx context.Context, group string, partition int, topics ...string) (map[string]Committed, error) {
	req := &kg.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{}}
	for _, t := range topics {
		req.Topics[t] = []int{partition}
	}
	res, err := c.c.OffsetFetch(ctx, req)
	if err == nil && res.Error != nil {
		err = res.Error
	}
	if err != nil {
		return nil, fmt.Errorf("fetching committed offsets of group %s: %w", group, err)
	}
	out := map[string]Committed{}
	for _, t := range topics {
		out[t] = Committed{Offset: -1}
		for _, p := range res.Topics[t] {
			if p.Partition != partition {
				continue
			}
			if p.Error != nil {
				return nil, fmt.Errorf("committed offset of %s/%d in group %s: %w", t, partition, group, p.Error)
			}
			out[t] = Committed{Offset: p.CommittedOffset, Metadata: p.Metadata}
		}
	}
	return out, nil
}

// Commit commits offs (per topic) of partition in gen's name.
func (c *Client) Commit(ctx context.Context, gen Generation, partition int, offs map[string]Committed) error {
	req := &kg.OffsetCommitRequest{
		GroupID: gen.GroupID, GenerationID: int(gen.ID), MemberID: gen.MemberID,
		Topics: map[string][]kg.OffsetCommit{},
	}
	for t, o := range offs {
		req.Topics[t] = []kg.OffsetCommit{{Partition: partition, Offset: o.Offset, Metadata: o.Metadata}}
	}
	res, err := c.c.OffsetCommit(ctx, req)
	if err != nil {
		return fmt.Errorf("committing offsets of partition %d: %w", partition, err)
	}
	for t, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return fmt.Errorf("committing offset of %s/%d: %w", t, p.Partition, p.Error)
			}
		}
	}
	return nil
}
