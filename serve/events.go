package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/wdstream/wdstream/internal/backoff"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/publisher"
)

// The publish hooks: the publisher tells its hooks of every publish (see
// publisher.Event), and the server reads LATEST at once when it hears of
// one for its model, rather than at its next poll. The poll stays: an
// event lost (Kafka down, a webhook not delivered) only delays a version
// by Poll.

// DefaultEventsTopic is the topic of the publisher's kafka hooks by default
// (the spec's hooks.kafka[].topic).
const DefaultEventsTopic = "model-events"

// WebhookPath is where WebhookHandler is mounted: the URL path of the
// publisher's webhook pointed at this server.
const WebhookPath = "/v1/hooks/publish"

// MaxEventBytes bounds the body of a webhook (an event with its manifest
// or report is a few kilobytes); a longer one is answered 413.
const MaxEventBytes = 1 << 20

// What became of an event heard: the result label of
// wdstream_serve_model_events_total.
const (
	eventReload       = "reload"       // a publish of this model: LATEST read now
	eventIgnored      = "ignored"      // another model's, or a rejection
	eventMalformed    = "malformed"    // not an event (or a webhook body too long)
	eventUnauthorized = "unauthorized" // a webhook without the right signature
)

// Event sources: the source label.
const (
	sourceKafka   = "kafka"
	sourceWebhook = "webhook"
)

// EventsConfig says where FollowEvents reads the publish events.
type EventsConfig struct {
	Brokers []string
	Auth    kafka.Auth
	// Topic of the publisher's kafka hooks. Default DefaultEventsTopic.
	Topic string
}

// FollowEvents reads the topic of the publisher's kafka hooks from its end
// (only the events produced from then on, every partition) and calls
// Reload for each publish of the server's model (the record's key, the
// model, when present, and the event's model must both name it; events of
// other models and rejections are counted and ignored). It runs until ctx
// is done: brokers that do not answer and a topic that does not exist yet
// are retried with backoff and logged, and serving never waits for them.
// The partitions are those of the start: restart the server after adding
// some. It returns an error only for a config without brokers.
func (s *Server) FollowEvents(ctx context.Context, cfg EventsConfig) error {
	if len(cfg.Brokers) == 0 {
		return errors.New("serve: model events: no Kafka brokers")
	}
	cfg.Topic = cmp.Or(cfg.Topic, DefaultEventsTopic)
	for _, r := range []string{eventReload, eventIgnored, eventMalformed} {
		s.met.events.WithLabelValues(sourceKafka, r)
	}
	log := s.cfg.Logger.With("topic", cfg.Topic)
	c := kafka.NewClient(cfg.Brokers, cfg.Auth)
	defer c.Close()
	offs, ok := eventsEnd(ctx, c, cfg.Topic, log)
	if !ok {
		return nil
	}
	log.Info("following publish events", "model", s.cfg.Model, "partitions", len(offs))
	// A publish between the first read of LATEST and these end offsets
	// was not heard: read LATEST once more.
	s.Reload()
	var wg sync.WaitGroup
	for _, o := range offs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.followPartition(ctx, c, cfg.Topic, o.Partition, o.End, log)
		}()
	}
	wg.Wait()
	return nil
}

// eventsEnd returns the end offsets of topic's partitions, retrying with
// backoff until the brokers answer and the topic exists; false when ctx
// ended first.
func eventsEnd(ctx context.Context, c *kafka.Client, topic string, log *slog.Logger) ([]kafka.PartitionOffsets, bool) {
	bo := backoff.New(500*time.Millisecond, 30*time.Second)
	for {
		offs, err := c.Offsets(ctx, topic)
		if err == nil {
			return offs, true
		}
		if ctx.Err() != nil {
			return nil, false
		}
		wait := bo.Next()
		log.Warn("model events: cannot read the topic yet (LATEST is still polled), retrying", "err", err, "backoff", wait)
		if !backoff.Sleep(ctx, wait) {
			return nil, false
		}
	}
}

// followPartition reads one partition from offset from until ctx is done.
// A Fetcher retries transient errors where it stands (no event lost);
// when its offset is out of range (the topic was recreated or truncated)
// the partition restarts from its end and LATEST is read at once, since
// events may have been missed.
func (s *Server) followPartition(ctx context.Context, c *kafka.Client, topic string, p int, from int64, log *slog.Logger) {
	bo := backoff.New(time.Second, 30*time.Second)
	for {
		out := make(chan kafka.Fetched, 1)
		fctx, cancel := context.WithCancel(ctx)
		f := &kafka.Fetcher{Client: c, Topic: topic, Partition: p, Offset: from, MaxBytes: MaxEventBytes,
			MaxWait: 500 * time.Millisecond, Logger: log, Status: kafka.NewFetchStatus()}
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.Run(fctx, out)
		}()
		err := s.readEvents(ctx, out)
		cancel()
		<-done
		if ctx.Err() != nil {
			return
		}
		log.Warn("model events: restarting the partition from its end and reading LATEST now", "partition", p, "err", err)
		for {
			if !bo.Wait(ctx) {
				return
			}
			_, end, err := c.PartitionOffsets(ctx, topic, p)
			if err == nil {
				from = end
				break
			}
			log.Warn("model events: reading the partition's end", "partition", p, "err", err)
		}
		s.Reload()
	}
}

