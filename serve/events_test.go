package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/publisher"
)

// newEventServer returns a server of model "m" without a model loaded
// (the events only nudge Reload, which these tests watch), and its log.
func newEventServer(t *testing.T) (*Server, *testenv.SyncBuffer) {
	t.Helper()
	var log testenv.SyncBuffer
	s := arrowServer(t, Config{Registerer: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	return s, &log
}

// nudged reports whether Reload was called since the last look (and
// takes the nudge).
func nudged(s *Server) bool {
	select {
	case <-s.reload:
		return true
	default:
		return false
	}
}

func eventBody(t *testing.T, kind, model, version string) []byte {
	t.Helper()
	b, err := json.Marshal(publisher.Event{Kind: kind, Model: model, Version: version, Time: time.Now().Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *Server) eventCount(source, result string) float64 {
	var m dto.Metric
	if err := s.met.events.WithLabelValues(source, result).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// TestWebhook: only a body signed as the publisher signs it nudges a
// reload, and only a publish of the served model; a wrong or missing
// signature is answered 401 and logged, a body that is not an event 400,
// one too long 413.
func TestWebhook(t *testing.T) {
	s, log := newEventServer(t)
	if _, err := s.WebhookHandler(nil); err == nil {
		t.Fatal("an empty webhook secret was accepted")
	}
	secret := []byte("hook-secret")
	h, err := s.WebhookHandler(secret)
	if err != nil {
		t.Fatal(err)
	}
	published := eventBody(t, publisher.EventPublished, "m", "v2")
	other := eventBody(t, publisher.EventPublished, "other", "v9")
	rejected := eventBody(t, publisher.EventRejected, "m", "v3")
	big := append(bytes.Repeat([]byte(" "), MaxEventBytes), published...)
	for _, c := range []struct {
		name   string
		body   []byte
		sig    string
		code   int
		reload bool
		log    string
	}{
		{"signed publish", published, publisher.Sign(secret, published), http.StatusAccepted, true, "heard of a publish"},
		{"wrong secret", published, publisher.Sign([]byte("not-the-secret"), published), http.StatusUnauthorized, false, "refusing a publish webhook: a wrong signature"},
		{"no signature", published, "", http.StatusUnauthorized, false, "refusing a publish webhook: no signature"},
		{"signature of another body", published, publisher.Sign(secret, eventBody(t, publisher.EventPublished, "m", "v1")), http.StatusUnauthorized, false, "a wrong signature"},
		{"bare hex", published, strings.TrimPrefix(publisher.Sign(secret, published), "sha256="), http.StatusUnauthorized, false, "a wrong signature"},
		{"not JSON", []byte("{"), publisher.Sign(secret, []byte("{")), http.StatusBadRequest, false, "not one"},
		{"no model", []byte(`{"event":"published"}`), publisher.Sign(secret, []byte(`{"event":"published"}`)), http.StatusBadRequest, false, "not one"},
		{"another model", other, publisher.Sign(secret, other), http.StatusOK, false, ""},
		{"a rejection", rejected, publisher.Sign(secret, rejected), http.StatusOK, false, ""},
		{"too long", big, publisher.Sign(secret, big), http.StatusRequestEntityTooLarge, false, ""},
	} {
		before := len(log.String())
		req := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(c.body))
		if c.sig != "" {
			req.Header.Set(publisher.SignatureHeader, c.sig)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, rec.Code, rec.Body, c.code)
		}
		if got := nudged(s); got != c.reload {
			t.Errorf("%s: reload nudged %v, want %v", c.name, got, c.reload)
		}
		if logged := log.String()[before:]; !strings.Contains(logged, c.log) {
			t.Errorf("%s: log %q, want %q", c.name, logged, c.log)
		}
	}
	for result, want := range map[string]float64{eventReload: 1, eventUnauthorized: 4, eventMalformed: 3, eventIgnored: 2} {
		if got := s.eventCount(sourceWebhook, result); got != want {
			t.Errorf(`model_events_total{source="webhook",result=%q} = %v, want %v`, result, got, want)
		}
	}
}

// TestFollowEvents: the topic is read from its end, and only a publish of
// the served model nudges a reload (the real broker when the environment
// has one, else the in-process broker).
func TestFollowEvents(t *testing.T) {
	brokers := testenv.Brokers(t)
	topic := testenv.Topic(t, brokers, 2)
	w := kafka.NewWriter(brokers, kafka.Auth{}, topic, 10*time.Second)
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	write := func(key string, body []byte) {
		t.Helper()
		if err := w.Write(ctx, []byte(key), body); err != nil {
			t.Fatal(err)
		}
	}
	// Before the server starts: not heard.
	write("m", eventBody(t, publisher.EventPublished, "m", "v0"))

	s, log := newEventServer(t)
	done := make(chan error, 1)
	go func() { done <- s.FollowEvents(ctx, EventsConfig{Brokers: brokers, Topic: topic}) }()
	testenv.WaitFor(t, 20*time.Second, "following the topic", func() bool { return strings.Contains(log.String(), "following publish events") }, log)
	if !nudged(s) {
		t.Fatal("no reload once positioned at the topic's end (a publish meanwhile would be missed)")
	}

	write("other", eventBody(t, publisher.EventPublished, "other", "v1"))
	write("m", []byte("not json"))
	write("m", eventBody(t, publisher.EventRejected, "m", "v1"))
	write("m", eventBody(t, publisher.EventPublished, "m", "v2"))
	total := func() float64 {
		var n float64
		for _, r := range []string{eventReload, eventIgnored, eventMalformed} {
			n += s.eventCount(sourceKafka, r)
		}
		return n
	}
	testenv.WaitFor(t, 20*time.Second, "4 events heard", func() bool { return total() >= 4 }, log)
	time.Sleep(200 * time.Millisecond) // an event heard twice, or the old one, would show now
	for result, want := range map[string]float64{eventReload: 1, eventIgnored: 2, eventMalformed: 1} {
		if got := s.eventCount(sourceKafka, result); got != want {
			t.Errorf(`model_events_total{source="kafka",result=%q} = %v, want %v`, result, got, want)
		}
	}
	if !nudged(s) {
		t.Error("the publish of m nudged no reload")
	}
	if !strings.Contains(log.String(), "version=v2") || strings.Contains(log.String(), "version=v0") {
		t.Errorf("the log does not show the publish of v2 heard, or shows v0 (before the start):\n%s", log.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestFollowEventsWithoutKafka: brokers that do not answer are retried
// and logged until the context ends; FollowEvents then returns.
func TestFollowEventsWithoutKafka(t *testing.T) {
	s, log := newEventServer(t)
	if err := s.FollowEvents(context.Background(), EventsConfig{}); err == nil {
		t.Fatal("no brokers: no error")
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.FollowEvents(ctx, EventsConfig{Brokers: []string{addr}}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("FollowEvents did not return after its context ended")
	}
	if n := strings.Count(log.String(), "model events: cannot read the topic yet"); n < 2 {
		t.Fatalf("%d retries logged, want at least 2:\n%s", n, log.String())
	}
}
