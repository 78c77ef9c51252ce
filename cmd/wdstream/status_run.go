package main

import (
	"context"

	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/status"
)

// newRunStatusPage builds the status page of `wdstream run` from its
// stages; it reads the model versions through a store of its own.
func newRunStatusPage(ctx context.Context, env *runEnv) (*status.Page, error) {
	src := status.Sources{Model: env.cfg.model, Logger: env.logger.With("component", "status")}
	if env.join != nil {
		src.Join = env.join.Stats
	}
	if env.archive != nil {
		src.Archive = env.archive.Stats
	}
	if env.train != nil {
		src.Train = env.train.Status
	}
	if env.serve != nil {
		src.Serve = env.serve.Stats
	}
	if env.cfg.store != "" && env.cfg.model != "" {
		st, err := publisher.OpenStore(ctx, env.cfg.store)
		if err != nil {
			return nil, err
		}
		env.closers = append(env.closers, st.Close)
		src.Store, src.Where = st, st.String()
	}
	client := kafka.NewClient(env.cfg.brokers, env.auth)
	env.closers = append(env.closers, func() error { client.Close(); return nil })
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
			if n, err := client.Lag(ctx, g.group, g.topics...); err == nil {
				out[stage] = n
			}
		}
		return out
	}
	return status.New(src), nil
}