// readEvents handles the fetched records until ctx is done (nil) or the
// fetcher sends a fatal error (returned).
func (s *Server) readEvents(ctx context.Context, out <-chan kafka.Fetched) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-out:
			if b.Err != nil {
				return b.Err
			}
			for _, m := range b.Msgs {
				s.heard(sourceKafka, m.Key, m.Value)
			}
		}
	}
}

// heard handles one event's body (and, from Kafka, the record's key):
// Reload when it is a publish of the server's model. It counts and logs
// the event and returns what became of it, with the event when it parsed.
func (s *Server) heard(source string, key, body []byte) (string, *publisher.Event) {
	result, ev, err := s.classify(key, body)
	s.met.events.WithLabelValues(source, result).Inc()
	switch result {
	case eventReload:
		args := []any{"source", source, "model", ev.Model, "version", ev.Version}
		if !ev.Time.IsZero() {
			args = append(args, "published_ago", s.cfg.Now().Sub(ev.Time).Round(time.Millisecond))
		}
		s.cfg.Logger.Info("heard of a publish: reading LATEST now", args...)
		s.Reload()
	case eventMalformed:
		s.cfg.Logger.Warn("ignoring a publish event that is not one", "source", source, "key", string(key), "err", err)
	}
	return result, ev
}

// classify says what an event is to this server: see the event* results.
func (s *Server) classify(key, body []byte) (string, *publisher.Event, error) {
	if len(key) > 0 && string(key) != s.cfg.Model {
		return eventIgnored, nil, nil // another model's: not even parsed
	}
	var ev publisher.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return eventMalformed, nil, fmt.Errorf("not JSON of an event: %w", err)
	}
	if ev.Model == "" || ev.Kind == "" {
		return eventMalformed, nil, errors.New(`no "event" or no "model"`)
	}
	if ev.Model != s.cfg.Model || ev.Kind == publisher.EventRejected {
		return eventIgnored, &ev, nil
	}
	return eventReload, &ev, nil
}

// WebhookHandler returns the receiver of the publisher's webhooks (mount
// it at POST WebhookPath). A request must carry the body's signature with
// secret, the webhook's secret_env, exactly as the publisher signs it
// (publisher.SignatureHeader, checked by publisher.VerifySignature):
// without it, the answer is 401 and the refusal is logged. A body that is
// not an event is answered 400 (413 past MaxEventBytes); a publish of
// the server's model 202, and LATEST is read at once; any other event
// (another model, a rejection) 200. The secret must not be empty: anyone
// could sign with it.
func (s *Server) WebhookHandler(secret []byte) (http.Handler, error) {
	if len(secret) == 0 {
		return nil, errors.New("serve: the webhook secret is empty")
	}
	for _, r := range []string{eventReload, eventIgnored, eventMalformed, eventUnauthorized} {
		s.met.events.WithLabelValues(sourceWebhook, r)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventBytes))
		if err != nil {
			s.met.events.WithLabelValues(sourceWebhook, eventMalformed).Inc()
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: more than %d bytes", MaxEventBytes))
				return
			}
			httpError(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
		sig := r.Header.Get(publisher.SignatureHeader)
		if !publisher.VerifySignature(secret, body, sig) {
			s.met.events.WithLabelValues(sourceWebhook, eventUnauthorized).Inc()
			why := "a wrong signature"
			if sig == "" {
				why = "no signature"
			}
			s.cfg.Logger.Warn("refusing a publish webhook: "+why, "remote", r.RemoteAddr,
				"idempotency_key", r.Header.Get(publisher.IdempotencyHeader), "bytes", len(body))
			httpError(w, http.StatusUnauthorized, "missing or wrong "+publisher.SignatureHeader)
			return
		}
		result, ev := s.heard(sourceWebhook, nil, body)
		code := http.StatusOK
		switch result {
		case eventMalformed:
			httpError(w, http.StatusBadRequest, `body: not a publish event (JSON with "event" and "model")`)
			return
		case eventReload:
			code = http.StatusAccepted
		}
		answer := map[string]string{"result": result}
		if ev != nil {
			answer["model"], answer["version"] = ev.Model, ev.Version
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(answer)
	}), nil
}
