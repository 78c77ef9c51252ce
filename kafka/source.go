package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Record is one message of a topic partition.
type Record struct {
	Partition int
	Offset    int64
	Value     []byte
}

// SourceConfig configures a Source.
type SourceConfig struct {
	Brokers []string
	Topic   string
	Auth    Auth
	// Start gives the first offset to read per partition; a partition not
	// in it starts at StartDefault (kafka.FirstOffset or kafka.LastOffset).
	Start        map[int]int64
	StartDefault int64
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
	out     chan Record
	errc    chan error
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	readers []*kafka.Reader
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
	if cfg.StartDefault == 0 {
		cfg.StartDefault = kafka.FirstOffset
	}
	c := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: cfg.Auth.Transport(), Timeout: 10 * time.Second}
	counts, err := partitionCounts(ctx, c, cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", cfg.Topic, err)
	}
	n := counts[cfg.Topic]
	if n == 0 {
		return nil, fmt.Errorf("source: topic %s has no partitions (does it exist?)", cfg.Topic)
	}
	rctx, cancel := context.WithCancel(context.Background())
	s := &Source{cfg: cfg, out: make(chan Record, cfg.Buffer), errc: make(chan error, n), cancel: cancel, parts: n}
	for p := range n {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: cfg.Brokers, Topic: cfg.Topic, Partition: p, Dialer: cfg.Auth.Dialer(),
			MinBytes: 1, MaxBytes: 8 << 20, MaxWait: cfg.MaxWait, ReadBackoffMax: time.Second,
		})
		start, ok := cfg.Start[p]
		if !ok {
			start = cfg.StartDefault
		}
		if err := r.SetOffset(start); err != nil {
			cancel()
			s.closeReaders()
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
func (s *Source) Records() <-chan Record { return s.out }

// Err delivers a reader's fatal error.
func (s *Source) Err() <-chan error { return s.errc }

func (s *Source) read(ctx context.Context, p int, r *kafka.Reader) {
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
		case s.out <- Record{Partition: p, Offset: m.Offset, Value: m.Value}:
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

// CommitOffsets records next offsets of a consumer group without joining it
// (generation -1), so that lag tools show the caller's progress. offsets
// maps partition to the next offset to read.
func CommitOffsets(ctx context.Context, brokers []string, auth Auth, group, topic string, offsets map[int]int64) error {
	if len(offsets) == 0 {
		return nil
	}
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: auth.Transport(), Timeout: 10 * time.Second}
	var oc []kafka.OffsetCommit
	for p, off := range offsets {
		oc = append(oc, kafka.OffsetCommit{Partition: p, Offset: off})
	}
	res, err := c.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{topic: oc}})
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
