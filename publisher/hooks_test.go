package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/schemas/spec"
)

type call struct {
	body    []byte
	headers http.Header
}

// TestWebhookRetriesUntilDelivered: a receiver that fails the first two
// calls gets the third, each with a valid HMAC signature and the same
// idempotency key; attempts are counted.
func TestWebhookRetriesUntilDelivered(t *testing.T) {
	f := getFixture(t)
	var mu sync.Mutex
	var calls []call
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, call{b, r.Header.Clone()})
		n := len(calls)
		mu.Unlock()
		if n <= 2 {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		close(done)
	}))
	defer srv.Close()
	const secret = "s3cr3t-hmac-key"
	hooks, err := NewHooks(spec.Hooks{Webhooks: []spec.Webhook{{URL: srv.URL + "/hook", SecretEnv: "HOOK_SECRET",
		Timeout: spec.Duration(2 * time.Second), Retries: 3}}},
		HookConfig{Getenv: func(k string) string { return map[string]string{"HOOK_SECRET": secret}[k] }})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := fileStore(t)
	p := newPublisher(t, s, Options{Gate: fastGate(f), Hooks: hooks, HookBackoff: 20 * time.Millisecond})
	res, err := p.Publish(context.Background(), f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
	if err != nil || !res.Published {
		t.Fatal(res, err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the third call never came")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 {
		t.Fatalf("%d calls", len(calls))
	}
	for i, c := range calls {
		if !VerifySignature([]byte(secret), c.body, c.headers.Get(SignatureHeader)) {
			t.Errorf("call %d: bad signature %q", i+1, c.headers.Get(SignatureHeader))
		}
		if got := c.headers.Get(IdempotencyHeader); got != "m@"+res.Version+"/published" {
			t.Errorf("call %d: idempotency key %q", i+1, got)
		}
		if got := c.headers.Get(AttemptHeader); got != string(rune('1'+i)) {
			t.Errorf("call %d: attempt header %q", i+1, got)
		}
	}
	var ev Event
	if err := json.Unmarshal(calls[2].body, &ev); err != nil || ev.Kind != EventPublished || ev.Version != res.Version ||
		ev.Manifest == nil || ev.Manifest.Verdict == nil || ev.Verdict != "passed" {
		t.Fatalf("body %s (%v)", calls[2].body, err)
	}
	if VerifySignature([]byte("wrong"), calls[2].body, calls[2].headers.Get(SignatureHeader)) {
		t.Fatal("a wrong secret verifies")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, bad := counterValue(t, p.Collectors().HookAttempts.WithLabelValues("webhook", "ok")),
		counterValue(t, p.Collectors().HookAttempts.WithLabelValues("webhook", "error")); ok != 1 || bad != 2 {
		t.Fatalf("attempts ok %v error %v", ok, bad)
	}
}

// TestWebhookThatNeverAnswersDoesNotBlock: a receiver that hangs costs
// Publish nothing; Close gives up at its deadline and counts the delivery.
// A rejection's hook gets the report.
func TestWebhookThatNeverAnswersDoesNotBlock(t *testing.T) {
	f := getFixture(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	hooks, err := NewHooks(spec.Hooks{Webhooks: []spec.Webhook{{URL: srv.URL, Timeout: spec.Duration(time.Hour), Retries: 5}}}, HookConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := fileStore(t)
	p, err := New(s, Options{Gate: fastGate(f), Hooks: hooks, HookQueue: 1, HookWorkers: 1, HookEnqueueWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var versions []string
	for range 3 { // the first hangs in the worker, the second fills the queue, the third is dropped
		res, err := p.Publish(context.Background(), f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
		if err != nil || !res.Published {
			t.Fatal(res, err)
		}
		versions = append(versions, res.Version)
	}
	if v, _ := s.Latest(context.Background(), "m"); v != versions[2] {
		t.Fatalf("LATEST %s, want %s", v, versions[2])
	}
	t.Logf("3 publishes with a hanging webhook took %s", time.Since(start))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	closeStart := time.Now()
	if err := p.Close(ctx); err == nil {
		t.Fatal("Close reported a clean drain with a hanging hook")
	}
	if d := time.Since(closeStart); d > 3*time.Second {
		t.Fatalf("Close took %s past its 200ms deadline", d)
	}
	dropped := counterValue(t, p.Collectors().HookDropped.WithLabelValues("webhook"))
	failed := counterValue(t, p.Collectors().HookFailures.WithLabelValues("webhook"))
	if dropped+failed != 3 || dropped < 1 {
		t.Fatalf("dropped %v + failed %v, want 3 deliveries accounted for, at least one dropped", dropped, failed)
	}
}

// TestCommandHook: the command gets the event in its environment and the
// JSON on standard input, after a publish and after a rejection; a failing
// command never unpublishes and is counted.
func TestCommandHook(t *testing.T) {
	f := getFixture(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "hook.sh")
	if err := os.WriteFile(script, []byte(`#!/bin/sh
cat > "$1/$WDSTREAM_VERSION.$WDSTREAM_EVENT.json"
env | grep ^WDSTREAM_ | sort > "$1/$WDSTREAM_VERSION.$WDSTREAM_EVENT.env"
`), 0o755); err != nil {
		t.Fatal(err)
	}
	hooks, err := NewHooks(spec.Hooks{Commands: []spec.Command{
		{Argv: []string{script, dir}, Timeout: spec.Duration(10 * time.Second)},
		{Argv: []string{"false"}, Timeout: spec.Duration(10 * time.Second)},
	}}, HookConfig{CommandRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.SyncBuffer
	s, _ := fileStore(t)
	p := newPublisher(t, s, Options{Gate: fastGate(f), Hooks: hooks, HookBackoff: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	ok, err := p.Publish(ctx, f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
	if err != nil || !ok.Published {
		t.Fatal(err)
	}
	bad, err := p.Publish(ctx, f.poisoned, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
	if err != nil || bad.Published {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Close(cctx); err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile(filepath.Join(dir, ok.Version+".published.env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"WDSTREAM_EVENT=published", "WDSTREAM_MODEL=m", "WDSTREAM_VERSION=" + ok.Version,
		"WDSTREAM_VERDICT=passed", "WDSTREAM_VERSION_URL=file://", "/m/versions/" + ok.Version + "/"} {
		if !strings.Contains(string(env), want) {
			t.Errorf("command env lacks %q:\n%s", want, env)
		}
	}
	var ev Event
	raw, _ := os.ReadFile(filepath.Join(dir, bad.Version+".rejected.json"))
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Report == nil || ev.Verdict != "rejected" || len(ev.Report.Failed()) == 0 {
		t.Fatalf("rejection event %s (%v)", raw, err)
	}
	renv, _ := os.ReadFile(filepath.Join(dir, bad.Version+".rejected.env"))
	if !strings.Contains(string(renv), "WDSTREAM_VERDICT=rejected") || !strings.Contains(string(renv), "/m/rejected/"+bad.Version+".json") {
		t.Errorf("rejection env:\n%s", renv)
	}
	if v, _ := s.Latest(ctx, "m"); v != ok.Version {
		t.Fatalf("LATEST %s after a failing hook", v)
	}
	if got := counterValue(t, p.Collectors().HookFailures.WithLabelValues("command")); got != 2 {
		t.Fatalf("command failures %v, want 2 (false, after each event)", got)
	}
	if got := counterValue(t, p.Collectors().HookAttempts.WithLabelValues("command", "error")); got != 4 {
		t.Fatalf("failed command attempts %v, want 4 (1 retry each)", got)
	}
	if !strings.Contains(logs.String(), "hook failed") {
		t.Fatalf("no log of the failure:\n%s", logs.String())
	}
}

// TestKafkaHook: events are produced to the hook's topic, keyed by model,
// and a topic that does not exist is created (real Kafka when the
// environment has it, else the in-process broker).
func TestKafkaHook(t *testing.T) {
	f := getFixture(t)
	brokers := testenv.Brokers(t)
	for _, missing := range []bool{false, true} {
		t.Run(fmt.Sprint("missing=", missing), func(t *testing.T) {
			topic := testenv.TopicName(t, brokers)
			if !missing {
				testenv.CreateTopic(t, brokers, topic, 1)
			}
			hooks, err := NewHooks(spec.Hooks{Kafka: []spec.KafkaHook{{Topic: topic}}}, HookConfig{KafkaBrokers: brokers})
			if err != nil {
				t.Fatal(err)
			}
			s, _ := fileStore(t)
			p := newPublisher(t, s, Options{Gate: fastGate(f), Hooks: hooks})
			res, err := p.Publish(context.Background(), f.good, &Manifest{Model: "m"}, f.fresh, PublishOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
			defer r.Close()
			msg, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ev Event
			if err := json.Unmarshal(msg.Value, &ev); err != nil || string(msg.Key) != "m" || ev.Version != res.Version || ev.Kind != EventPublished {
				t.Fatalf("message %s %s (%v)", msg.Key, msg.Value, err)
			}
		})
	}
}

// TestNewHooksRefusesAMissingSecret: a webhook whose secret variable is
// empty is a configuration error, never an unsigned call.
func TestNewHooksRefusesAMissingSecret(t *testing.T) {
	_, err := NewHooks(spec.Hooks{Webhooks: []spec.Webhook{{URL: "http://127.0.0.1:1/x?token=SHOULD-NOT-LEAK", SecretEnv: "NOPE_UNSET",
		Timeout: spec.Duration(time.Second)}}}, HookConfig{Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "NOPE_UNSET") || strings.Contains(err.Error(), "SHOULD-NOT-LEAK") {
		t.Fatalf("%v", err)
	}
	if _, err := NewHooks(spec.Hooks{Kafka: []spec.KafkaHook{{Topic: "model-events"}}}, HookConfig{}); err == nil {
		t.Fatal("a kafka hook without brokers was accepted")
	}
}
