package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	kg "github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/internal/backoff"
)

// Header is a record header.
type Header = kg.Header

// Message is one record read from a topic partition.
type Message struct {
	Offset  int64
	Time    int64 // the record's Kafka timestamp, Unix ms (0: none)
	Key     []byte
	Value   []byte
	Headers []Header
}

// Fetched is one fetch response with records (at or after the requested
// offset), or a fatal error.
type Fetched struct {
	Msgs []Message
	Next int64 // offset after the last record (the next to fetch)
	Err  error
}

// ConfirmFresh bounds the age of the fetch response that says a partition
// is at its end: a fetcher whose fetches stopped answering (a broker
// restart, a network partition) does not know that it is caught up, so its
// status never says still. A Fetcher long-polls for at most its MaxWait
// (500 ms in wdstream), so a caught-up one gets an answer about twice a
// second.
const ConfirmFresh = 5 * time.Second

// FetchStatus is what a Fetcher knows of its partition's end, shared with
// its reader: the partition's high watermark by the broker's latest
// answer, since when it has not grown (no record appended), when that
// answer came, and the offset the fetcher has fetched up to. Make it with
// NewFetchStatus.
type FetchStatus struct {
	mu        sync.Mutex
	hwm       int64 // -1 before any answer
	since     time.Time
	confirmed time.Time
	fetched   int64
}

// answer records one answer of the broker at time at: the high watermark
// end, and the offset fetched up to. The time without growth restarts
// when end grows, and after a gap longer than ConfirmFresh between
// answers (a broker restart: nothing was watched meanwhile).
// NewFetchStatus returns the status of a fetcher that has had no answer.
func NewFetchStatus() *FetchStatus { return &FetchStatus{hwm: -1} }

func (s *FetchStatus) answer(at time.Time, end, fetched int64) {
	s.mu.Lock()
	if end != s.hwm || s.since.IsZero() || at.Sub(s.confirmed) > ConfirmFresh {
		s.hwm, s.since = end, at
	}
	s.confirmed, s.fetched = at, fetched
	s.mu.Unlock()
}

// Still reports whether no record has been appended to the partition for
// at least idle, by answers no older than ConfirmFresh.
func (s *FetchStatus) Still(now time.Time, idle time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.since.IsZero() && now.Sub(s.since) >= idle && now.Sub(s.confirmed) <= ConfirmFresh
}

// CaughtUp reports whether the fetcher has fetched every record of the
// partition, by the latest answer.
func (s *FetchStatus) CaughtUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hwm >= 0 && s.fetched >= s.hwm
}

// Fetcher reads one topic partition from Offset into a channel until its
// context is done. Answers without records only update Status. Transient
// errors (a broker restarting) are retried with backoff; an offset out of
// range is sent as a fatal error.
type Fetcher struct {
	Client    *Client
	Topic     string
	Partition int
	Offset    int64
	MaxBytes  int64
	MaxWait   time.Duration
	Logger    *slog.Logger
	Status    *FetchStatus
}

// Run fetches into out until ctx is done or a fatal error was sent.
func (f *Fetcher) Run(ctx context.Context, out chan<- Fetched) {
	bo := backoff.New(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		res, err := f.Client.c.Fetch(ctx, &kg.FetchRequest{
			Topic: f.Topic, Partition: f.Partition, Offset: f.Offset,
			MinBytes: 1, MaxBytes: f.MaxBytes, MaxWait: f.MaxWait,
		})
		if err == nil && res.Error != nil {
			err = res.Error
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, kg.OffsetOutOfRange) {
				send(ctx, out, Fetched{Err: fmt.Errorf("fetching %s/%d at offset %d: %w", f.Topic, f.Partition, f.Offset, err)})
				return
			}
			wait := bo.Next()
			f.Logger.Warn("fetch failed, retrying", "topic", f.Topic, "partition", f.Partition, "offset", f.Offset, "err", err, "backoff", wait)
			backoff.Sleep(ctx, wait)
			continue
		}
		bo.Reset()
		b := Fetched{Next: f.Offset}
		err = readRecords(res.Records, f.Offset, func(m Message) { b.Msgs = append(b.Msgs, m) })
		if err != nil {
			f.Logger.Warn("reading fetched records failed, retrying", "topic", f.Topic, "partition", f.Partition, "err", err)
			bo.Wait(ctx)
			continue
		}
		if len(b.Msgs) == 0 {
			f.Status.answer(time.Now(), res.HighWatermark, f.Offset)
			continue
		}
		b.Next = b.Msgs[len(b.Msgs)-1].Offset + 1
		f.Offset = b.Next
		f.Status.answer(time.Now(), res.HighWatermark, f.Offset) // before the send, which may wait
		if !f.deliver(ctx, out, b) {
			return
		}
	}
}

// deliver sends b, and while the merge is not ready for it, asks the
// broker every maxWait for the partition's end, so that the status keeps
// telling whether records are still being appended: a merge that waits
// for the other input must still see that this one's producer stopped.
func (f *Fetcher) deliver(ctx context.Context, out chan<- Fetched, b Fetched) bool {
	select {
	case out <- b:
		return true
	case <-ctx.Done():
		return false
	default:
	}
	t := time.NewTicker(f.MaxWait)
	defer t.Stop()
	for {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		case <-t.C:
			if _, end, err := f.Client.PartitionOffsets(ctx, f.Topic, f.Partition); err == nil {
				f.Status.answer(time.Now(), end, f.Offset)
			}
		}
	}
}

// readRecords calls fn with every record at or after from.
func readRecords(rr kg.RecordReader, from int64, fn func(Message)) error {
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
		m := Message{Offset: r.Offset, Headers: r.Headers}
		if !r.Time.IsZero() {
			m.Time = r.Time.UnixMilli()
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
			m.Key = k
		}
		if r.Value != nil {
			if m.Value, err = kg.ReadAll(r.Value); err != nil {
				return err
			}
		}
		fn(m)
	}
}

// FetchOnce fetches topic/partition once from offset (up to maxBytes,
// waiting at most maxWait for a record) and returns the records at or
// after offset and the partition's high watermark.
func (c *Client) FetchOnce(ctx context.Context, topic string, partition int, offset int64, maxBytes int, maxWait time.Duration) ([]Message, int64, error) {
	res, err := c.c.Fetch(ctx, &kg.FetchRequest{
		Topic: topic, Partition: partition, Offset: offset, MinBytes: 1, MaxBytes: int64(maxBytes), MaxWait: maxWait,
	})
	if err == nil && res.Error != nil {
		err = res.Error
	}
	if err != nil {
		return nil, 0, fmt.Errorf("kafka: fetching %s/%d at %d: %w", topic, partition, offset, err)
	}
	var msgs []Message
	if err := readRecords(res.Records, offset, func(m Message) { msgs = append(msgs, m) }); err != nil {
		return nil, 0, fmt.Errorf("kafka: reading records of %s/%d at %d: %w", topic, partition, offset, err)
	}
	return msgs, res.HighWatermark, nil
}

func send[T any](ctx context.Context, ch chan<- T, v T) bool {
	select {
	case ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}
