package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

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
	partitions  []int
	codec       kafka.Compression
	buf         map[string][][]outRecord // topic -> partition -> records
	bytes       int
}

// NewEventProducer creates the two topics with the given partition count
// when they do not exist and returns a producer for them. The topics'
// partition counts must agree.
func NewEventProducer(ctx context.Context, brokers []string, impressions, installs string, partitions int) (*EventProducer, error) {
	return NewEventProducerAuth(ctx, brokers, Auth{}, impressions, installs, partitions)
}

// NewEventProducerAuth is NewEventProducer for brokers that need TLS or
// SASL.
func NewEventProducerAuth(ctx context.Context, brokers []string, auth Auth, impressions, installs string, partitions int) (*EventProducer, error) {
	c := newAuthClient(brokers, auth)
	n1, err := ensureTopic(ctx, c, impressions, partitions, 0)
	if err != nil {
		return nil, err
	}
	n2, err := ensureTopic(ctx, c, installs, partitions, 0)
	if err != nil {
		return nil, err
	}
	if n1 != n2 {
		return nil, fmt.Errorf("%w: %s has %d, %s has %d", ErrPartitionMismatch, impressions, n1, installs, n2)
	}
	p := &EventProducer{client: c, impressions: impressions, installs: installs, codec: kafka.Zstd, buf: map[string][][]outRecord{}}
	for i := range n1 {
		p.partitions = append(p.partitions, i)
	}
	p.buf[impressions] = make([][]outRecord, n1)
	p.buf[installs] = make([][]outRecord, n1)
	return p, nil
}

// Partitions returns the topics' partition count.
func (p *EventProducer) Partitions() int { return len(p.partitions) }

// PartitionOf returns the partition of a user_id.
func (p *EventProducer) PartitionOf(userID string) int {
	return kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: []byte(userID)}, p.partitions...)
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
	p.buf[topic][part] = append(p.buf[topic][part], outRecord{key: []byte(key), value: value})
	p.bytes += len(value)
}

// Flush produces everything buffered, partitions in parallel, with acks=all.
// A failed request is retried (up to 5 attempts): a request that failed
// after the broker appended it (a lost response) leaves its records twice in
// the topic, which the join stage counts as duplicate impressions (ignored)
// and duplicate installs.
func (p *EventProducer) Flush(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(p.partitions))
	for topic, parts := range p.buf {
		for i, recs := range parts {
			if len(recs) == 0 {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				pr := newProducer(p.client, p.codec)
				for attempt := 0; attempt < 5; attempt++ {
					if _, err = pr.produce(ctx, topic, i, recs); err == nil {
						return
					}
					recs = recs[pr.acked:]
					sleep(ctx, time.Duration(attempt+1)*500*time.Millisecond)
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
