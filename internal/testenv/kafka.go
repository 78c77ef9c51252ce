package testenv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// kafkaTimeout bounds each helper's conversation with the brokers.
const kafkaTimeout = 30 * time.Second

// Brokers returns Kafka brokers for tb: the real ones when
// WDSTREAM_KAFKA_BROKERS is set, else a fresh in-process broker (see
// EmbeddedKafka). It fails tb when the real brokers do not answer.
func Brokers(tb testing.TB) []string {
	tb.Helper()
	if os.Getenv(EnvKafkaBrokers) == "" {
		return EmbeddedKafka(tb)
	}
	return RealKafka(tb)
}

// EmbeddedKafka starts an in-process broker that speaks the Kafka protocol
// (franz-go's kfake, one broker, listening on 127.0.0.1), closes it when tb
// ends, and returns its address. It does not create topics on first use.
func EmbeddedKafka(tb testing.TB, opts ...kfake.Opt) []string {
	tb.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		tb.Fatalf("testenv: starting the in-process Kafka broker: %v", err)
	}
	tb.Cleanup(c.Close)
	return c.ListenAddrs()
}

// RealKafka returns the brokers of WDSTREAM_KAFKA_BROKERS after checking that
// one answers. It skips tb when the variable is not set, or fails it in CI.
func RealKafka(tb testing.TB) []string {
	tb.Helper()
	brokers := splitList(os.Getenv(EnvKafkaBrokers))
	if len(brokers) == 0 {
		missing(tb, "real Kafka", EnvKafkaBrokers)
	}
	if err := ping(tb.Context(), brokers, nil); err != nil {
		tb.Fatalf("testenv: %s=%s: %v", EnvKafkaBrokers, strings.Join(brokers, ","), err)
	}
	return brokers
}

// SASL is a Kafka listener that requires SASL authentication. The same user
// and password work with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
type SASL struct {
	Brokers  []string
	User     string
	Password string
}

// RealKafkaSASL returns the real cluster's SASL_PLAINTEXT listener and its
// test user (WDSTREAM_KAFKA_SASL_BROKERS, _USER, _PASSWORD). It skips tb when
// they are not set, or fails it in CI.
func RealKafkaSASL(tb testing.TB) SASL {
	tb.Helper()
	s := SASL{
		Brokers:  splitList(os.Getenv(EnvKafkaSASLBrokers)),
		User:     os.Getenv(EnvKafkaSASLUser),
		Password: os.Getenv(EnvKafkaSASLPassword),
	}
	switch {
	case len(s.Brokers) == 0:
		missing(tb, "real Kafka with SASL", EnvKafkaSASLBrokers)
	case s.User == "" || s.Password == "":
		tb.Fatalf("testenv: %s is set but %s or %s is not", EnvKafkaSASLBrokers, EnvKafkaSASLUser, EnvKafkaSASLPassword)
	}
	return s
}

// UniqueName returns a name for a topic, group or object prefix that no other
// test (nor another run of this one) uses: prefix, the test's name made safe
// for Kafka topic names, and a random suffix.
func UniqueName(tb testing.TB, prefix string) string {
	tb.Helper()
	name := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, tb.Name())
	// Kafka allows 249 characters; leave room for a prefix and the suffix.
	if len(name) > 180 {
		name = name[:180]
	}
	return fmt.Sprintf("%s-%s-%08x", prefix, name, rand.Uint32())
}

// Topic creates a topic with a unique name and the given number of
// partitions, deletes it when tb ends, and returns its name.
func Topic(tb testing.TB, brokers []string, partitions int) string {
	tb.Helper()
	topic := TopicName(tb, brokers)
	CreateTopic(tb, brokers, topic, partitions)
	return topic
}

// TopicName returns a unique topic name that is not created, for a test
// of code that creates its topic; the topic is deleted when tb ends if it
// exists by then.
func TopicName(tb testing.TB, brokers []string) string {
	tb.Helper()
	topic := UniqueName(tb, "test")
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), kafkaTimeout)
		defer cancel()
		if err := deleteTopic(ctx, brokers, topic); err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
			tb.Logf("testenv: topic %s left behind: %v", topic, err)
		}
	})
	return topic
}

// CreateTopic creates topic with the given number of partitions (replication
// factor 1) through the cluster's controller, and waits until every
// partition has a leader. It fails tb on any error, including a topic that
// exists already.
func CreateTopic(tb testing.TB, brokers []string, topic string, partitions int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), kafkaTimeout)
	defer cancel()
	if err := createTopic(ctx, brokers, topic, partitions); err != nil {
		tb.Fatalf("testenv: creating topic %s with %d partitions on %s: %v", topic, partitions, strings.Join(brokers, ","), err)
	}
}

