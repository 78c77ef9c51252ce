package main

import (
	"errors"
	"flag"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/serve"
)

// serveImpressionFlags are serve's flags for logging what it served to the
// impressions topic (serve/impressions.go).
type serveImpressionFlags struct {
	on       bool
	topic    string
	position string
	queue    int
	shown    int
}

func (f *serveImpressionFlags) add(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "log-impressions", false,
		"with --brokers: write every candidate answered to --topic-impressions in the join's format (its impression_id returned in impression_ids), from a bounded queue; dropped and counted, never waited for, when Kafka cannot take them")
	fs.StringVar(&f.topic, "topic-impressions", ingest.DefaultImpressionsTopic, "with --log-impressions: the impressions topic (it must exist, with the installs topic's partition count)")
	fs.StringVar(&f.position, "position-column", "position", "with --log-impressions: the feature column set to the position a candidate was ranked at (1: first), replacing the request's value ('-': none, the request's value logged as scored)")
	fs.IntVar(&f.shown, "log-shown", 0, "with --log-impressions: log only the candidates ranked 1..K of each answer, the ones a client shows (0: every candidate answered)")
	fs.IntVar(&f.queue, "impressions-queue", 0, "with --log-impressions: impressions that may wait for Kafka (0: 100000); beyond, a request's impressions are dropped")
}

// sink returns the Kafka sink of served impressions, nil without
// --log-impressions.
func (f *serveImpressionFlags) sink(brokers []string, auth kafka.Auth, logger *slog.Logger, reg prometheus.Registerer) (*serve.KafkaImpressions, error) {
	if !f.on {
		return nil, nil
	}
	if len(brokers) == 0 {
		return nil, errors.New("--log-impressions needs --brokers")
	}
	return serve.NewKafkaImpressions(serve.KafkaImpressionsConfig{
		Brokers: brokers, Auth: auth, Topic: f.topic, PositionColumn: f.position, Queue: f.queue, Shown: f.shown,
		Logger: logger.With("component", "impressions"), Registerer: reg,
	})
}
