package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// composeFile is the part of docker-compose.yml the test reads.
type composeFile struct {
	Name     string                    `yaml:"name"`
	S3Env    map[string]string         `yaml:"x-s3-env"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Restart     string            `yaml:"restart"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test                       []string `yaml:"test"`
		Interval, Timeout, Retries string
	} `yaml:"healthcheck"`
}

// TestDockerCompose checks docker-compose.yml's structure (no Docker engine
// runs here): the services, their images, start order, environment, and
// that the wdstream commands it runs parse with the real flag sets.
func TestDockerCompose(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	svc := func(name string) composeService {
		t.Helper()
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("no service %q (services: %v)", name, keys(c.Services))
		}
		return s
	}
	needs := func(name, dep, cond string) {
		t.Helper()
		if got := svc(name).DependsOn[dep].Condition; got != cond {
			t.Errorf("%s depends on %s with condition %q, want %q", name, dep, got, cond)
		}
	}

	// Kafka: the official image in KRaft mode.
	k := svc("kafka")
	if !strings.HasPrefix(k.Image, "apache/kafka:") {
		t.Errorf("kafka image %q, want the official apache/kafka", k.Image)
	}
	for key, want := range map[string]string{
		"KAFKA_PROCESS_ROLES": "broker,controller", "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
		"KAFKA_CONTROLLER_QUORUM_VOTERS": "1@kafka:9093", "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
	} {
		if got := k.Environment[key]; got != want {
			t.Errorf("kafka %s = %q, want %q", key, got, want)
		}
	}
	if !strings.Contains(k.Environment["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT://kafka:9092") {
		t.Errorf("kafka advertises %q, want PLAINTEXT://kafka:9092 for the other services", k.Environment["KAFKA_ADVERTISED_LISTENERS"])
	}
	if k.Healthcheck == nil {
		t.Error("kafka has no healthcheck: topics cannot wait for it")
	}

	// Topics: created by the Kafka image's tool, with one partition count.
	tp := svc("topics")
	needs("topics", "kafka", "service_healthy")
	script := strings.Join(tp.Command, "\n")
	parts := 0
	for _, topic := range []string{"impressions", "installs", "examples", "examples-dlq"} {
		if !strings.Contains(script, topic) {
			t.Errorf("topics does not create %s", topic)
		}
	}
	if f := strings.Fields(script); !slices.Contains(f, "--partitions") {
		t.Errorf("topics: no --partitions in %q", script)
	} else {
		for i, w := range f {
			if w == "--partitions" && i+1 < len(f) {
				parts, _ = strconv.Atoi(f[i+1])
			}
		}
	}
	if parts < 1 || !strings.Contains(script, "kafka-topics.sh --bootstrap-server kafka:9092 --create") {
		t.Errorf("topics script %q: want kafka-topics.sh --create with --partitions N", script)
	}

	// S3: a server and a bucket created at start.
	s3 := svc("s3")
	if !strings.HasPrefix(s3.Image, "minio/minio:") || s3.Healthcheck == nil {
		t.Errorf("s3: image %q, healthcheck %v", s3.Image, s3.Healthcheck != nil)
	}
	b := svc("bucket")
	needs("bucket", "s3", "service_healthy")
	if !strings.Contains(strings.Join(b.Command, " "), "mb --ignore-existing s3/wdstream") {
		t.Errorf("bucket does not create the bucket wdstream: %q", b.Command)
	}

	// wdstream run, built by the Dockerfile, with the S3 credentials.
	w := svc("wdstream")
	if w.Build == nil || w.Image != "wdstream:local" {
		t.Errorf("wdstream: build %v, image %q: want built here as wdstream:local", w.Build, w.Image)
	}
	needs("wdstream", "topics", "service_completed_successfully")
	needs("wdstream", "bucket", "service_completed_successfully")
	for _, key := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} {
		if w.Environment[key] == "" {
			t.Errorf("wdstream lacks %s", key)
		}
	}
	if w.Environment["AWS_ACCESS_KEY_ID"] != s3.Environment["MINIO_ROOT_USER"] || w.Environment["AWS_SECRET_ACCESS_KEY"] != s3.Environment["MINIO_ROOT_PASSWORD"] {
		t.Error("wdstream's S3 credentials differ from the s3 service's")
	}
	flags := commandFlags(t, "wdstream", w.Command, "run")
	for key, want := range map[string]string{
		"--brokers": "kafka:9092", "--model": "playstore", "--http": ":8080",
		"--store": "s3://wdstream?endpoint=http://s3:9000&use_path_style=true&region=us-east-1",
	} {
		if flags[key] != want {
			t.Errorf("wdstream %s = %q, want %q", key, flags[key], want)
		}
	}
	spec := strings.TrimPrefix(flags["--spec"], "/etc/wdstream/")
	if _, err := os.Stat(filepath.Join("..", "..", "configs", spec)); err != nil {
		t.Errorf("--spec %s: the Dockerfile copies configs/ to /etc/wdstream/, and configs/%s: %v", flags["--spec"], spec, err)
	}
	checkFlagsParse(t, w.Command)

	// serve scores with what wdstream publishes: same image, store and model.
	sv := svc("serve")
	needs("serve", "bucket", "service_completed_successfully")
	if sv.Image != w.Image || sv.Environment["AWS_ACCESS_KEY_ID"] != w.Environment["AWS_ACCESS_KEY_ID"] {
		t.Errorf("serve: image %q and S3 credentials must be wdstream's (%q)", sv.Image, w.Image)
	}
	svf := commandFlags(t, "serve", sv.Command, "serve")
	if svf["--store"] != flags["--store"] || svf["--model"] != flags["--model"] || svf["--http"] == "" || svf["--http"] == flags["--http"] {
		t.Errorf("serve --store %q --model %q --http %q: want wdstream's store and model on a port of its own", svf["--store"], svf["--model"], svf["--http"])
	}
	checkFlagsParse(t, sv.Command)

	// The simulator streams into the same topics, with their partition count.
	s := svc("simulate")
	needs("simulate", "topics", "service_completed_successfully")
	if s.Image != w.Image {
		t.Errorf("simulate image %q, want wdstream's %q", s.Image, w.Image)
	}
	sf := commandFlags(t, "simulate", s.Command, "simulate")
	if sf["--brokers"] != "kafka:9092" || sf["--partitions"] != strconv.Itoa(parts) {
		t.Errorf("simulate --brokers %q --partitions %q, want kafka:9092 and the topics' %d", sf["--brokers"], sf["--partitions"], parts)
	}
	checkFlagsParse(t, s.Command)

	// The Dockerfile builds with OpenBLAS.
	df, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"libopenblas-dev", "-tags openblas", "libopenblas0", "COPY configs/ /etc/wdstream/", `ENTRYPOINT ["wdstream"]`} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// commandFlags returns the --name=value flags of a service's command,
