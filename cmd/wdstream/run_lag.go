package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/ingest"
)

// lagSource is one consumer group's reading of one topic.
type lagSource struct {
	stage, group, topic string
}

// lagCollector exports the consumer lag of the service's groups: per group
// and topic, the sum over partitions of the end offset minus the committed
// offset (the whole partition when nothing is committed). It asks Kafka at
// most every interval and serves the cached values in between, so that
// scrapes stay cheap. For the join stage this is the join lag; for the
// train stage, whose commits follow its checkpoints, it is the work not yet
// checkpointed plus what it has not read.
type lagCollector struct {
	client   *kafka.Client
	sources  []lagSource
	interval time.Duration
	logger   *slog.Logger
	desc     *prometheus.Desc
	errDesc  *prometheus.Desc

	mu     sync.Mutex
	at     time.Time
	values []float64 // per source; -1 when unknown
	errs   float64
}

func newLagCollector(brokers []string, auth ingest.Auth, sources []lagSource, interval time.Duration, logger *slog.Logger) *lagCollector {
	return &lagCollector{
		client:   &kafka.Client{Addr: kafka.TCP(brokers...), Transport: auth.Transport(), Timeout: 5 * time.Second},
		sources:  sources,
		interval: interval,
		logger:   logger,
		desc: prometheus.NewDesc("wdstream_consumer_lag_records",
			"Records of the topic not yet committed by the stage's consumer group (end offset minus committed offset, summed over partitions); refreshed at most every 10s. stage=join is the join lag.",
			[]string{"stage", "group", "topic"}, nil),
		errDesc: prometheus.NewDesc("wdstream_consumer_lag_errors_total", "Failed lag refreshes (Kafka unreachable, group or topic missing).", nil, nil),
	}
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.errDesc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) >= c.interval {
		c.at = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.values = make([]float64, len(c.sources))
		for i, s := range c.sources {
			lag, err := c.lag(ctx, s)
			if err != nil {
				c.errs++
				c.logger.Debug("consumer lag", "group", s.group, "topic", s.topic, "err", err)
				lag = -1
			}
			c.values[i] = lag
		}
		cancel()
	}
	for i, s := range c.sources {
		if v := c.values[i]; v >= 0 {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, s.stage, s.group, s.topic)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.errDesc, prometheus.CounterValue, c.errs)
}

// lag asks Kafka for the end offsets of s.topic and s.group's commits.
func (c *lagCollector) lag(ctx context.Context, s lagSource) (float64, error) {
	md, err := c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{s.topic}})
	if err != nil {
		return 0, err
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) == 0 {
		return 0, fmt.Errorf("topic %s not found", s.topic)
	}
	var parts []int
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		parts = append(parts, p.ID)
		reqs = append(reqs, kafka.LastOffsetOf(p.ID))
	}
	lo, err := c.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{s.topic: reqs}})
	if err != nil {
		return 0, err
	}
	of, err := c.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: s.group, Topics: map[string][]int{s.topic: parts}})
	if err != nil {
		return 0, err
	}
	if of.Error != nil {
		return 0, of.Error
	}
	committed := map[int]int64{}
	for _, p := range of.Topics[s.topic] {
		if p.Error == nil && p.CommittedOffset >= 0 {
			committed[p.Partition] = p.CommittedOffset
		}
	}
	var lag int64
	for _, p := range lo.Topics[s.topic] {
		if p.Error != nil {
			return 0, p.Error
		}
		lag += max(p.LastOffset-committed[p.Partition], 0)
	}
	return float64(lag), nil
}

// registerLagMetrics exports the consumer lag of the stages env runs.
func registerLagMetrics(env *runEnv) {
	var src []lagSource
	c := env.cfg
	if containsStr(c.stages, "join") {
		src = append(src, lagSource{"join", c.group, c.topicImps}, lagSource{"join", c.group, c.topicIns})
	}
	if containsStr(c.stages, "archive") {
		src = append(src, lagSource{"archive", c.archiveGroup, c.topicEx})
	}
	if containsStr(c.stages, "train") {
		src = append(src, lagSource{"train", c.svc.trainGroup, c.topicEx})
	}
	env.reg.MustRegister(newLagCollector(c.brokers, env.auth, src, 10*time.Second, env.logger.With("component", "lag")))
}
