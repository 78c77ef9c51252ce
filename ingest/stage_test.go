package ingest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/simulate"
)

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return nil
}

// TestJoinStageMatchesOffline runs the stage on a simulated stream and
// compares its examples with one offline joiner over the same events.
func TestJoinStageMatchesOffline(t *testing.T) {
	brokers := testenv.Brokers(t)
	evs := simEvents(t, 4000)
	tp := newTopics(t, brokers, "")
	produceEvents(t, brokers, tp.imps, tp.ins, 3, evs)
	want := offlineLabels(t, evs, 30*time.Minute)

	cfg := JoinConfig{
		Brokers: brokers, Group: tp.group,
		Impressions: tp.imps, Installs: tp.ins,
		Examples: tp.ex, DeadLetter: tp.dlq,
		Window: 30 * time.Minute, IdleAdvance: time.Second, FlushRecords: 500,
		Logger: testLogger(t),
	}
	s, err := NewJoinStage(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitExamples(t, brokers, cfg.Examples, len(want), time.Minute)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := readExamples(t, brokers, cfg.Examples)
	if len(got.dups) > 0 {
		t.Fatalf("%d duplicate examples, e.g. %v", len(got.dups), head(got.dups))
	}
	if st := s.Stats(); st.DeadLetters > 0 {
		for _, ms := range readTopic(t, brokers, cfg.DeadLetter) {
			for i, m := range ms {
				if i < 5 {
					t.Errorf("dead letter %s@%s %q: %s", hdr(m, "source_topic"), hdr(m, "source_offset"), m.Value, hdr(m, "reason"))
				}
			}
		}
		t.Fatalf("%d dead letters, want none: %+v", st.DeadLetters, st)
	}
	compareLabels(t, got.labels, want)
	st := s.Stats()
	t.Logf("%d examples, %d positive; stats %+v", got.n, positives(got.labels), st)
}

// TestKafkaImpressionsOnlyBacklog: a backlog of impressions many fetches
// long and an installs topic that stays empty. The empty input is not
// live, so the merge waits for it while the impressions fill their fetch
// buffer; the impressions' fetcher, blocked on the full buffer, must still
// tell that nothing newer is coming, so that the end of the data (both
// quiet for the idle advance) closes every window.
func TestKafkaImpressionsOnlyBacklog(t *testing.T) {
	brokers := testenv.RealKafka(t)
	var imps []simulate.Event
	for _, e := range simEvents(t, scaled(20000)) {
		if e.Impression != nil {
			imps = append(imps, e)
		}
	}
	tp := newTopics(t, brokers, "io")
	// Small record batches, so that the backlog is many fetches long.
	pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer pcancel()
	p, err := NewEventProducer(pctx, brokers, kafka.Auth{}, tp.imps, tp.ins, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range imps {
		p.Impression(e.Impression)
		if i%200 == 199 || i == len(imps)-1 {
			if err := p.Flush(pctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := NewJoinStage(JoinConfig{Brokers: brokers, Group: tp.group, Impressions: tp.imps, Installs: tp.ins,
		Examples: tp.ex, DeadLetter: tp.dlq, Window: 30 * time.Minute, IdleAdvance: 2 * time.Second,
		FetchMaxBytes: 1, Logger: testLogger(t)}) // one record batch per fetch
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitExamples(t, brokers, tp.ex, len(imps), 2*time.Minute)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := readExamples(t, brokers, tp.ex)
	if len(got.dups) > 0 || len(got.labels) != len(imps) || positives(got.labels) != 0 {
		t.Fatalf("%d examples (%d duplicates, %d positive), want %d negatives", got.n, len(got.dups), positives(got.labels), len(imps))
	}
}
