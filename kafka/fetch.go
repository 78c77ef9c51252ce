package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// msg is one record read from a topic partition.
type msg struct {
	offset  int64
	time    int64 // the record's Kafka timestamp, Unix ms (0: none)
	key     []byte
	value   []byte
	headers []kafka.Header
}

// fetched is one fetch response with records (at or after the requested
// offset), or a fatal error.
type fetched struct {
	msgs []msg
	next int64 // offset after the last record (the next to fetch)
	err  error
}

// fetchStatus is what a fetcher knows of its partition's end, shared with
// the merge: the partition's high watermark by the broker's latest answer,
// since when it has not grown (no record appended), when that answer came,
// and the offset the fetcher has fetched up to.
type fetchStatus struct {
	mu        sync.Mutex
	hwm       int64 // -1 before any answer
	since     time.Time
	confirmed time.Time
	fetched   int64
}

// answer records one answer of the broker at time at: the high watermark
// end, and the offset fetched up to. The time without growth restarts
// when end grows, and after a gap longer than confirmFresh between
// answers (a broker restart: nothing was watched meanwhile).
func (s *fetchStatus) answer(at time.Time, end, fetched int64) {
	s.mu.Lock()
	if end != s.hwm || s.since.IsZero() || at.Sub(s.confirmed) > confirmFresh {
		s.hwm, s.since = end, at
	}
	s.confirmed, s.fetched = at, fetched
	s.mu.Unlock()
}

// still reports whether no record has been appended to the partition for
// at least idle, by answers no older than confirmFresh.
func (s *fetchStatus) still(now time.Time, idle time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.since.IsZero() && now.Sub(s.since) >= idle && now.Sub(s.confirmed) <= confirmFresh
}

// caughtUp reports whether the fetcher has fetched every record of the
// partition, by the latest answer.
func (s *fetchStatus) caughtUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hwm >= 0 && s.fetched >= s.hwm
}

// fetcher reads one topic partition from offset into out until ctx is done.
// Answers without records only update status. Transient errors (a broker
// restarting) are retried with backoff; an offset out of range is sent as
// a fatal error.
type fetcher struct {
	client    *kafka.Client
	topic     string
	partition int
	offset    int64
	maxBytes  int64
	maxWait   time.Duration
	logger    *slog.Logger
	status    *fetchStatus
}

func (f *fetcher) run(ctx context.Context, out chan<- fetched) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		res, err := f.client.Fetch(ctx, &kafka.FetchRequest{
			Topic: f.topic, Partition: f.partition, Offset: f.offset,
			MinBytes: 1, MaxBytes: f.maxBytes, MaxWait: f.maxWait,
		})
		if err == nil && res.Error != nil {
			err = res.Error
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, kafka.OffsetOutOfRange) {
				send(ctx, out, fetched{err: fmt.Errorf("fetching %s/%d at offset %d: %w", f.topic, f.partition, f.offset, err)})
				return
			}
			f.logger.Warn("fetch failed, retrying", "topic", f.topic, "partition", f.partition, "offset", f.offset, "err", err, "backoff", backoff)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		b := fetched{next: f.offset}
		err = readRecords(res.Records, f.offset, func(m msg) { b.msgs = append(b.msgs, m) })
		if err != nil {
			f.logger.Warn("reading fetched records failed, retrying", "topic", f.topic, "partition", f.partition, "err", err)
			sleep(ctx, backoff)
			continue
		}
		if len(b.msgs) == 0 {
			f.status.answer(time.Now(), res.HighWatermark, f.offset)
			continue
		}
		b.next = b.msgs[len(b.msgs)-1].offset + 1
		f.offset = b.next
		f.status.answer(time.Now(), res.HighWatermark, f.offset) // before the send, which may wait
		if !f.deliver(ctx, out, b) {
			return
		}
	}
}

// deliver sends b, and while the merge is not ready for it, asks the
// broker every maxWait for the partition's end, so that the status keeps
// telling whether records are still being appended: a merge that waits
// for the other input must still see that this one's producer stopped.
func (f *fetcher) deliver(ctx context.Context, out chan<- fetched, b fetched) bool {
	select {
	case out <- b:
		return true
	case <-ctx.Done():
		return false
	default:
	}
	t := time.NewTicker(f.maxWait)
	defer t.Stop()
	for {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		case <-t.C:
			if _, end, err := endOffset(ctx, f.client, f.topic, f.partition); err == nil {
				f.status.answer(time.Now(), end, f.offset)
			}
		}
	}
}

