package ingest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
)

// TestKafkaKcatProducer has kcat (librdkafka, a client we did not write)
// produce JSON impressions and installs, malformed ones among them: the
// good ones are labeled, the bad ones land in the dead-letter topic with
// their bytes, source and reason.
func TestKafkaKcatProducer(t *testing.T) {
	brokers := testenv.RealKafka(t)
	kcat := testenv.Kcat(t)
	tp := newTopics(t, brokers, "kc")
	if err := kafka.NewClient(brokers, kafka.Auth{}).EnsureTopics(context.Background(), 1, tp.imps, tp.ins); err != nil {
		t.Fatal(err)
	}
	const base = int64(1_767_000_000_000)
	imps := []string{
		fmt.Sprintf(`{"impression_id":"k1","ts":%d,"user_id":"u1","app_id":"a1","position":1}`, base),
		fmt.Sprintf(`{"impression_id":"k2","ts":%d,"user_id":"u1","app_id":"a2"}`, base+1000),
		fmt.Sprintf(`{"impression_id":"k3","ts":%d,"user_id":"u2","app_id":"a3","country":"DE"}`, base+2000),
		`{"impression_id":"bad1","ts":"yesterday","user_id":"u1","app_id":"a1"}`,
		`not json at all`,
		fmt.Sprintf(`{"impression_id":"bad3","ts":%d,"app_id":"a1"}`, base),
	}
	ins := []string{
		fmt.Sprintf(`{"impression_id":"k1","ts":%d}`, base+60_000),
		fmt.Sprintf(`{"ts":%d,"user_id":"u2","app_id":"a3"}`, base+120_000),
		fmt.Sprintf(`{"ts":%d,"user_id":"u2"}`, base+130_000),
		fmt.Sprintf(`{"impression_id":"k2","ts":%d,}`, base+5000),
	}
	produce := func(topic string, lines []string) {
		f := filepath.Join(t.TempDir(), "in.txt")
		if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(kcat, "-b", strings.Join(brokers, ","), "-P", "-t", topic, "-p", "0", "-l", f).CombinedOutput()
		if err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
	}
	produce(tp.imps, imps)
	produce(tp.ins, ins)

	s, err := NewJoinStage(JoinConfig{Brokers: brokers, Group: tp.group, Impressions: tp.imps, Installs: tp.ins,
		Examples: tp.ex, DeadLetter: tp.dlq, Window: 30 * time.Minute, IdleAdvance: time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitExamples(t, brokers, tp.ex, 3, time.Minute)
	waitExamples(t, brokers, tp.dlq, 5, time.Minute)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := readExamples(t, brokers, tp.ex)
	compareLabels(t, got.labels, map[string]int32{"k1": 1, "k2": 0, "k3": 1})

	dl := readTopic(t, brokers, tp.dlq)
	var bad []string
	for _, ms := range dl {
		for _, m := range ms {
			if hdr(m, "reason") == "" || hdr(m, "source_offset") == "" || hdr(m, "source_partition") != "0" {
				t.Errorf("dead letter %q lacks headers: %v", m.Value, m.Headers)
			}
			bad = append(bad, hdr(m, "source_topic")+"@"+hdr(m, "source_offset")+" "+string(m.Value)+" => "+hdr(m, "reason"))
		}
	}
	if len(bad) != 5 {
		t.Fatalf("dead letters: %d, want 5:\n%s", len(bad), strings.Join(bad, "\n"))
	}
	for _, want := range []string{imps[3], imps[4], imps[5], ins[2], ins[3]} {
		found := false
		for _, b := range bad {
			found = found || strings.Contains(b, " "+want+" => ")
		}
		if !found {
			t.Errorf("no dead letter with the original bytes %s", want)
		}
	}
	t.Logf("dead letters:\n%s", strings.Join(bad, "\n"))
}
