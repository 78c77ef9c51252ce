package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	kg "github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/internal/backoff"
)

// TopicSpec describes a topic to create.
type TopicSpec struct {
	Name       string
	Partitions int
	// Configs are topic-level settings (retention.ms, segment.bytes...).
	Configs map[string]string
}

// PartitionCounts returns the partition count of each of topics that
// exists; a missing topic is absent from the map.
func (c *Client) PartitionCounts(ctx context.Context, topics ...string) (map[string]int, error) {
	res, err := c.c.Metadata(ctx, &kg.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("kafka: metadata of %s: %w", strings.Join(topics, ", "), err)
	}
	out := map[string]int{}
	for _, t := range res.Topics {
		if t.Error != nil {
			if errors.Is(t.Error, kg.UnknownTopicOrPartition) {
				continue
			}
			return nil, fmt.Errorf("kafka: metadata of topic %s: %w", t.Name, t.Error)
		}
		out[t.Name] = len(t.Partitions)
	}
	return out, nil
}

// CreateTopic creates a topic (the broker's default replication factor)
// and waits until the metadata shows all its partitions. A topic that
// exists already is an error wrapping ErrTopicExists.
func (c *Client) CreateTopic(ctx context.Context, t TopicSpec) error {
	if t.Partitions < 1 {
		return fmt.Errorf("kafka: topic %s: %d partitions, need at least 1", t.Name, t.Partitions)
	}
	cfg := kg.TopicConfig{Topic: t.Name, NumPartitions: t.Partitions, ReplicationFactor: -1}
	for k, v := range t.Configs {
		cfg.ConfigEntries = append(cfg.ConfigEntries, kg.ConfigEntry{ConfigName: k, ConfigValue: v})
	}
	res, err := c.c.CreateTopics(ctx, &kg.CreateTopicsRequest{Topics: []kg.TopicConfig{cfg}})
	if err == nil {
		err = res.Errors[t.Name]
	}
	if errors.Is(err, kg.TopicAlreadyExists) {
		return fmt.Errorf("kafka: creating topic %s: %w", t.Name, ErrTopicExists)
	}
	if err != nil {
		return fmt.Errorf("kafka: creating topic %s with %d partitions: %w", t.Name, t.Partitions, err)
	}
	for {
		offs, err := c.Offsets(ctx, t.Name)
		if err == nil && len(offs) == t.Partitions {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka: topic %s created, but its %d partitions do not all answer: %w (%v)", t.Name, t.Partitions, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ErrTopicExists is wrapped by CreateTopic's error for a topic that exists.
var ErrTopicExists = errors.New("the topic exists already")

// DeleteTopics deletes topics.
func (c *Client) DeleteTopics(ctx context.Context, topics ...string) error {
	res, err := c.c.DeleteTopics(ctx, &kg.DeleteTopicsRequest{Topics: topics})
	if err != nil {
		return fmt.Errorf("kafka: deleting %s: %w", strings.Join(topics, ", "), err)
	}
	var errs []error
	for t, e := range res.Errors {
		if e != nil {
			errs = append(errs, fmt.Errorf("kafka: deleting %s: %w", t, e))
		}
	}
	return errors.Join(errs...)
}

// WaitForTopic returns the partition count of topic once it exists with
// partitions, retrying (and logging) until then: a stage that reads a topic
// another stage creates, like the archive reading the join's examples, may
// start first. Joining a consumer group before that would get an empty
// assignment that nothing revisits (kafka-go's group only rebalances on
// membership changes here). It returns ctx.Err() when ctx ends first.
func (c *Client) WaitForTopic(ctx context.Context, topic string, logger *slog.Logger) (int, error) {
	bo := backoff.New(250*time.Millisecond, 5*time.Second)
	for {
		counts, err := c.PartitionCounts(ctx, topic)
		if err == nil && counts[topic] > 0 {
			return counts[topic], nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if err == nil {
			err = fmt.Errorf("topic %s does not exist yet", topic)
		}
		wait := bo.Next()
		logger.Warn("waiting for the topic to read", "topic", topic, "err", err, "backoff", wait)
		backoff.Sleep(ctx, wait)
	}
}

// EnsureTopic creates topic with the given partition count when it does
// not exist, and checks the count when it does (want 0: any count). It
// returns the topic's partition count.
func (c *Client) EnsureTopic(ctx context.Context, topic string, partitions, want int) (int, error) {
	counts, err := c.PartitionCounts(ctx, topic)
	if err != nil {
		return 0, err
	}
	if n, ok := counts[topic]; ok {
		if want > 0 && n != want {
			return n, fmt.Errorf("topic %s has %d partitions, want %d (the input topics' count)", topic, n, want)
		}
		return n, nil
	}
	err = c.CreateTopic(ctx, TopicSpec{Name: topic, Partitions: partitions})
	if !errors.Is(err, ErrTopicExists) {
		return partitions, err
	}
	// Created meanwhile (another member of the group): check its count once
	// the metadata shows it.
	for {
		counts, err := c.PartitionCounts(ctx, topic)
		if n := counts[topic]; err == nil && n > 0 {
			if want > 0 && n != want {
				return n, fmt.Errorf("topic %s has %d partitions, want %d (the input topics' count)", topic, n, want)
			}
			return n, nil
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("kafka: topic %s: %w", topic, ctx.Err())
		}
		backoff.Sleep(ctx, 100*time.Millisecond)
	}
}

// EnsureTopics creates each topic with the given partition count when it
// does not exist. The simulator and tests use it.
func (c *Client) EnsureTopics(ctx context.Context, partitions int, topics ...string) error {
	for _, t := range topics {
		if _, err := c.EnsureTopic(ctx, t, partitions, 0); err != nil {
			return err
		}
	}
	return nil
}
