package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/simulate"
)

// experimentCommand runs the paper's online experiment on simulated users.
func experimentCommand() command {
	return command{
		name:    "experiment",
		summary: "an online A/B experiment on simulated users: each arm its own model line (join, train, gate, publish, serve), a verdict at a fixed horizon",
		run:     runExperiment,
	}
}

type experimentFlags struct {
	arms                string
	duration            time.Duration
	requests            uint64
	brokers, store, dir string
	topicPrefix, salt   string
	partitions          int
	users, apps         int
	preDays, preImps    int
	latent              bool
	seed                uint64
	rate, speed         float64
	candidates, shown   int
	minImpressions      int64
	workers             int
	poll                time.Duration
	jsonOut             bool
	http                string
	paired              bool
}

// armSpec is one --arms item.
type armSpec struct {
	name, specPath string
	sp             *spec.Spec
}

func runExperiment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := experimentFlags{}
	fs := newFlagSet("experiment", "--arms control=SPEC,treatment=SPEC [--duration 10m] [flags]", stderr)
	fs.StringVar(&f.arms, "arms", "", "comma-separated NAME=SPEC, the first the control (required, two at least): each arm is a model line of its own, NAME its model name in the store")
	fs.DurationVar(&f.duration, "duration", 10*time.Minute, "the horizon in wall-clock time, fixed before the start: requests are sent this long, then the verdict (with --requests: a time limit; a run that reaches it first gets no verdict)")
	fs.Uint64Var(&f.requests, "requests", 0, "the horizon in requests, instead of --duration (0: --duration is the horizon)")
	fs.StringVar(&f.brokers, "brokers", "", "Kafka brokers host:port,... (default: an embedded broker)")
	fs.StringVar(&f.store, "store", "", "model store URL (default: file:// DIR/store)")
	fs.StringVar(&f.dir, "dir", "", "folder for the pre-period's files, the held-out examples, the log and the default store (default: a new temp folder)")
	fs.StringVar(&f.topicPrefix, "topic-prefix", "experiment", "arm NAME's topics are PREFIX.NAME.impressions, .installs, .examples and .dlq, its consumer groups PREFIX.NAME.join and .train")
	fs.BoolVar(&f.paired, "paired", false, "send every request to every arm, each in its own copy of the simulated world (same users, pages and dice), instead of splitting users; the gain is estimated on the users' paired counts")
	fs.StringVar(&f.salt, "salt", "wdstream-experiment", "salt of the split: arm = FNV-1a(salt, user_id) mod arms")
	fs.IntVar(&f.partitions, "partitions", 2, "partitions of the arms' topics")
	fs.IntVar(&f.users, "users", 20000, "users of the simulated world")
	fs.IntVar(&f.apps, "apps", 2000, "apps of the simulated world's catalog")
	fs.IntVar(&f.preDays, "pre-days", 2, "days of the common pre-period that every arm's start model is trained on (a backfill of the same events)")
	fs.IntVar(&f.preImps, "pre-impressions", 100000, "impressions a day of the pre-period (and of the held-out day after it)")
	fs.BoolVar(&f.latent, "latent-taste", false, "the latent-taste world (users' tastes are private, revealed by their installs)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the world, its requests and its users' decisions")
	fs.Float64Var(&f.rate, "rate", 100, "requests a second")
	fs.Float64Var(&f.speed, "speed", 120, "simulated seconds a wall-clock second (the label window passes speed times faster)")
	fs.IntVar(&f.candidates, "candidates", 20, "candidates a request carries")
	fs.IntVar(&f.shown, "shown", 5, "the top K of an answer are shown (and logged as impressions)")
	fs.Int64Var(&f.minImpressions, "min-impressions", 20000, "impressions every arm needs before a verdict")
	fs.IntVar(&f.workers, "workers", 1, "training threads of each arm's train stage")
	fs.DurationVar(&f.poll, "poll", 2*time.Second, "how often each arm's server reads LATEST")
	fs.BoolVar(&f.jsonOut, "json", false, "print the final report as JSON")
	fs.StringVar(&f.http, "http", "127.0.0.1:8080", "address of the experiment's live page (the next free port when taken; '': none); each arm's status page has a port of its own")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	arms, err := parseArms(f.arms)
	switch {
	case err != nil:
		return flagError(fs, err.Error())
	case f.duration <= 0:
		return flagError(fs, "--duration must be positive")
	case f.rate <= 0 || math.IsInf(f.rate, 0) || f.speed <= 0 || math.IsInf(f.speed, 0):
		return flagError(fs, "--rate and --speed must be positive")
	case f.candidates < 1 || f.shown < 1 || f.shown > f.candidates:
		return flagError(fs, "--candidates must be positive and --shown between 1 and --candidates")
	case f.users < 2 || f.apps < 10 || f.preDays < 1 || f.preImps < 1 || f.partitions < 1 || f.workers < 1:
		return flagError(fs, "--users must be at least 2, --apps at least 10, --pre-days, --pre-impressions, --partitions and --workers positive")
	case f.minImpressions < 0 || f.poll <= 0:
		return flagError(fs, "--min-impressions must not be negative, --poll must be positive")
	case !validTopicPart(f.topicPrefix):
		return flagError(fs, fmt.Sprintf("--topic-prefix %q: want letters, digits, '.', '_' or '-'", f.topicPrefix))
	}
	for i := range arms {
		if arms[i].sp, err = spec.Load(arms[i].specPath); err != nil {
			return fmt.Errorf("--arms %s: %w", arms[i].name, err)
		}
	}

	if f.dir == "" {
		if f.dir, err = os.MkdirTemp("", "wdstream-experiment-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return err
	}
	if f.dir, err = filepath.Abs(f.dir); err != nil {
		return err
	}
	if f.store == "" {
		dir := filepath.Join(f.dir, "store")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		f.store = "file://" + filepath.ToSlash(dir)
	}
	logPath := filepath.Join(f.dir, "experiment.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))

	brokers := splitComma(f.brokers)
	if len(brokers) == 0 {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			return fmt.Errorf("starting the embedded Kafka broker: %w", err)
		}
		defer cluster.Close()
		brokers = cluster.ListenAddrs()
	}
	x := &experimentRun{f: f, arms: arms, brokers: brokers, logger: logger, stdout: stdout, stderr: stderr, logPath: logPath}
	return x.run(ctx)
}

