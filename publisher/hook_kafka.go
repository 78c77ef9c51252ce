package publisher

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas/spec"
)

// newKafkaHook produces each event to the hook's topic (created when missing),
// keyed by model, with the event kind and idempotency key as headers.
func newKafkaHook(k spec.KafkaHook, cfg HookConfig) *Hook {
	w := kafka.NewWriter(cfg.KafkaBrokers, cfg.KafkaAuth, k.Topic, cfg.KafkaTimeout)
	h := &Hook{Kind: "kafka", Name: "topic " + k.Topic + " on " + strings.Join(cfg.KafkaBrokers, ","), Retries: cfg.KafkaRetries, Timeout: cfg.KafkaTimeout}
	// The topic is created (one partition: events are ordered per model
	// by their key anyway) when it does not exist, once per process; a
	// cluster that does not let us create it gets the produce error.
	var ensured atomic.Bool
	h.run = func(ctx context.Context, e *Event, body []byte, _ int) error {
		if !ensured.Load() {
			ensured.Store(w.EnsureTopic(ctx, 1) == nil)
		}
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
