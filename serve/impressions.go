package serve

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wdstream/wdstream/internal/backoff"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
)

// ImpressionSink receives what a Server answered, when Config.Impressions
// sets one: every candidate of every answered request, as the impression
// it was scored as, with the impression id returned to the client.
type ImpressionSink interface {
	// Log takes the impressions of one answered request, in the request's
	// order. It must return at once (it runs on the request's path): a
	// sink that cannot keep up drops, it never makes a request wait. The
	// sink owns served after the call; the server does not touch it again.
	Log(served []Served)
}

// Served is one candidate as answered: the impression it was scored as
// (ImpressionID the id returned to the client, TS the request's, UserID,
// AppID and exactly the feature columns the model read it with) and the
// position it was ranked at (1: the highest score).
type Served struct {
	Impression schemas.Impression
	Position   int
}

// logServed gives every scored candidate an impression id, hands the
// impressions to the sink with their positions in ranking, and returns
// the ids in the request's order.
func (s *Server) logServed(exs []schemas.Example, ranking []int) []string {
	ids := make([]string, len(exs))
	served := make([]Served, len(exs))
	gen := processIDs()
	for i := range exs {
		ids[i] = gen.next()
		served[i].Impression = exs[i].Impression
		served[i].Impression.ImpressionID = ids[i]
	}
	for pos, i := range ranking {
		served[i].Position = pos + 1
	}
	s.cfg.Impressions.Log(served)
	return ids
}

// idGen makes impression ids unique across restarts and replicas without
// coordination: a prefix of 80 random bits drawn once per process, then a
// counter ("<16 base32 chars>-<base 36 counter>"). Two processes share a
// prefix with probability 2^-80 per pair.
type idGen struct {
	prefix string
	n      atomic.Uint64
}

var processIDs = sync.OnceValue(func() *idGen {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return &idGen{prefix: strings.ToLower(base32.StdEncoding.EncodeToString(b[:])) + "-"}
})

func (g *idGen) next() string {
	return g.prefix + strconv.FormatUint(g.n.Add(1), 36)
}

// KafkaImpressionsConfig configures KafkaImpressions. Brokers and Topic are
// required.
type KafkaImpressionsConfig struct {
	Brokers []string
	Auth    kafka.Auth
	Topic   string
	// PositionColumn names the feature column that carries the position
	// a candidate was ranked at, 1 for the first (default "position", the
	// simulator's column of the slot on the page; "-": none). It replaces
	// the value the request gave that column, if any: a model that reads
	// the position is scored with a placeholder (the real one is known only
	// once ranked), and learns from the position shown. A spec that does
	// not name the column ignores it.
	PositionColumn string
	// Shown, when positive, logs only the candidates ranked 1..Shown of
	// each answer: a client that shows the top Shown of a ranking shows
	// no other, and a candidate never shown is no impression (it would
	// join as a negative). Default 0: every candidate answered.
	Shown int
	// Queue bounds the impressions waiting for the producer (default
	// 100,000); a request whose impressions do not fit is dropped whole.
	Queue int
	// Batch: produce as soon as this many impressions wait (default
	// 10,000); Linger: at least this often (default 100ms).
	Batch  int
	Linger time.Duration
	// Timeout bounds one batch's produce (default 5s), and the last one at
	// shutdown.
	Timeout    time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// KafkaImpressions is the ImpressionSink of `wdstream serve
// --log-impressions`: it writes served impressions to the impressions topic
// in the join's format (see the package doc), from a bounded in-memory
// queue that one background producer (Run) empties in batches. Log never
// waits: when the queue is full, or a batch fails to produce (Kafka down,
// topic missing), the impressions are dropped and counted
// (wdstream_serve_impressions_dropped_total by reason), with one log line
// at most every 10 s.
type KafkaImpressions struct {
	cfg    KafkaImpressionsConfig
	client *kafka.Client
	met    impressionMetrics
	wake   chan struct{}

	mu      sync.Mutex
	pending []Served
	stopped bool

	// The producer's own (Run's goroutine).
	spare     []Served
	parts     int // of the topic; 0: to read
	producers []*kafka.Producer
	scratch   map[string]schemas.Value
	arena     []byte
	recs      [][]kafka.Record

	logMu    sync.Mutex
	lastLog  time.Time
	unlogged int64 // dropped since the last log line
}

type impressionMetrics struct {
	logged  prometheus.Counter
	dropped *prometheus.CounterVec
}

// Reasons of wdstream_serve_impressions_dropped_total.
const (
	dropQueueFull = "queue_full" // Log found the queue full
	dropKafka     = "kafka"      // the batch failed to produce
	dropInvalid   = "invalid"    // the join's decoder would reject it (an id over 256 bytes, a message over 1 MiB)
	dropStopped   = "stopped"    // Log after Run returned
)

// noPosition is the PositionColumn that writes no position.
const noPosition = "-"

// NewKafkaImpressions checks cfg and returns the sink; Run produces.
func NewKafkaImpressions(cfg KafkaImpressionsConfig) (*KafkaImpressions, error) {
	if len(cfg.Brokers) == 0 || cfg.Topic == "" {
		return nil, errors.New("serve: logging impressions needs brokers and a topic")
	}
	if cfg.Queue < 0 || cfg.Batch < 0 || cfg.Linger < 0 || cfg.Timeout < 0 || cfg.Shown < 0 {
		return nil, errors.New("serve: negative impressions queue, batch, linger, timeout or shown")
	}
	cfg.PositionColumn = cmp.Or(cfg.PositionColumn, "position")
	cfg.Queue = cmp.Or(cfg.Queue, 100_000)
	cfg.Batch = min(cmp.Or(cfg.Batch, 10_000), cfg.Queue)
	cfg.Linger = cmp.Or(cfg.Linger, 100*time.Millisecond)
	cfg.Timeout = cmp.Or(cfg.Timeout, 5*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	k := &KafkaImpressions{cfg: cfg, client: kafka.NewClient(cfg.Brokers, cfg.Auth), wake: make(chan struct{}, 1), scratch: map[string]schemas.Value{}}
	const ns, sub = "wdstream", "serve"
	k.met.logged = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "impressions_logged_total",
		Help: "Served impressions written to the impressions topic (acknowledged by the broker)."})
	k.met.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "impressions_dropped_total",
		Help: "Served impressions not logged: queue_full (the producer could not keep up), kafka (the produce failed), invalid (the join would reject it), stopped."},
		[]string{"reason"})
	for _, r := range []string{dropQueueFull, dropKafka, dropInvalid, dropStopped} {
		k.met.dropped.WithLabelValues(r)
	}
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "impressions_queued",
		Help: "Served impressions waiting for the producer."}, func() float64 {
		k.mu.Lock()
		defer k.mu.Unlock()
		return float64(len(k.pending))
	})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(k.met.logged, k.met.dropped, queued)
	}
	return k, nil
}

