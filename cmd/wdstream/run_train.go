package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/wdstream/wdstream/continuous"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/publisher"
)

// serviceFlags are the flags of `wdstream run` beyond the join and archive
// stages': the train stage, Kafka security and the HTTP port.
type serviceFlags struct {
	trainGroup, trainStart string
	checkpointEvery        time.Duration
	freshWait              time.Duration
	trainedLog             bool
	workers                int
	http                   string
	pprof                  bool
	kafkaAuthFlags
}

// kafkaAuthFlags are the Kafka security flags of every command that talks
// to Kafka (run, simulate --brokers).
type kafkaAuthFlags struct {
	kafkaTLS, kafkaTLSSkip  bool
	kafkaCA, kafkaCert      string
	kafkaKey, kafkaSASL     string
	kafkaUser, kafkaPassEnv string
}

// defaultServiceFlags returns the defaults of the service flags.
func defaultServiceFlags() serviceFlags {
	return serviceFlags{
		trainGroup: "wdstream-train", trainStart: "earliest", checkpointEvery: time.Minute, freshWait: 2 * time.Minute,
		workers: runtime.GOMAXPROCS(0), kafkaAuthFlags: kafkaAuthFlags{kafkaPassEnv: "WDSTREAM_KAFKA_PASSWORD"},
	}
}

// addServiceFlags registers the service flags on fs, with f's values as
// their defaults.
func addServiceFlags(fs *flag.FlagSet, f *serviceFlags) {
	fs.StringVar(&f.trainGroup, "train-group", f.trainGroup, "consumer group the train stage commits its offsets under (monitoring; checkpoints own the offsets)")
	fs.StringVar(&f.trainStart, "train-start", f.trainStart, "where the train stage starts a partition it has no offset for: earliest or latest")
	fs.DurationVar(&f.checkpointEvery, "checkpoint-every", f.checkpointEvery, "time between train-stage checkpoints in the store")
	fs.DurationVar(&f.freshWait, "fresh-wait", f.freshWait, "how long a publish waits for its validation.examples fresh examples (low traffic); then it gates on what arrived, or skips when that is too few")
	fs.BoolVar(&f.trainedLog, "trained-log", f.trainedLog, "debug: record the (impression_id, label) of every trained example in the checkpoints (keeps every checkpoint)")
	fs.IntVar(&f.workers, "workers", f.workers, "training threads")
	fs.StringVar(&f.http, "http", f.http, "address of the HTTP port for the status page (/), /metrics, /healthz and /readyz (e.g. :8080); empty: none")
	fs.BoolVar(&f.pprof, "pprof", f.pprof, "with --http: also serve Go's runtime profiles at /debug/pprof/ (heap, CPU, goroutines)")
	f.kafkaAuthFlags.add(fs)
}

// add registers the Kafka security flags on fs, with f's values as their
// defaults.
func (f *kafkaAuthFlags) add(fs *flag.FlagSet) {
	fs.BoolVar(&f.kafkaTLS, "kafka-tls", f.kafkaTLS, "connect to Kafka over TLS")
	fs.StringVar(&f.kafkaCA, "kafka-tls-ca", f.kafkaCA, "PEM CA bundle for the brokers' certificates (added to the system roots)")
	fs.StringVar(&f.kafkaCert, "kafka-tls-cert", f.kafkaCert, "PEM client certificate (with --kafka-tls-key)")
	fs.StringVar(&f.kafkaKey, "kafka-tls-key", f.kafkaKey, "PEM client key")
	fs.BoolVar(&f.kafkaTLSSkip, "kafka-tls-insecure", f.kafkaTLSSkip, "do not verify the brokers' certificates (testing only)")
	fs.StringVar(&f.kafkaSASL, "kafka-sasl", f.kafkaSASL, "SASL mechanism: plain, scram-sha-256 or scram-sha-512")
	fs.StringVar(&f.kafkaUser, "kafka-user", f.kafkaUser, "SASL user")
	fs.StringVar(&f.kafkaPassEnv, "kafka-password-env", f.kafkaPassEnv, "environment variable holding the SASL password")
}

func (f *kafkaAuthFlags) auth() (kafka.Auth, error) {
	return kafka.AuthOptions{
		TLS: f.kafkaTLS, CAFile: f.kafkaCA, CertFile: f.kafkaCert, KeyFile: f.kafkaKey, Insecure: f.kafkaTLSSkip,
		SASL: f.kafkaSASL, User: f.kafkaUser, Password: os.Getenv(f.kafkaPassEnv),
	}.Build()
}

func buildTrainStage(ctx context.Context, env *runEnv) (func(context.Context) error, error) {
	f := &env.cfg.svc
	if env.cfg.store == "" || env.cfg.model == "" {
		return nil, fmt.Errorf("the train stage needs --store and --model")
	}
	start := kafka.AtFirst
	switch f.trainStart {
	case "earliest":
	case "latest":
		start = kafka.AtEnd
	default:
		return nil, fmt.Errorf("--train-start %q: want earliest or latest", f.trainStart)
	}
	store, err := publisher.OpenStore(ctx, env.cfg.store)
	if err != nil {
		return nil, err
	}
	hooks, err := publisher.NewHooks(env.sp.Hooks, publisher.HookConfig{KafkaBrokers: env.cfg.brokers, KafkaAuth: env.auth})
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
		Spec: env.sp, Model: env.cfg.model, Store: store, Publisher: pub,
		Brokers: env.cfg.brokers, Auth: env.auth, Topic: env.cfg.topicEx, TrainGroup: f.trainGroup,
		StartDefault: start, CheckpointEvery: f.checkpointEvery, FreshWait: f.freshWait, TrainedLog: f.trainedLog,
		Workers: f.workers, Logger: env.logger, Registerer: env.reg,
		Bootstrap: env.cfg.bootstrap, ProgressiveWindow: env.cfg.progressiveWindow,
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