// whose first word must be sub.
func commandFlags(t *testing.T, svc string, cmd []string, sub string) map[string]string {
	t.Helper()
	if len(cmd) == 0 || cmd[0] != sub {
		t.Fatalf("%s command %q: want wdstream %s", svc, cmd, sub)
	}
	out := map[string]string{}
	for _, a := range cmd[1:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(k, "--") {
			t.Errorf("%s: write flags as --name=value, got %q", svc, a)
			continue
		}
		out[k] = v
	}
	return out
}

// checkFlagsParse runs the command with the real flag set, with a
// cancelled context (so nothing connects) and paths mapped to this
// checkout: a flag error is exit code 2 with the flag package's message.
func checkFlagsParse(t *testing.T, cmd []string) {
	t.Helper()
	args := make([]string, len(cmd))
	for i, a := range cmd {
		a = strings.ReplaceAll(a, "/etc/wdstream/", filepath.Join("..", "..", "configs")+"/")
		if strings.HasPrefix(a, "--http=") {
			a = "--http=127.0.0.1:0"
		}
		args[i] = a
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := runMain(ctx, args, &stdout, &stderr)
	if code == 2 || strings.Contains(stderr.String(), "--help") {
		t.Errorf("wdstream %s: exit %d, flags refused:\n%s", strings.Join(args, " "), code, stderr.String())
	}
	t.Logf("wdstream %s (cancelled): exit %d: %s", args[0], code, lastLine(stderr.String()))
}

func keys[T any](m map[string]T) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