// Log queues one request's impressions, or drops them all when the queue
// has no room for them; it never waits for Kafka.
func (k *KafkaImpressions) Log(served []Served) {
	if k.cfg.Shown > 0 {
		served = slices.DeleteFunc(served, func(s Served) bool { return s.Position > k.cfg.Shown })
	}
	k.mu.Lock()
	reason := ""
	switch {
	case k.stopped:
		reason = dropStopped
	case len(k.pending)+len(served) > k.cfg.Queue:
		reason = dropQueueFull
	default:
		k.pending = append(k.pending, served...)
	}
	full := len(k.pending) >= k.cfg.Batch
	k.mu.Unlock()
	if reason != "" {
		k.drop(reason, len(served), nil)
		return
	}
	if full {
		select {
		case k.wake <- struct{}{}:
		default:
		}
	}
}

// Run produces the queued impressions, a batch every Linger or as soon as
// Batch wait, until ctx is done; it then produces what is queued (within
// Timeout; dropped at once when the last batch failed) and returns nil.
// After a failed batch it waits (250ms doubling up to 5s) before the
// next, the queue filling meanwhile.
func (k *KafkaImpressions) Run(ctx context.Context) error {
	defer k.client.Close()
	bo := backoff.New(250*time.Millisecond, 5*time.Second)
	t := time.NewTicker(k.cfg.Linger)
	defer t.Stop()
	ok := true
	for {
		select {
		case <-ctx.Done():
			k.mu.Lock()
			k.stopped = true
			left := len(k.pending)
			if !ok {
				k.pending = k.pending[:0]
			}
			k.mu.Unlock()
			if ok {
				k.flush(context.WithoutCancel(ctx))
			} else {
				k.drop(dropKafka, left, errors.New("stopping while Kafka fails: the queue is dropped"))
			}
			return nil
		case <-t.C:
		case <-k.wake:
		}
		if ok = k.flush(context.WithoutCancel(ctx)); ok {
			bo.Reset()
		} else {
			backoff.Sleep(ctx, bo.Next())
		}
	}
}

