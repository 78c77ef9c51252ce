package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wdstream/wdstream/internal/backoff"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
)

// EventProducer writes impressions and installs to their topics as JSON
// (schemas.Append*JSON), keyed by user_id and partitioned by the murmur2
// hash of the key like Kafka's Java producer (so that other producers with
// the default Java partitioner, or librdkafka with
// partitioner=murmur2_random, agree). Events of one partition keep their
// order. It is what `wdstream simulate --brokers` uses. Not safe for
// concurrent use.
type EventProducer struct {
	client      *kafka.Client
	impressions string
	installs    string
	partitions  int
	part        kafka.Murmur2
	codec       kafka.Compression
	buf         map[string][][]kafka.Record // topic -> partition -> records
	bytes       int
}

// NewEventProducer creates the two topics with the given partition count
// when they do not exist and returns a producer for them, through brokers
// with auth (the zero Auth: plaintext). The topics' partition counts must
// agree.
func NewEventProducer(ctx context.Context, brokers []string, auth kafka.Auth, impressions, installs string, partitions int) (*EventProducer, error) {
	c := kafka.NewClient(brokers, auth)
	n1, err := c.EnsureTopic(ctx, impressions, partitions, 0)
	if err != nil {
		return nil, err
	}
	n2, err := c.EnsureTopic(ctx, installs, partitions, 0)
	if err != nil {
		return nil, err
	}
	if n1 != n2 {
		return nil, fmt.Errorf("%w: %s has %d, %s has %d", ErrPartitionMismatch, impressions, n1, installs, n2)
	}
	p := &EventProducer{client: c, impressions: impressions, installs: installs, partitions: n1, part: kafka.NewMurmur2(n1), codec: kafka.Zstd, buf: map[string][][]kafka.Record{}}
	p.buf[impressions] = make([][]kafka.Record, n1)
	p.buf[installs] = make([][]kafka.Record, n1)
	return p, nil
}

// Partitions returns the topics' partition count.
func (p *EventProducer) Partitions() int { return p.partitions }

// PartitionOf returns the partition of a user_id.
func (p *EventProducer) PartitionOf(userID string) int {
	return p.part.Partition([]byte(userID))
}

// Impression buffers one impression.
func (p *EventProducer) Impression(imp *schemas.Impression) {
	p.add(p.impressions, imp.UserID, schemas.AppendImpressionJSON(nil, imp))
}

// Install buffers one install.
func (p *EventProducer) Install(in *schemas.Install) {
	p.add(p.installs, in.UserID, schemas.AppendInstallJSON(nil, in))
}

// Raw buffers one message as is, to topic (one of the two) by key.
func (p *EventProducer) Raw(topic, key string, value []byte) { p.add(topic, key, value) }

// Buffered returns the bytes buffered since the last Flush.
func (p *EventProducer) Buffered() int { return p.bytes }

func (p *EventProducer) add(topic, key string, value []byte) {
	part := p.PartitionOf(key)
	p.buf[topic][part] = append(p.buf[topic][part], kafka.Record{Key: []byte(key), Value: value})
	p.bytes += len(value)
}

// Flush produces everything buffered, partitions in parallel, with acks=all.
// A failed request is retried (up to 5 attempts): a request that failed
// after the broker appended it (a lost response) leaves its records twice in
// the topic, which the join stage counts as duplicate impressions (ignored)
// and duplicate installs.
func (p *EventProducer) Flush(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, 2*p.partitions)
	for topic, parts := range p.buf {
		for i, recs := range parts {
			if len(recs) == 0 {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				pr := kafka.NewProducer(p.client, p.codec)
				for attempt := 0; attempt < 5 && ctx.Err() == nil; attempt++ {
					if _, err = pr.Produce(ctx, topic, i, recs); err == nil {
						return
					}
					recs = recs[pr.Acked():]
					backoff.Sleep(ctx, time.Duration(attempt+1)*500*time.Millisecond)
				}
				if err == nil { // cancelled before the first attempt
					err = ctx.Err()
				}
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for _, parts := range p.buf {
		for i := range parts {
			parts[i] = parts[i][:0]
		}
	}
	p.bytes = 0
	return nil
}