// readRecords calls fn with every record at or after from.
func readRecords(rr kafka.RecordReader, from int64, fn func(msg)) error {
	if rr == nil {
		return nil
	}
	var keys []byte
	for {
		r, err := rr.ReadRecord()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if r.Offset < from {
			continue
		}
		m := msg{offset: r.Offset, headers: r.Headers}
		if !r.Time.IsZero() {
			m.time = r.Time.UnixMilli()
		}
		if r.Key != nil {
			// Keys (user ids) are small: copy them into shared chunks.
			n := r.Key.Len()
			if cap(keys)-len(keys) < n {
				keys = make([]byte, 0, max(n, 16<<10))
			}
			k := keys[len(keys) : len(keys)+n : len(keys)+n]
			if _, err := io.ReadFull(r.Key, k); err != nil {
				return err
			}
			keys = keys[:len(keys)+n]
			m.key = k
		}
		if r.Value != nil {
			if m.value, err = kafka.ReadAll(r.Value); err != nil {
				return err
			}
		}
		fn(m)
	}
}

func send[T any](ctx context.Context, ch chan<- T, v T) bool {
	select {
	case ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// maxProduceBytes bounds one produce request's uncompressed record bytes,
// below Kafka's default message.max.bytes (1 MiB) for the compressed batch.
const maxProduceBytes = 4 << 20

// outRecord is one record to produce. Its bytes are not read until a
// produce request is built from it, so a failed request can be sent again.
type outRecord struct {
	key, value []byte
	headers    []kafka.Header
}

func (r *outRecord) size() int {
	n := 32 + len(r.key) + len(r.value)
	for _, h := range r.headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// producer writes records to one topic partition with acks=all, one record
// batch per request (batchEncoder). It keeps its buffers between calls;
// not safe for concurrent use.
type producer struct {
	client *kafka.Client
	enc    *batchEncoder
	// acked counts the records of the last produce call that the broker
	// acknowledged (all of them when it returned no error).
	acked int
}

func newProducer(c *kafka.Client, codec kafka.Compression) *producer {
	return &producer{client: c, enc: newBatchEncoder(codec)}
}

// produce writes recs to topic/partition in requests of at most
// maxProduceBytes, one after the other, and returns the offset after the
// last record. It does not retry: a failed request may still have been
// appended, and the caller recovers through its restart path.
func (pr *producer) produce(ctx context.Context, topic string, partition int, recs []outRecord) (end int64, err error) {
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
		res, err := pr.client.RawProduce(ctx, &kafka.RawProduceRequest{
			Topic: topic, Partition: partition, RequiredAcks: kafka.RequireAll,
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
			return -1, fmt.Errorf("producing %d records to %s/%d: %w", n, topic, partition, err)
		}
		end = res.BaseOffset + int64(n)
		pr.acked += n
		recs = recs[n:]
	}
	return end, nil
}

// partitionCounts returns the partition count of each topic that exists.
func partitionCounts(ctx context.Context, c *kafka.Client, topics ...string) (map[string]int, error) {
	res, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("reading metadata of %s: %w", strings.Join(topics, ", "), err)
	}
	out := map[string]int{}
	for _, t := range res.Topics {
		if t.Error != nil {
			if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
				continue
			}
			return nil, fmt.Errorf("metadata of topic %s: %w", t.Name, t.Error)
		}
		out[t.Name] = len(t.Partitions)
	}
	return out, nil
}

// waitForTopic returns the partition count of topic once it exists with
// partitions, retrying (and logging) until then: a stage that reads a topic
// another stage creates, like the archive reading the join's examples, may
// start first. Joining a consumer group before that would get an empty
// assignment that nothing revisits (kafka-go's group only rebalances on
// membership changes here). It returns ctx.Err() when ctx ends first.
func waitForTopic(ctx context.Context, c *kafka.Client, topic string, logger *slog.Logger) (int, error) {
	backoff := 250 * time.Millisecond
	for {
		counts, err := partitionCounts(ctx, c, topic)
		if err == nil && counts[topic] > 0 {
			return counts[topic], nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if err == nil {
			err = fmt.Errorf("topic %s does not exist yet", topic)
		}
		logger.Warn("waiting for the topic to read", "topic", topic, "err", err, "backoff", backoff)
		sleep(ctx, backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}

// ensureTopic creates topic with the given partition count when it does
// not exist, and checks the count when it does (want 0: any count).
func ensureTopic(ctx context.Context, c *kafka.Client, topic string, partitions, want int) (int, error) {
	counts, err := partitionCounts(ctx, c, topic)
	if err != nil {
		return 0, err
	}
	if n, ok := counts[topic]; ok {
		if want > 0 && n != want {
			return n, fmt.Errorf("topic %s has %d partitions, want %d (the input topics' count)", topic, n, want)
		}
		return n, nil
	}
	res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: -1,
	}}})
	if err == nil {
		err = res.Errors[topic]
		if errors.Is(err, kafka.TopicAlreadyExists) {
			err = nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("creating topic %s with %d partitions: %w", topic, partitions, err)
	}
	// Wait until the metadata shows the partitions.
	for i := 0; i < 100; i++ {
		counts, err := partitionCounts(ctx, c, topic)
		if err == nil && counts[topic] == partitions {
			return partitions, nil
		}
		sleep(ctx, 100*time.Millisecond)
	}
	return partitions, nil
}

// EnsureTopics creates each topic with the given partition count when it
// does not exist. The simulator and tests use it.
func EnsureTopics(ctx context.Context, brokers []string, partitions int, topics ...string) error {
	c := newClient(brokers)
	for _, t := range topics {
		if _, err := ensureTopic(ctx, c, t, partitions, 0); err != nil {
			return err
		}
	}
	return nil
}

func newClient(brokers []string) *kafka.Client { return newAuthClient(brokers, Auth{}) }

// newAuthClient is newClient with TLS or SASL.
func newAuthClient(brokers []string, auth Auth) *kafka.Client {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second}
	if auth.enabled() {
		c.Transport = auth.Transport() // else kafka.DefaultTransport, shared
	}
	return c
}