// flush produces what is queued, one attempt within Timeout; it reports
// false when the batch failed.
func (k *KafkaImpressions) flush(ctx context.Context) bool {
	k.mu.Lock()
	batch := k.pending
	k.pending = k.spare[:0]
	k.mu.Unlock()
	defer func() {
		clear(batch) // let go of the feature maps
		k.spare = batch[:0]
	}()
	if len(batch) == 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, k.cfg.Timeout)
	defer cancel()
	if k.parts == 0 {
		n, err := k.partitions(ctx)
		if err != nil {
			k.drop(dropKafka, len(batch), err)
			return false
		}
		k.parts = n
		k.producers = make([]*kafka.Producer, n)
		for i := range k.producers {
			k.producers[i] = kafka.NewProducer(k.client, kafka.Zstd)
		}
		k.recs = make([][]kafka.Record, n)
	}
	// In ts order within the batch: requests run concurrently and queue
	// in the order they finish.
	slices.SortStableFunc(batch, func(a, b Served) int { return cmp.Compare(a.Impression.TS, b.Impression.TS) })
	invalid, n := k.encode(batch)
	if invalid > 0 {
		k.drop(dropInvalid, invalid, fmt.Errorf("an impression the join would reject: user_id or app_id over %d bytes, or a message over %d bytes", schemas.DefaultMaxIDBytes, schemas.DefaultMaxBytes))
	}
	if n == 0 {
		return true
	}
	acked := make([]int, k.parts)
	errs := make([]error, k.parts)
	var wg sync.WaitGroup
	for p, recs := range k.recs {
		if len(recs) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr := k.producers[p]
			_, errs[p] = pr.Produce(ctx, k.cfg.Topic, p, recs)
			acked[p] = pr.Acked()
		}()
	}
	wg.Wait()
	ok := 0
	for _, a := range acked {
		ok += a
	}
	k.met.logged.Add(float64(ok))
	if err := errors.Join(errs...); err != nil {
		k.parts = 0 // read the metadata again before the next batch
		k.drop(dropKafka, n-ok, err)
		return false
	}
	return true
}

// partitions reads the topic's partition count.
func (k *KafkaImpressions) partitions(ctx context.Context) (int, error) {
	counts, err := k.client.PartitionCounts(ctx, k.cfg.Topic)
	if err != nil {
		return 0, err
	}
	n := counts[k.cfg.Topic]
	if n == 0 {
		return 0, fmt.Errorf("topic %s does not exist (create it with the installs topic's partition count)", k.cfg.Topic)
	}
	return n, nil
}

// encode writes batch as records in k.recs, by the murmur2 partition of
// the user_id: the impression's JSON (schemas.AppendImpressionJSON) with
// the position column set, keyed by user_id. It returns the impressions
// left out because the join's decoder would reject them, and the records.
func (k *KafkaImpressions) encode(batch []Served) (invalid, n int) {
	for p := range k.recs {
		k.recs[p] = k.recs[p][:0]
	}
	part := kafka.NewMurmur2(k.parts)
	k.arena = k.arena[:0]
	for i := range batch {
		imp := batch[i].Impression
		if len(imp.UserID) > schemas.DefaultMaxIDBytes || len(imp.AppID) > schemas.DefaultMaxIDBytes {
			invalid++
			continue
		}
		if k.cfg.PositionColumn != noPosition {
			clear(k.scratch)
			maps.Copy(k.scratch, imp.Features)
			k.scratch[k.cfg.PositionColumn] = schemas.Number(float64(batch[i].Position))
			imp.Features = k.scratch
		}
		start := len(k.arena)
		k.arena = schemas.AppendImpressionJSON(k.arena, &imp)
		if len(k.arena)-start > schemas.DefaultMaxBytes {
			k.arena = k.arena[:start]
			invalid++
			continue
		}
		value := k.arena[start:len(k.arena):len(k.arena)]
		k.arena = append(k.arena, imp.UserID...)
		key := k.arena[start+len(value) : len(k.arena) : len(k.arena)]
		p := part.Partition(key)
		k.recs[p] = append(k.recs[p], kafka.Record{Key: key, Value: value})
		n++
	}
	clear(k.scratch)
	return invalid, n
}

// drop counts n dropped impressions and logs at most one line every 10 s.
func (k *KafkaImpressions) drop(reason string, n int, err error) {
	if n == 0 {
		return
	}
	k.met.dropped.WithLabelValues(reason).Add(float64(n))
	k.logMu.Lock()
	defer k.logMu.Unlock()
	k.unlogged += int64(n)
	if now := time.Now(); now.Sub(k.lastLog) >= 10*time.Second {
		args := []any{"topic", k.cfg.Topic, "dropped", k.unlogged, "reason", reason}
		if err != nil {
			args = append(args, "err", err)
		}
		k.cfg.Logger.Warn("dropping served impressions (serving goes on; at most one line every 10s)", args...)
		k.lastLog, k.unlogged = now, 0
	}
}
