package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	kg "github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/internal/backoff"
)

// Generation is one generation of a consumer group: offsets are
// committed in its name (Client.Commit), and refused once it has ended.
type Generation struct {
	GroupID  string
	ID       int32
	MemberID string
}

// GroupRunner runs one worker per assigned partition number for each
// generation of a consumer group, until ctx is done. Every member uses the
// CoPartitionBalancer, so that partition p of every topic goes to the same
// member. A worker's context ends when the generation ends (rebalance) or
// when ctx is done (shutdown): it then stops intake, makes its work
// durable and returns.
type GroupRunner struct {
	Brokers []string
	Auth    Auth
	Group   string
	Topics  []string
	Logger  *slog.Logger
	// Work runs one partition. It should return only when ctx is done or on
	// an error it cannot recover from (which ends the generation).
	Work func(ctx context.Context, gen Generation, partition int) error
}

// Run takes part in the group until ctx is done (nil then), rejoining
// after a failed generation.
func (g *GroupRunner) Run(ctx context.Context) error {
	var dialer *kg.Dialer // nil: kafka-go's default
	if g.Auth.Enabled() {
		dialer = g.Auth.dialer()
	}
	cg, err := kg.NewConsumerGroup(kg.ConsumerGroupConfig{
		Dialer:            dialer,
		ID:                g.Group,
		Brokers:           g.Brokers,
		Topics:            g.Topics,
		GroupBalancers:    []kg.GroupBalancer{CoPartitionBalancer{}},
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  30 * time.Second,
		JoinGroupBackoff:  time.Second,
		StartOffset:       kg.FirstOffset,
		ErrorLogger:       kg.LoggerFunc(func(f string, a ...any) { g.Logger.Debug("kafka group: " + fmt.Sprintf(f, a...)) }),
	})
	if err != nil {
		return fmt.Errorf("joining consumer group %s: %w", g.Group, err)
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
			if errors.Is(err, kg.ErrGroupClosed) {
				return nil
			}
			g.Logger.Warn("consumer group generation failed, rejoining", "group", g.Group, "err", err)
			backoff.Sleep(ctx, time.Second)
			continue
		}
		parts, err := assignedPartitions(gen, g.Topics)
		if err != nil {
			return err
		}
		g.Logger.Info("partitions assigned", "group", g.Group, "generation", gen.ID, "member", gen.MemberID, "partitions", parts)
		var wg sync.WaitGroup
		for _, p := range parts {
			wg.Add(1)
			gen.Start(func(gctx context.Context) {
				defer wg.Done()
				wctx, cancel := context.WithCancel(gctx)
				defer cancel()
				stop := context.AfterFunc(ctx, cancel)
				defer stop()
				if err := g.Work(wctx, Generation{GroupID: gen.GroupID, ID: gen.ID, MemberID: gen.MemberID}, p); err != nil {
					g.Logger.Error("partition worker stopped", "group", g.Group, "partition", p, "err", err)
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
func assignedPartitions(gen *kg.Generation, topics []string) ([]int, error) {
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

// GenerationEnded reports whether err says that the consumer group's
// generation is over (a rebalance, the member fenced or expelled): the
// worker must return and let the next generation begin.
func GenerationEnded(err error) bool {
	return errors.Is(err, kg.IllegalGeneration) || errors.Is(err, kg.UnknownMemberId) ||
		errors.Is(err, kg.RebalanceInProgress) || errors.Is(err, kg.FencedInstanceID)
}