// endOffset returns the high watermark of topic/partition.
func endOffset(ctx context.Context, c *kafka.Client, topic string, partition int) (first, end int64, err error) {
	res, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.FirstOffsetOf(partition), kafka.LastOffsetOf(partition)},
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

// committed is one partition's committed offset and metadata; offset -1
// when none.
type committed struct {
	offset   int64
	metadata string
}

func fetchCommitted(ctx context.Context, c *kafka.Client, group string, partition int, topics ...string) (map[string]committed, error) {
	req := &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{}}
	for _, t := range topics {
		req.Topics[t] = []int{partition}
	}
	res, err := c.OffsetFetch(ctx, req)
	if err == nil && res.Error != nil {
		err = res.Error
	}
	if err != nil {
		return nil, fmt.Errorf("fetching committed offsets of group %s: %w", group, err)
	}
	out := map[string]committed{}
	for _, t := range topics {
		out[t] = committed{offset: -1}
		for _, p := range res.Topics[t] {
			if p.Partition != partition {
				continue
			}
			if p.Error != nil {
				return nil, fmt.Errorf("committed offset of %s/%d in group %s: %w", t, partition, group, p.Error)
			}
			out[t] = committed{offset: p.CommittedOffset, metadata: p.Metadata}
		}
	}
	return out, nil
}

func commitOffsets(ctx context.Context, c *kafka.Client, gen *kafka.Generation, partition int, offs map[string]committed) error {
	req := &kafka.OffsetCommitRequest{
		GroupID: gen.GroupID, GenerationID: int(gen.ID), MemberID: gen.MemberID,
		Topics: map[string][]kafka.OffsetCommit{},
	}
	for t, o := range offs {
		req.Topics[t] = []kafka.OffsetCommit{{Partition: partition, Offset: o.offset, Metadata: o.metadata}}
	}
	res, err := c.OffsetCommit(ctx, req)
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
