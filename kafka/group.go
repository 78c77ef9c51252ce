package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// groupRunner runs one worker per assigned partition number for each
// generation of a consumer group, until ctx is done. A worker's context ends
// when the generation ends (rebalance) or when ctx is done (shutdown): it
// then stops intake, makes its work durable and returns.
type groupRunner struct {
	brokers []string
	auth    Auth
	group   string
	topics  []string
	logger  *slog.Logger
	// work runs one partition. It should return only when ctx is done or on
	// an error it cannot recover from (which ends the generation).
	work func(ctx context.Context, gen *kafka.Generation, partition int) error
}

func (g *groupRunner) run(ctx context.Context) error {
	var dialer *kafka.Dialer // nil: kafka-go's default
	if g.auth.enabled() {
		dialer = g.auth.Dialer()
	}
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		Dialer:            dialer,
		ID:                g.group,
		Brokers:           g.brokers,
		Topics:            g.topics,
		GroupBalancers:    []kafka.GroupBalancer{CoPartitionBalancer{}},
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  30 * time.Second,
		JoinGroupBackoff:  time.Second,
		StartOffset:       kafka.FirstOffset,
		ErrorLogger:       kafka.LoggerFunc(func(f string, a ...any) { g.logger.Debug("kafka group: " + fmt.Sprintf(f, a...)) }),
	})
	if err != nil {
		return fmt.Errorf("joining consumer group %s: %w", g.group, err)
	}
	defer cg.Close()
	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				// Leaving the group waits for the workers, which drain
				// and commit as ctx is done.
				return nil
			}
			if errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			g.logger.Warn("consumer group generation failed, rejoining", "group", g.group, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		parts, err := assignedPartitions(gen, g.topics)
		if err != nil {
			return err
		}
		g.logger.Info("partitions assigned", "group", g.group, "generation", gen.ID, "member", gen.MemberID, "partitions", parts)
		var wg sync.WaitGroup
		for _, p := range parts {
			wg.Add(1)
			gen.Start(func(gctx context.Context) {
				defer wg.Done()
				wctx, cancel := context.WithCancel(gctx)
				defer cancel()
				stop := context.AfterFunc(ctx, cancel)
				defer stop()
				if err := g.work(wctx, gen, p); err != nil {
					g.logger.Error("partition worker stopped", "group", g.group, "partition", p, "err", err)
				}
			})
		}
		if len(parts) == 0 {
			// Nothing assigned: still take part in the generation so that
			// it ends on the next rebalance.
			gen.Start(func(gctx context.Context) {
				select {
				case <-gctx.Done():
				case <-ctx.Done():
				}
			})
		}
	}
}

// assignedPartitions returns the partition numbers assigned in gen, which
// must be the same for every topic.
func assignedPartitions(gen *kafka.Generation, topics []string) ([]int, error) {
	var first []int
	for i, t := range topics {
		var ps []int
		for _, a := range gen.Assignments[t] {
			ps = append(ps, a.ID)
		}
		slices.Sort(ps)
		if i == 0 {
			first = ps
			continue
		}
		if !slices.Equal(first, ps) {
			return nil, fmt.Errorf("group %s: partitions %v of %s and %v of %s are not the same numbers: is every member using the wdstream-copartition balancer?", gen.GroupID, first, topics[0], ps, t)
		}
	}
	return first, nil
}
