package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/wdstream/wdstream/internal/testenv"
)

// TestKafkaGo checks that our Kafka client, kafka-go, works against both
// brokers the tests use: topic admin, produce, consume by partition, and a
// consumer group that resumes from its committed offsets.
func TestKafkaGo(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		exerciseKafkaGo(t, testenv.EmbeddedKafka(t))
	})
	t.Run("real", func(t *testing.T) {
		t.Parallel()
		exerciseKafkaGo(t, testenv.RealKafka(t))
	})
}

func exerciseKafkaGo(t *testing.T, brokers []string) {
	t.Run("topics", func(t *testing.T) {
		topic := testenv.UniqueName(t, "admin")
		testenv.CreateTopic(t, brokers, topic, 3)
		if !slices.Contains(testenv.Topics(t, brokers), topic) {
			t.Fatalf("topic %s is not listed after CreateTopic", topic)
		}
		conn, err := kafka.DialLeader(t.Context(), "tcp", brokers[0], topic, 2)
		if err != nil {
			t.Fatalf("dialing the leader of partition 2 of a 3-partition topic: %v", err)
		}
		conn.Close()
		testenv.DeleteTopic(t, brokers, topic)
		// Deletion completes asynchronously on a real broker.
		deadline := time.Now().Add(20 * time.Second)
		for slices.Contains(testenv.Topics(t, brokers), topic) {
			if time.Now().After(deadline) {
				t.Fatalf("topic %s is still listed 20s after DeleteTopic", topic)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	t.Run("produce-consume", func(t *testing.T) {
		const n = 60
		topic := testenv.Topic(t, brokers, 2)
		want := produce(t, brokers, topic, n)
		var got []string
		for p := 0; p < 2; p++ {
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: brokers, Topic: topic, Partition: p,
				MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond,
			})
			inPartition := readUntilEnd(t, r, brokers[0], topic, p)
			if len(inPartition) == 0 {
				t.Errorf("partition %d got no messages: the balancer should spread %d keys", p, n)
			}
			got = append(got, inPartition...)
			r.Close()
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("read back %d messages %v..., want the %d produced", len(got), head(got), n)
		}
	})
	t.Run("consumer-group", func(t *testing.T) {
		const n = 40
		topic := testenv.Topic(t, brokers, 2)
		group := testenv.UniqueName(t, "group")
		want := produce(t, brokers, topic, n)

		first := consumeGroup(t, brokers, topic, group, n/2)
		// A second member of the same group, after the first left, starts
		// where the first committed: together they see every message once.
		second := consumeGroup(t, brokers, topic, group, n-n/2)
		got := append(first, second...)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("group members read %d then %d messages, %v...; want the %d produced, each once", len(first), len(second), head(got), n)
		}
	})
}

// produce writes n keyed messages to topic and returns their values, sorted.
func produce(t *testing.T, brokers []string, topic string, n int) []string {
	t.Helper()
	// A transport of its own: kafka-go's shared DefaultTransport caches
	// metadata for a while and then reports a topic created since as unknown.
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Transport: tr,
		Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
	}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	want := make([]string, n)
	for i := range msgs {
		want[i] = fmt.Sprintf("value-%03d", i)
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprintf("key-%03d", i)), Value: []byte(want[i])}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("producing %d messages to %s: %v", n, topic, err)
	}
	return want
}

// readUntilEnd reads partition p of topic from the start to its end offset.
func readUntilEnd(t *testing.T, r *kafka.Reader, broker, topic string, p int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := kafka.DialLeader(ctx, "tcp", broker, topic, p)
	if err != nil {
		t.Fatalf("dialing the leader of %s/%d: %v", topic, p, err)
	}
	end, err := conn.ReadLastOffset()
	conn.Close()
	if err != nil {
		t.Fatalf("reading the end offset of %s/%d: %v", topic, p, err)
	}
	var got []string
	for int64(len(got)) < end {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("reading %s/%d after %d of %d messages: %v", topic, p, len(got), end, err)
		}
		got = append(got, string(m.Value))
	}
	return got
}

