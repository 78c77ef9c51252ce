package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/serve"
)

// TestServeHearsPublishes: with --poll 1h, only a publish hook can make
// `wdstream serve` load a new version before the test ends:
//   - a webhook signed with another secret is refused (401), logged, and
//     loads nothing, though LATEST has moved; signed with the secret of
//     --webhook-secret-env, it loads the version LATEST names;
//   - brokers that do not answer are retried in the background while it
//     serves;
//   - on the real broker, one publish through a Publisher with a kafka
//     hook on the model-events topic and a webhook hook: a second server
//     following the topic serves the version shortly after (the delay is
//     logged), and the first hears the publisher's webhook.
func TestServeHearsPublishes(t *testing.T) {
	bf := newBackfilled(t)
	ctx := context.Background()
	cand, _, err := publisher.Load(ctx, bf.st, "ps", "")
	if err != nil {
		t.Fatal(err)
	}
	// publish publishes cand as a new version of ev through a Publisher
	// with hooks (forced: the test has no fresh examples for the gate,
	// which times one batch only, against cand itself: no baseline to load).
	publish := func(hooks spec.Hooks, cfg publisher.HookConfig) string {
		t.Helper()
		hs, err := publisher.NewHooks(hooks, cfg)
		if err != nil {
			t.Fatal(err)
		}
		p, err := publisher.New(bf.st, publisher.Options{Hooks: hs, Gate: &publisher.Gate{Validation: cand.Spec.Validation, LatencyBatches: 1}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if err := p.Close(cctx); err != nil {
				t.Error(err)
			}
		}()
		res, err := p.Publish(ctx, cand, &publisher.Manifest{Model: "ev"}, nil, publisher.PublishOptions{Force: true, ForceReason: "test", Baseline: cand, BaselineVersion: "ps"})
		if err != nil || !res.Latest {
			t.Fatalf("publish: %+v, %v", res, err)
		}
		return res.Version
	}
	one := serve.Request{UserID: "u1", Candidates: []serve.Candidate{{AppID: "a1"}}}
	served := func(base string) string { return score(t, base, "ev", one, 200).Version }

	v1 := bf.publishAs(t, "ev", nil)
	const secretEnv = "WDSTREAM_TEST_SERVE_HOOK_SECRET"
	t.Setenv(secretEnv, "the-hook-secret")
	base, log := startServe(t, "--store", bf.url, "--model", "ev", "--poll", "1h",
		"--webhook-secret-env", secretEnv, "--brokers", closedAddr(t))
	if v := served(base); v != v1 {
		t.Fatalf("serving %s, want %s", v, v1)
	}

	// LATEST moves without an event; a webhook signed with another secret
	// is refused and loads nothing.
	v2 := bf.publishAs(t, "ev", nil)
	body, _ := json.Marshal(publisher.Event{Kind: publisher.EventPublished, Model: "ev", Version: v2, Time: time.Now()})
	hook := func(secret string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+serve.WebhookPath, bytes.NewReader(body))
		req.Header.Set(publisher.SignatureHeader, publisher.Sign([]byte(secret), body))
		resp, err := testHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := hook("another-secret"); code != http.StatusUnauthorized {
		t.Fatalf("a wrong signature: HTTP %d, want 401", code)
	}
	// A reload it triggered would be done in twice the first load's time.
	took := regexp.MustCompile(`msg="serving a version" .* took=(\S+)`).FindStringSubmatch(log.String())
	if took == nil {
		t.Fatalf("the first load is not logged:\n%s", log.String())
	}
	d, err := time.ParseDuration(took[1])
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2*d + 200*time.Millisecond)
	_, metrics := httpGet(t, base+"/metrics")
	if !strings.Contains(metrics, `wdstream_serve_model_events_total{result="unauthorized",source="webhook"} 1`) ||
		!strings.Contains(metrics, `wdstream_serve_model_events_total{result="reload",source="webhook"} 0`) {
		t.Errorf("/metrics after a wrongly signed webhook:\n%s", grepLines(metrics, "model_events"))
	}
	if v := served(base); v != v1 {
		t.Fatalf("after a wrongly signed webhook: serving %s, want %s still", v, v1)
	}
	if !strings.Contains(log.String(), "refusing a publish webhook: a wrong signature") {
		t.Errorf("the refusal is not logged:\n%s", log.String())
	}
	// Signed as the publisher signs (publisher.Sign): served at once.
	start := time.Now()
	if code := hook(os.Getenv(secretEnv)); code != http.StatusAccepted {
		t.Fatalf("a signed webhook: HTTP %d, want 202", code)
	}
	waitFor(t, time.Minute, "version "+v2+" served after its webhook", func() bool { return served(base) == v2 }, log)
	t.Logf("webhook: %s served %v after the webhook", v2, time.Since(start).Round(time.Millisecond))
	_, metrics = httpGet(t, base+"/metrics")
	for _, want := range []string{
		`wdstream_serve_model_events_total{result="reload",source="webhook"} 1`,
		`wdstream_serve_model_events_total{result="unauthorized",source="webhook"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(metrics, "model_events"))
		}
	}
	if !strings.Contains(log.String(), "model events: cannot read the topic yet") {
		t.Errorf("no retry of the brokers that do not answer logged:\n%s", log.String())
	}

	// One publish, two hooks: the kafka hook for a second server that
	// follows the topic, and the webhook hook for the first.
	t.Run("model-events", func(t *testing.T) {
		brokers := testenv.RealKafka(t)
		topic := testenv.Topic(t, brokers, 2)
		base2, log2 := startServe(t, "--store", bf.url, "--model", "ev", "--poll", "1h",
			"--brokers", strings.Join(brokers, ","), "--model-events", topic)
		waitFor(t, 20*time.Second, "the topic followed", func() bool {
			return strings.Contains(log2.String(), "following publish events")
		}, log2)
		if v := served(base2); v != v2 {
			t.Fatalf("serving %s, want %s", v, v2)
		}
		v3 := publish(spec.Hooks{
			Kafka:    []spec.KafkaHook{{Topic: topic}},
			Webhooks: []spec.Webhook{{URL: base + serve.WebhookPath, SecretEnv: secretEnv, Timeout: spec.Duration(5 * time.Second)}},
		}, publisher.HookConfig{KafkaBrokers: brokers})
		delivered := time.Now()
		waitFor(t, time.Minute, "version "+v3+" served after its event", func() bool { return served(base2) == v3 }, log2)
		t.Logf("model-events: %s served %v after the publish and its hooks", v3, time.Since(delivered).Round(time.Millisecond))
		if !regexp.MustCompile(`heard of a publish: reading LATEST now" source=kafka model=ev version=` + v3).MatchString(log2.String()) {
			t.Errorf("the event is not logged:\n%s", log2.String())
		}
		waitFor(t, time.Minute, "version "+v3+" served after the publisher's webhook", func() bool { return served(base) == v3 }, log)
		if !regexp.MustCompile(`heard of a publish: reading LATEST now" source=webhook model=ev version=` + v3).MatchString(log.String()) {
			t.Errorf("the publisher's webhook is not logged:\n%s", log.String())
		}
	})
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
