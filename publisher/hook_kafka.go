package publisher

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/wdstream/wdstream/schemas/spec"
)

// newKafkaHook produces each event to the hook's topic (which must exist),
// keyed by model, with the event kind and idempotency key as headers.
func newKafkaHook(k spec.KafkaHook, cfg HookConfig) *Hook {
	tr := &kafka.Transport{} // its own, so that Close leaves no connection behind
	if cfg.KafkaTransport != nil {
		tr = &kafka.Transport{TLS: cfg.KafkaTransport.TLS, SASL: cfg.KafkaTransport.SASL,
			DialTimeout: cfg.KafkaTransport.DialTimeout, IdleTimeout: cfg.KafkaTransport.IdleTimeout}
	}
	w := &kafka.Writer{
		Transport:    tr,
		Addr:         kafka.TCP(cfg.KafkaBrokers...),
		Topic:        k.Topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		MaxAttempts:  1, // the hook queue retries
		BatchTimeout: 5 * time.Millisecond,
		WriteTimeout: cfg.KafkaTimeout,
		ReadTimeout:  cfg.KafkaTimeout,
	}
	h := &Hook{Kind: "kafka", Name: "topic " + k.Topic + " on " + strings.Join(cfg.KafkaBrokers, ","), Retries: cfg.KafkaRetries, Timeout: cfg.KafkaTimeout}
	h.run = func(ctx context.Context, e *Event, body []byte, _ int) error {
		err := w.WriteMessages(ctx, kafka.Message{
			Key:   []byte(e.Model),
			Value: body,
			Headers: []kafka.Header{
				{Key: "event", Value: []byte(e.Kind)},
				{Key: "idempotency-key", Value: []byte(e.IdempotencyKey())},
			},
		})
		if err != nil {
			return fmt.Errorf("producing to %s: %w", k.Topic, err)
		}
		return nil
	}
	h.close = func() error {
		err := w.Close()
		tr.CloseIdleConnections()
		return err
	}
	return h
}
