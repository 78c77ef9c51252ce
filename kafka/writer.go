package kafka

import (
	"context"
	"time"

	kg "github.com/segmentio/kafka-go"
)

// Writer produces single keyed messages to one topic with acks=all and no
// retry of its own (its callers retry), on connections of its own that
// Close releases. It is what the publisher's Kafka hooks send events with.
type Writer struct {
	w  *kg.Writer
	tr *kg.Transport
}

// NewWriter returns a writer to topic on brokers with auth; timeout bounds
// one write (and its read of the answer).
func NewWriter(brokers []string, auth Auth, topic string, timeout time.Duration) *Writer {
	tr := auth.transport() // its own, so that Close leaves no connection behind
	return &Writer{tr: tr, w: &kg.Writer{
		Transport:    tr,
		Addr:         kg.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kg.Hash{},
		RequiredAcks: kg.RequireAll,
		MaxAttempts:  1,
		BatchTimeout: 5 * time.Millisecond,
		WriteTimeout: timeout,
		ReadTimeout:  timeout,
	}}
}

// Write produces one message, its partition chosen by the hash of key.
func (w *Writer) Write(ctx context.Context, key, value []byte, headers ...Header) error {
	return w.w.WriteMessages(ctx, kg.Message{Key: key, Value: value, Headers: headers})
}

// EnsureTopic creates the writer's topic with the given partition count
// when it does not exist (Client.EnsureTopic), through the writer's own
// connections, which Close releases.
func (w *Writer) EnsureTopic(ctx context.Context, partitions int) error {
	c := &Client{c: &kg.Client{Addr: w.w.Addr, Transport: w.tr, Timeout: Timeout}}
	_, err := c.EnsureTopic(ctx, w.w.Topic, partitions, 0)
	return err
}

// Close flushes and closes the writer and its connections.
func (w *Writer) Close() error {
	err := w.w.Close()
	w.tr.CloseIdleConnections()
	return err
}
