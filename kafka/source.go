package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	kg "github.com/segmentio/kafka-go"
)

// SourceRecord is one record read by a Source.
type SourceRecord struct {
	Partition int
	Offset    int64
	Value     []byte
}

// StartAt says where a reader starts on a partition it has no offset for.
// Its zero value is AtFirst.
type StartAt int8

// The starting points.
const (
	// AtFirst: the partition's first offset (all it holds).
	AtFirst StartAt = iota
	// AtEnd: the partition's end (only records appended from then on).
	AtEnd
)

func (s StartAt) kafkaGo() int64 {
	if s == AtEnd {
		return kg.LastOffset
	}
	return kg.FirstOffset
}

// SourceConfig configures a Source.
type SourceConfig struct {
	Brokers []string
	Topic   string
	Auth    Auth
	// Start gives the first offset to read per partition; a partition not
	// in it starts at StartDefault (AtFirst, the zero value, or AtEnd).
	Start        map[int]int64
	StartDefault StartAt
	// Buffer is the number of records held between the readers and the
	// consumer (the backpressure bound). Default 4096.
	Buffer int
	// MaxWait bounds how long a fetch waits for new data. Default 250ms.
	MaxWait time.Duration
}

// Source reads every partition of a topic from explicit offsets, without a
// consumer group: the owner of the offsets is the caller (the train stage
// keeps them in its checkpoints). Records of one partition arrive in offset
// order; partitions interleave.
type Source struct {
	cfg     SourceConfig
	out     chan SourceRecord
	errc    chan error
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	readers []*kg.Reader
	parts   int
}

// OpenSource looks up the topic's partitions and starts one reader each.
func OpenSource(ctx context.Context, cfg SourceConfig) (*Source, error) {
	if len(cfg.Brokers) == 0 || cfg.Topic == "" {
		return nil, errors.New("source: brokers and topic are required")
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 4096
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 250 * time.Millisecond
	}
	c := NewClient(cfg.Brokers, cfg.Auth)
	counts, err := c.PartitionCounts(ctx, cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", cfg.Topic, err)
	}
	n := counts[cfg.Topic]
	if n == 0 {
		return nil, fmt.Errorf("source: topic %s has no partitions (does it exist?)", cfg.Topic)
	}
	rctx, cancel := context.WithCancel(context.Background())
	s := &Source{cfg: cfg, out: make(chan SourceRecord, cfg.Buffer), errc: make(chan error, n), cancel: cancel, parts: n}
	for p := range n {
		r := kg.NewReader(kg.ReaderConfig{
			Brokers: cfg.Brokers, Topic: cfg.Topic, Partition: p, Dialer: cfg.Auth.dialer(),
			MinBytes: 1, MaxBytes: 8 << 20, MaxWait: cfg.MaxWait, ReadBackoffMax: time.Second,
		})
		start, ok := cfg.Start[p]
		if !ok {
			start = cfg.StartDefault.kafkaGo()
		}
		if err := r.SetOffset(start); err != nil {
			cancel()
			_ = s.closeReaders()
			r.Close()
			return nil, fmt.Errorf("source %s/%d: offset %d: %w", cfg.Topic, p, start, err)
		}
		s.readers = append(s.readers, r)
		s.wg.Add(1)
		go s.read(rctx, p, r)
	}
	return s, nil
}

// Partitions is the topic's partition count.
func (s *Source) Partitions() int { return s.parts }

// Records delivers the records; it is never closed while the Source runs.
func (s *Source) Records() <-chan SourceRecord { return s.out }

// Err delivers a reader's fatal error.
func (s *Source) Err() <-chan error { return s.errc }

func (s *Source) read(ctx context.Context, p int, r *kg.Reader) {
	defer s.wg.Done()
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.errc <- fmt.Errorf("source %s/%d: %w", s.cfg.Topic, p, err)
			}
			return
		}
		select {
		case s.out <- SourceRecord{Partition: p, Offset: m.Offset, Value: m.Value}:
		case <-ctx.Done():
			return
		}
	}
}

// Close stops the readers; records still buffered are dropped (their
// offsets were not consumed, so the caller's offsets stay exact).
func (s *Source) Close() error {
	s.cancel()
	s.wg.Wait()
	return s.closeReaders()
}

func (s *Source) closeReaders() error {
	var errs []error
	for _, r := range s.readers {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

// CommitStandalone records next offsets of a consumer group without
// joining it (generation -1), so that lag tools show the caller's
// progress. offsets maps partition to the next offset to read.
func (c *Client) CommitStandalone(ctx context.Context, group, topic string, offsets map[int]int64) error {
	if len(offsets) == 0 {
		return nil
	}
	var oc []kg.OffsetCommit
	for p, off := range offsets {
		oc = append(oc, kg.OffsetCommit{Partition: p, Offset: off})
	}
	res, err := c.c.OffsetCommit(ctx, &kg.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: map[string][]kg.OffsetCommit{topic: oc}})
	if err != nil {
		return fmt.Errorf("committing %s offsets of group %s: %w", topic, group, err)
	}
	for _, parts := range res.Topics {
		for _, p := range parts {
			if p.Error != nil {
				return fmt.Errorf("committing %s/%d of group %s: %w", topic, p.Partition, group, p.Error)
			}
		}
	}
	return nil
}