// DeleteTopic deletes topic through the cluster's controller. It fails tb on
// any error.
func DeleteTopic(tb testing.TB, brokers []string, topic string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), kafkaTimeout)
	defer cancel()
	if err := deleteTopic(ctx, brokers, topic); err != nil {
		tb.Fatalf("testenv: deleting topic %s on %s: %v", topic, strings.Join(brokers, ","), err)
	}
}

// Topics lists the topics of the cluster, without creating any.
func Topics(tb testing.TB, brokers []string) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), kafkaTimeout)
	defer cancel()
	conn, err := dialAny(ctx, brokers, nil)
	if err != nil {
		tb.Fatalf("testenv: listing topics: %v", err)
	}
	defer conn.Close()
	// No topic named: all of them; naming one would auto-create it where
	// the broker allows that.
	parts, err := conn.ReadPartitions()
	if err != nil {
		tb.Fatalf("testenv: listing topics on %s: %v", conn.RemoteAddr(), err)
	}
	seen := map[string]bool{}
	var topics []string
	for _, p := range parts {
		if !seen[p.Topic] {
			seen[p.Topic] = true
			topics = append(topics, p.Topic)
		}
	}
	return topics
}

func createTopic(ctx context.Context, brokers []string, topic string, partitions int) error {
	if partitions < 1 {
		return fmt.Errorf("%d partitions: need at least 1", partitions)
	}
	conn, err := dialController(ctx, brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1})
	if err != nil {
		return fmt.Errorf("CreateTopics on controller %s: %w", conn.RemoteAddr(), err)
	}
	// The controller has accepted the topic; wait until the metadata shows
	// every partition with a leader, so that producing right away works.
	for {
		parts, err := conn.ReadPartitions(topic)
		if err == nil && len(parts) == partitions && allLed(parts) {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("metadata shows %d partitions, with leaders: %v", len(parts), allLed(parts))
			}
			return fmt.Errorf("waiting for the partitions' leaders: %w (%v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func allLed(parts []kafka.Partition) bool {
	for _, p := range parts {
		if p.Leader.Host == "" || p.Error != nil {
			return false
		}
	}
	return true
}

func deleteTopic(ctx context.Context, brokers []string, topic string) error {
	conn, err := dialController(ctx, brokers)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.DeleteTopics(topic); err != nil {
		return fmt.Errorf("DeleteTopics on controller %s: %w", conn.RemoteAddr(), err)
	}
	return nil
}

// dialController connects to the controller of the cluster.
func dialController(ctx context.Context, brokers []string) (*kafka.Conn, error) {
	conn, err := dialAny(ctx, brokers, nil)
	if err != nil {
		return nil, err
	}
	ctl, err := conn.Controller()
	conn.Close()
	if err != nil {
		return nil, fmt.Errorf("asking %s for the controller: %w", conn.RemoteAddr(), err)
	}
	addr := net.JoinHostPort(ctl.Host, fmt.Sprint(ctl.Port))
	c, err := dial(ctx, addr, nil)
	if err != nil {
		return nil, fmt.Errorf("dialing the controller %s: %w", addr, err)
	}
	return c, nil
}

// dialAny connects to the first of brokers that answers.
func dialAny(ctx context.Context, brokers []string, d *kafka.Dialer) (*kafka.Conn, error) {
	if len(brokers) == 0 {
		return nil, errors.New("no brokers given")
	}
	var errs []error
	for _, b := range brokers {
		c, err := dial(ctx, b, d)
		if err == nil {
			return c, nil
		}
		errs = append(errs, fmt.Errorf("dialing %s: %w", b, err))
	}
	return nil, errors.Join(errs...)
}

func dial(ctx context.Context, addr string, d *kafka.Dialer) (*kafka.Conn, error) {
	if d == nil {
		d = &kafka.Dialer{Timeout: 10 * time.Second}
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return c, nil
}

// ping checks that one of brokers answers a metadata request.
func ping(ctx context.Context, brokers []string, d *kafka.Dialer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := dialAny(ctx, brokers, d)
	if err != nil {
		return fmt.Errorf("no broker answers: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Brokers(); err != nil {
		return fmt.Errorf("metadata request to %s: %w", conn.RemoteAddr(), err)
	}
	return nil
}
