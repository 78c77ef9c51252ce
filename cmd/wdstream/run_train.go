package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/continuous"
	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/trainer"
)

// serviceFlags are the flags of `wdstream run` beyond the join and archive
// stages': the train stage, Kafka security and the HTTP port.
type serviceFlags struct {
	trainGroup, trainStart  string
	checkpointEvery         time.Duration
	trainedLog              bool
	workers                 int
	http                    string
	kafkaTLS, kafkaTLSSkip  bool
	kafkaCA, kafkaCert      string
	kafkaKey, kafkaSASL     string
	kafkaUser, kafkaPassEnv string
}

func addServiceFlags(fs *flag.FlagSet, f *serviceFlags) {
	fs.StringVar(&f.trainGroup, "train-group", "wdstream-train", "consumer group the train stage commits its offsets under (monitoring; checkpoints own the offsets)")
	fs.StringVar(&f.trainStart, "train-start", "earliest", "where the train stage starts a partition it has no offset for: earliest or latest")
	fs.DurationVar(&f.checkpointEvery, "checkpoint-every", time.Minute, "time between train-stage checkpoints in the store")
	fs.BoolVar(&f.trainedLog, "trained-log", false, "debug: record the (impression_id, label) of every trained example in the checkpoints (keeps every checkpoint)")
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "training threads")
	fs.StringVar(&f.http, "http", "", "address of the HTTP port for /metrics, /healthz, /readyz and the status page (e.g. :8080); empty: none")
	fs.BoolVar(&f.kafkaTLS, "kafka-tls", false, "connect to Kafka over TLS")
	fs.StringVar(&f.kafkaCA, "kafka-tls-ca", "", "PEM CA bundle for the brokers' certificates (added to the system roots)")
	fs.StringVar(&f.kafkaCert, "kafka-tls-cert", "", "PEM client certificate (with --kafka-tls-key)")
	fs.StringVar(&f.kafkaKey, "kafka-tls-key", "", "PEM client key")
	fs.BoolVar(&f.kafkaTLSSkip, "kafka-tls-insecure", false, "do not verify the brokers' certificates (testing only)")
	fs.StringVar(&f.kafkaSASL, "kafka-sasl", "", "SASL mechanism: plain, scram-sha-256 or scram-sha-512")
	fs.StringVar(&f.kafkaUser, "kafka-user", "", "SASL user")
	fs.StringVar(&f.kafkaPassEnv, "kafka-password-env", "WDSTREAM_KAFKA_PASSWORD", "environment variable holding the SASL password")
}

func (f *serviceFlags) auth() (ingest.Auth, error) {
	return ingest.AuthOptions{
		TLS: f.kafkaTLS, CAFile: f.kafkaCA, CertFile: f.kafkaCert, KeyFile: f.kafkaKey, Insecure: f.kafkaTLSSkip,
		SASL: f.kafkaSASL, User: f.kafkaUser, Password: os.Getenv(f.kafkaPassEnv),
	}.Build()
}

func buildTrainStage(ctx context.Context, env *runEnv) (func(context.Context) error, error) {
	f := env.svc
	if env.f.store == "" || env.f.model == "" {
		return nil, fmt.Errorf("the train stage needs --store and --model")
	}
	start := int64(kafka.FirstOffset)
	switch f.trainStart {
	case "earliest":
	case "latest":
		start = kafka.LastOffset
	default:
		return nil, fmt.Errorf("--train-start %q: want earliest or latest", f.trainStart)
	}
	trainer.UseBestBLAS()
	store, err := publisher.OpenStore(ctx, env.f.store)
	if err != nil {
		return nil, err
	}
	hooks, err := publisher.NewHooks(env.sp.Hooks, publisher.HookConfig{KafkaBrokers: env.brokers})
	if err != nil {
		store.Close()
		return nil, err
	}
	pub, err := publisher.New(store, publisher.Options{Hooks: hooks, Logger: env.logger, Registerer: env.reg})
	if err != nil {
		store.Close()
		return nil, err
	}
	st, err := continuous.New(continuous.Config{
		Spec: env.sp, Model: env.f.model, Store: store, Publisher: pub,
		Brokers: env.brokers, Auth: env.auth, Topic: env.f.topicEx, TrainGroup: f.trainGroup,
		StartDefault: start, CheckpointEvery: f.checkpointEvery, TrainedLog: f.trainedLog,
		Workers: f.workers, Logger: env.logger, Registerer: env.reg,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	env.train = st
	return func(ctx context.Context) error {
		err := st.Run(ctx)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if cerr := pub.Close(cctx); cerr != nil {
			env.logger.Warn("closing the publisher's hooks", "err", cerr)
		}
		store.Close()
		return err
	}, nil
}
