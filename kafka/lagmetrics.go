package kafka

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LagSource is one consumer group's reading of one topic, exported with
// the stage that reads it.
type LagSource struct {
	Stage, Group, Topic string
}

// lagCollector exports the consumer lag of the service's groups, per group
// and topic (Client.Lag, the status page's definition too). It asks Kafka at
// most every interval and serves the cached values in between, so that
// scrapes stay cheap. For the join stage this is the join lag; for the
// train stage, whose commits follow its checkpoints, it is the work not yet
// checkpointed plus what it has not read.
type lagCollector struct {
	client   *Client
	sources  []LagSource
	interval time.Duration
	logger   *slog.Logger
	desc     *prometheus.Desc
	errDesc  *prometheus.Desc

	mu     sync.Mutex
	at     time.Time
	values []float64 // per source; -1 when unknown
	errs   float64
}

// NewLagCollector returns the collector of the consumer lag of sources,
// read through c at most every interval.
func NewLagCollector(c *Client, sources []LagSource, interval time.Duration, logger *slog.Logger) prometheus.Collector {
	return &lagCollector{
		client:   c,
		sources:  sources,
		interval: interval,
		logger:   logger,
		desc: prometheus.NewDesc("wdstream_consumer_lag_records",
			"Records of the topic the stage's consumer group has still to read: end offset minus the committed offset, or minus the first offset when nothing is committed or the commit is older than retention (summed over partitions); refreshed at most every 10s. stage=join is the join lag.",
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
			n, err := c.client.Lag(ctx, s.Group, s.Topic)
			lag := float64(n)
			if err != nil {
				c.errs++
				c.logger.Debug("consumer lag", "group", s.Group, "topic", s.Topic, "err", err)
				lag = -1
			}
			c.values[i] = lag
		}
		cancel()
	}
	for i, s := range c.sources {
		if v := c.values[i]; v >= 0 {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, s.Stage, s.Group, s.Topic)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.errDesc, prometheus.CounterValue, c.errs)
}