// parseArms reads --arms: NAME=SPEC,NAME=SPEC...
func parseArms(s string) ([]armSpec, error) {
	var arms []armSpec
	seen := map[string]bool{}
	for _, item := range splitComma(s) {
		name, path, ok := strings.Cut(item, "=")
		name, path = strings.TrimSpace(name), strings.TrimSpace(path)
		switch {
		case !ok || name == "" || path == "":
			return nil, fmt.Errorf("--arms item %q: want NAME=SPEC", item)
		case checkModelName(name) != nil:
			return nil, fmt.Errorf("--arms item %q: the arm's name is its model name: %v", item, checkModelName(name))
		case !validTopicPart(name):
			return nil, fmt.Errorf("--arms item %q: the arm's name is part of its topics' names: want letters, digits, '.', '_' or '-'", item)
		case seen[name]:
			return nil, fmt.Errorf("--arms: arm %q named twice", name)
		}
		seen[name] = true
		arms = append(arms, armSpec{name: name, specPath: path})
	}
	if len(arms) < 2 {
		return nil, errors.New("--arms: want two arms at least, the first the control (e.g. control=wide.yaml,treatment=wide_deep.yaml)")
	}
	return arms, nil
}

// validTopicPart reports whether s may be part of a Kafka topic name.
func validTopicPart(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// experimentWorld sizes the world: the pre-period's days, the held-out day,
// then enough days for the live phase at --speed; the live phase starts at
// liveStart (so that event times are at or after the wall clock, as the
// demo's, see demoWorld).
func experimentWorld(f experimentFlags, liveStart time.Time) simulate.Config {
	t := simulate.DefaultTruth()
	t.LatentTaste = f.latent
	live := f.duration.Seconds() * f.speed
	if f.requests > 0 {
		live = min(live, float64(f.requests)/f.rate*f.speed)
	}
	liveDays := int(live/86400) + 1
	pre := f.preDays + 1
	return simulate.Config{
		Seed: f.seed, Users: f.users, Apps: f.apps, Days: pre + liveDays, ImpressionsPerDay: f.preImps,
		Start: liveStart.Add(-time.Duration(pre) * 24 * time.Hour), Truth: &t,
	}
}
