package main

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/publisher"
)

// newRunStatusPage builds the status page of `wdstream run` from its
// stages; it reads the model versions through a store of its own.
func newRunStatusPage(ctx context.Context, env *runEnv) (*statusPage, error) {
	src := statusSources{Model: env.cfg.model, Logger: env.logger.With("component", "status")}
	if env.join != nil {
		src.Join = env.join.Stats
	}
	if env.archive != nil {
		src.Archive = env.archive.Stats
	}
	if env.train != nil {
		src.Train = env.train.Status
	}
	if env.cfg.store != "" && env.cfg.model != "" {
		st, err := publisher.OpenStore(ctx, env.cfg.store)
		if err != nil {
			return nil, err
		}
		env.closers = append(env.closers, st.Close)
		src.Store, src.Where = st, st.String()
	}
	client := &kafka.Client{Addr: kafka.TCP(env.cfg.brokers...), Timeout: 5 * time.Second, Transport: env.auth.Transport()}
	groups := map[string]struct {
		group  string
		topics []string
	}{}
	if env.join != nil {
		groups["join"] = struct {
			group  string
			topics []string
		}{env.cfg.group, []string{env.cfg.topicImps, env.cfg.topicIns}}
	}
	if env.archive != nil {
		groups["archive"] = struct {
			group  string
			topics []string
		}{env.cfg.archiveGroup, []string{env.cfg.topicEx}}
	}
	if env.train != nil {
		groups["train"] = struct {
			group  string
			topics []string
		}{env.cfg.svc.trainGroup, []string{env.cfg.topicEx}}
	}
	src.Lag = func(ctx context.Context) map[string]int64 {
		out := map[string]int64{}
		for stage, g := range groups {
			if n, err := groupLag(ctx, client, g.group, g.topics); err == nil {
				out[stage] = n
			}
		}
		return out
	}
	return newStatusPage(src), nil
}

// groupLag returns the records of topics that group has not committed: the
// sum over partitions of the end offset minus the committed offset (the
// partition's start when nothing is committed).
func groupLag(ctx context.Context, c *kafka.Client, group string, topics []string) (int64, error) {
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return 0, err
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	fetch := &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{}}
	for _, t := range md.Topics {
		if t.Error != nil {
			return 0, t.Error
		}
		for _, p := range t.Partitions {
			req.Topics[t.Name] = append(req.Topics[t.Name], kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
			fetch.Topics[t.Name] = append(fetch.Topics[t.Name], p.ID)
		}
	}
	ends, err := c.ListOffsets(ctx, req)
	if err != nil {
		return 0, err
	}
	com, err := c.OffsetFetch(ctx, fetch)
	if err != nil {
		return 0, err
	}
	if com.Error != nil {
		return 0, com.Error
	}
	committed := map[string]map[int]int64{}
	for t, ps := range com.Topics {
		committed[t] = map[int]int64{}
		for _, p := range ps {
			if p.Error == nil {
				committed[t][p.Partition] = p.CommittedOffset
			}
		}
	}
	var lag int64
	for t, ps := range ends.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return 0, p.Error
			}
			at, ok := committed[t][p.Partition]
			if !ok || at < 0 {
				at = p.FirstOffset
			}
			lag += max(p.LastOffset-at, 0)
		}
	}
	return lag, nil
}
