package publisher

import (
	"context"
	"fmt"
	"strings"

	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas/spec"
)

// newKafkaHook produces each event to the hook's topic (which must exist),
// keyed by model, with the event kind and idempotency key as headers.
func newKafkaHook(k spec.KafkaHook, cfg HookConfig) *Hook {
	w := kafka.NewWriter(cfg.KafkaBrokers, cfg.KafkaAuth, k.Topic, cfg.KafkaTimeout)
	h := &Hook{Kind: "kafka", Name: "topic " + k.Topic + " on " + strings.Join(cfg.KafkaBrokers, ","), Retries: cfg.KafkaRetries, Timeout: cfg.KafkaTimeout}
	h.run = func(ctx context.Context, e *Event, body []byte, _ int) error {
		err := w.Write(ctx, []byte(e.Model), body,
			kafka.Header{Key: "event", Value: []byte(e.Kind)},
			kafka.Header{Key: "idempotency-key", Value: []byte(e.IdempotencyKey())})
		if err != nil {
			return fmt.Errorf("producing to %s: %w", k.Topic, err)
		}
		return nil
	}
	h.close = w.Close
	return h
}
