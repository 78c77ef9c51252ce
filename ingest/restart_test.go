package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
)

// TestKafkaBrokerRestart restarts the broker while the join runs: the
// examples are still exactly the offline join's, without duplicates.
func TestKafkaBrokerRestart(t *testing.T) {
	brokers := testenv.RealKafka(t)
	evs := simEvents(t, scaled(80000))
	want := offlineLabels(t, evs, 30*time.Minute)
	tp := newTopics(t, brokers, "r")
	produceEvents(t, brokers, tp.imps, tp.ins, 4, evs)
	s, err := NewJoinStage(JoinConfig{Brokers: brokers, Group: tp.group, Impressions: tp.imps, Installs: tp.ins,
		Examples: tp.ex, DeadLetter: tp.dlq, Window: 30 * time.Minute, IdleAdvance: 2 * time.Second,
		FlushRecords: 2000, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitExamples(t, brokers, tp.ex, len(want)/16, time.Minute)
	before := countRecords(t, brokers, tp.ex)
	testenv.RestartKafka(t, brokers)
	waitExamples(t, brokers, tp.ex, len(want), 3*time.Minute)
	time.Sleep(2 * time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := readExamples(t, brokers, tp.ex)
	if len(got.dups) > 0 {
		t.Fatalf("%d duplicates after the broker restart, e.g. %v", len(got.dups), head(got.dups))
	}
	compareLabels(t, got.labels, want)
	st := s.Stats()
	t.Logf("restart at %d of %d examples; partition restarts %d, suppressed re-emissions %d", before, len(want), st.Restarts, st.Suppressed)
}