// consumeGroup joins group, fetches n messages, commits them and leaves.
func consumeGroup(t *testing.T, brokers []string, topic, group string, n int) []string {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: brokers, Topic: topic, GroupID: group,
		StartOffset: kafka.FirstOffset, MinBytes: 1, MaxBytes: 1 << 20,
		MaxWait: 100 * time.Millisecond, HeartbeatInterval: time.Second,
		SessionTimeout: 6 * time.Second, RebalanceTimeout: 10 * time.Second,
	})
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("closing the group reader: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var got []string
	for len(got) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("group %s: fetching message %d of %d: %v", group, len(got)+1, n, err)
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatalf("group %s: committing %s/%d@%d: %v", group, m.Topic, m.Partition, m.Offset, err)
		}
		got = append(got, string(m.Value))
	}
	return got
}

func head(s []string) []string { return s[:min(len(s), 5)] }

// TestKafkaSASL checks kafka-go against the real broker's SASL listener with
// each mechanism, and that a wrong password is refused.
func TestKafkaSASL(t *testing.T) {
	s := testenv.RealKafkaSASL(t)
	brokers := testenv.RealKafka(t)
	topic := testenv.Topic(t, brokers, 1)

	mechanisms := map[string]func(user, pass string) (sasl.Mechanism, error){
		"PLAIN": func(u, p string) (sasl.Mechanism, error) { return plain.Mechanism{Username: u, Password: p}, nil },
		"SCRAM-SHA-256": func(u, p string) (sasl.Mechanism, error) {
			return scram.Mechanism(scram.SHA256, u, p)
		},
		"SCRAM-SHA-512": func(u, p string) (sasl.Mechanism, error) {
			return scram.Mechanism(scram.SHA512, u, p)
		},
	}
	for _, name := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(name, func(t *testing.T) {
			mech, err := mechanisms[name](s.User, s.Password)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			tr := &kafka.Transport{SASL: mech}
			w := &kafka.Writer{
				Addr: kafka.TCP(s.Brokers...), Topic: topic, RequiredAcks: kafka.RequireAll,
				Transport: tr, BatchTimeout: 5 * time.Millisecond,
			}
			value := "over " + name
			err = w.WriteMessages(ctx, kafka.Message{Value: []byte(value)})
			w.Close()
			tr.CloseIdleConnections()
			if err != nil {
				t.Fatalf("producing through %s with %s: %v", strings.Join(s.Brokers, ","), name, err)
			}
			d := &kafka.Dialer{Timeout: 10 * time.Second, SASLMechanism: mech}
			conn, err := d.DialLeader(ctx, "tcp", s.Brokers[0], topic, 0)
			if err != nil {
				t.Fatalf("dialing the leader through %s with %s: %v", s.Brokers[0], name, err)
			}
			defer conn.Close()
			last, err := conn.ReadLastOffset()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Seek(last-1, kafka.SeekAbsolute); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			m, err := conn.ReadMessage(1 << 20)
			if err != nil {
				t.Fatalf("consuming through %s with %s: %v", s.Brokers[0], name, err)
			}
			if string(m.Value) != value {
				t.Fatalf("read %q at the end of %s, want %q", m.Value, topic, value)
			}

			bad, err := mechanisms[name](s.User, s.Password+"-wrong")
			if err != nil {
				t.Fatal(err)
			}
			d = &kafka.Dialer{Timeout: 10 * time.Second, SASLMechanism: bad}
			conn2, err := d.DialContext(ctx, "tcp", s.Brokers[0])
			if err == nil {
				conn2.Close()
				t.Fatalf("%s with a wrong password was accepted", name)
			}
			var kerr kafka.Error
			if !errors.As(err, &kerr) || kerr != kafka.SASLAuthenticationFailed {
				t.Logf("wrong password refused with: %v", err)
			}
		})
	}
}
