package kafka

import (
	"bytes"
	"context"
	"fmt"
	"time"

	kg "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// maxProduceBytes bounds one produce request's uncompressed record bytes,
// below Kafka's default message.max.bytes (1 MiB) for the compressed batch.
const maxProduceBytes = 4 << 20

// Record is one record to produce. Its bytes are not read until a
// produce request is built from it, so a failed request can be sent again.
type Record struct {
	Key, Value []byte
	Headers    []Header
}

func (r *Record) size() int {
	n := 32 + len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// Producer writes records to one topic partition at a time with
// acks=all, one record batch per request (batchEncoder). It keeps its
// buffers between calls; not safe for concurrent use.
type Producer struct {
	client *Client
	enc    *batchEncoder
	// acked counts the records of the last produce call that the broker
	// acknowledged (all of them when it returned no error).
	acked int
}

// NewProducer returns a producer of c's brokers compressing with codec.
func NewProducer(c *Client, codec Compression) *Producer {
	return &Producer{client: c, enc: newBatchEncoder(codec)}
}

// Acked returns how many records of the last Produce call the broker
// acknowledged (all of them when it returned no error).
func (pr *Producer) Acked() int { return pr.acked }

// Produce writes recs to topic/partition in requests of at most
// maxProduceBytes, one after the other, and returns the offset after the
// last record. It does not retry: a failed request may still have been
// appended, and the caller recovers through its restart path.
func (pr *Producer) Produce(ctx context.Context, topic string, partition int, recs []Record) (end int64, err error) {
	end = -1
	pr.acked = 0
	for len(recs) > 0 {
		n, size := 0, 0
		for n < len(recs) && (n == 0 || size < maxProduceBytes) {
			size += recs[n].size()
			n++
		}
		batch, err := pr.enc.encode(recs[:n], time.Now())
		if err != nil {
			return -1, err
		}
		res, err := pr.client.c.RawProduce(ctx, &kg.RawProduceRequest{
			Topic: topic, Partition: partition, RequiredAcks: kg.RequireAll,
			RawRecords: protocol.RawRecordSet{Reader: bytes.NewReader(batch)},
		})
		if err == nil && res.Error != nil {
			err = res.Error
		}
		if err == nil && len(res.RecordErrors) > 0 {
			for i, e := range res.RecordErrors {
				err = fmt.Errorf("record %d: %w", i, e)
				break
			}
		}
		if err != nil {
			pr.enc.abandon()
			return -1, fmt.Errorf("producing %d records to %s/%d: %w", n, topic, partition, err)
		}
		end = res.BaseOffset + int64(n)
		pr.acked += n
		recs = recs[n:]
	}
	return end, nil
}

// Murmur2 partitions keys like Kafka's Java producer (and librdkafka's
// murmur2_random), by the murmur2 hash of the key, so that wdstream and
// other producers agree on where a user's events go.
type Murmur2 struct{ parts []int }

// NewMurmur2 returns the partitioner of a topic with n partitions.
func NewMurmur2(n int) Murmur2 {
	parts := make([]int, n)
	for i := range parts {
		parts[i] = i
	}
	return Murmur2{parts}
}

// Partition returns key's partition.
func (m Murmur2) Partition(key []byte) int {
	return kg.Murmur2Balancer{}.Balance(kg.Message{Key: key}, m.parts...)
}
