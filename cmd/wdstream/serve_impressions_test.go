package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wdstream/wdstream/ingest"
	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/serve"
)

// TestServeLogsImpressions runs `wdstream serve --log-impressions` on the
// real broker:
//   - every candidate answered reaches the impressions topic under the id
//     the answer returned, keyed by its user in the user's murmur2
//     partition, with the request's ts, exactly the columns it was scored
//     with but position, set to the rank (1 first), and decodes with the
//     join's decoder;
//   - the loop closes: installs that carry returned ids, joined with the
//     served impressions by the join stage, give the offline join's labels;
//   - with Kafka unreachable (a closed port), requests are answered 200 at
//     once and the impressions are dropped and counted; with a broker that
//     never answers, requests do not wait and a full queue drops.
func TestServeLogsImpressions(t *testing.T) {
	brokers := testenv.RealKafka(t)
	bf := newBackfilled(t)
	const parts = 3
	impTopic, insTopic := testenv.Topic(t, brokers, parts), testenv.Topic(t, brokers, parts)
	base, stderr := startServe(t, "--store", bf.url, "--model", "ps", "--model-events", "",
		"--brokers", strings.Join(brokers, ","), "--log-impressions", "--topic-impressions", impTopic)

	// 8 requests of 25 candidates at past times (ts given), and one at
	// the server's clock.
	world := readImpressions(t, filepath.Join(bf.world, "impressions", "day-002.parquet"))
	past := time.Now().Add(-3 * time.Hour).UnixMilli()
	type sent struct {
		req  serve.Request
		imps []schemas.Impression // the candidates' columns
		resp serve.Response
	}
	var reqs []sent
	for r := range 9 {
		s := sent{req: serve.Request{UserID: fmt.Sprintf("served-user-%d", r)}, imps: world[r*25 : (r+1)*25]}
		if r < 8 {
			s.req.TS = past + int64(r)*60_000
		}
		for i := range s.imps {
			s.req.Candidates = append(s.req.Candidates, serve.CandidateOf(&s.imps[i]))
		}
		before := time.Now().UnixMilli()
		s.resp = score(t, base, "ps", s.req, 200)
		if s.req.TS == 0 {
			s.req.TS = before // checked against the record's below
		}
		if len(s.resp.ImpressionIDs) != len(s.imps) {
			t.Fatalf("request %d: %d impression ids for %d candidates", r, len(s.resp.ImpressionIDs), len(s.imps))
		}
		reqs = append(reqs, s)
	}
	now := time.Now().UnixMilli()

	// (1) The topic: every candidate under its returned id.
	var served int
	for _, s := range reqs {
		served += len(s.imps)
	}
	waitFor(t, 20*time.Second, "the served impressions in the topic", func() bool {
		return topicSize(t, brokers, impTopic) >= int64(served)
	}, stderr)
	logged := map[string]kafka.Message{}
	var fromTopic []schemas.Impression
	for p, ms := range readPartitions(t, brokers, impTopic) {
		for _, m := range ms {
			var imp schemas.Impression
			var dec schemas.Decoder
			if err := dec.Impression(m.Value, &imp); err != nil {
				t.Fatalf("partition %d at %d: the join's decoder: %v: %s", p, m.Offset, err, m.Value)
			}
			if _, dup := logged[imp.ImpressionID]; dup {
				t.Fatalf("impression id %s logged twice", imp.ImpressionID)
			}
			if want := kafka.NewMurmur2(parts).Partition([]byte(imp.UserID)); string(m.Key) != imp.UserID || p != want {
				t.Fatalf("%s: key %q in partition %d, want %q in partition %d", imp.ImpressionID, m.Key, p, imp.UserID, want)
			}
			logged[imp.ImpressionID] = m
			fromTopic = append(fromTopic, imp)
		}
	}
	if len(logged) != served {
		t.Fatalf("%d impressions in the topic, want the %d served", len(logged), served)
	}
	for r, s := range reqs {
		for i, id := range s.resp.ImpressionIDs {
			m, ok := logged[id]
			if !ok {
				t.Fatalf("request %d candidate %d: returned id %s is not in the topic", r, i, id)
			}
			// The scored columns (the world's, sent as the candidate's),
			// position (which the spec reads: the world's slot was
			// scored) set to the rank, 1 for the first: encoded as the
			// join's encoder does.
			pos := slices.Index(s.resp.Ranking, i) + 1
			want := s.imps[i]
			want.ImpressionID, want.UserID, want.TS = id, s.req.UserID, s.req.TS
			want.Features = map[string]schemas.Value{}
			for k, v := range s.imps[i].Features {
				want.Features[k] = v
			}
			if want.Features["position"].Kind != schemas.KindNumber {
				t.Fatalf("the world's impressions have no position: %v", want.Features)
			}
			want.Features["position"] = schemas.Number(float64(pos))
			if r == 8 { // the server's clock: between the request's start and the end
				var got schemas.Impression
				var dec schemas.Decoder
				_ = dec.Impression(m.Value, &got)
				if got.TS < s.req.TS || got.TS > now {
					t.Fatalf("request without ts: logged ts %d, want the request's time in [%d, %d]", got.TS, s.req.TS, now)
				}
				want.TS = got.TS
			}
			if w := schemas.AppendImpressionJSON(nil, &want); string(m.Value) != string(w) {
				t.Fatalf("request %d candidate %d (position %d):\nlogged %s\nwant   %s", r, i, pos, m.Value, w)
			}
		}
	}
	waitFor(t, 5*time.Second, fmt.Sprintf("wdstream_serve_impressions_logged_total %d", served), func() bool {
		_, metrics := httpGet(t, base+"/metrics")
		return strings.Contains(metrics, "wdstream_serve_impressions_logged_total "+strconv.Itoa(served))
	}, stderr)
	if _, metrics := httpGet(t, base+"/metrics"); regexp.MustCompile(`wdstream_serve_impressions_dropped_total\{reason="\w+"\} [1-9]`).MatchString(metrics) {
		t.Errorf("metrics: impressions dropped:\n%s", grepLines(metrics, "impressions"))
	}

	// (2) The loop: installs carrying returned ids, joined by the stage.
	const window = 30 * time.Minute
	var installs []schemas.Install
	wantLabel := map[string]int32{} // what the rule says, for the past requests
	for r, s := range reqs[:8] {
		ids := s.resp.ImpressionIDs
		in := func(i int, after time.Duration) {
			installs = append(installs, schemas.Install{TS: s.req.TS + after.Milliseconds(), ImpressionID: ids[i], UserID: s.req.UserID, AppID: s.imps[i].AppID})
		}
		in(0, 5*time.Minute)  // in the window: positive
		in(1, 40*time.Minute) // after it: negative
		in(2, -time.Minute)   // before the impression: negative
		wantLabel[ids[0]], wantLabel[ids[1]], wantLabel[ids[2]] = 1, 0, 0
		if r == 0 { // by user and app (no id), of an app shown once, and an orphan
			ua := slices.IndexFunc(s.imps, func(imp schemas.Impression) bool {
				return slices.ContainsFunc(s.imps, func(o schemas.Impression) bool { return o.AppID == imp.AppID && o.ImpressionID != imp.ImpressionID }) == false &&
					imp.ImpressionID != s.imps[0].ImpressionID && imp.ImpressionID != s.imps[1].ImpressionID && imp.ImpressionID != s.imps[2].ImpressionID
			})
			if ua < 0 {
				t.Fatal("request 0 has no app shown once besides its first three")
			}
			wantLabel[ids[ua]] = 1
			installs = append(installs,
				schemas.Install{TS: s.req.TS + 2*60_000, UserID: s.req.UserID, AppID: s.imps[ua].AppID},
				schemas.Install{TS: s.req.TS, ImpressionID: "not-served", UserID: s.req.UserID, AppID: "x"})
		}
	}
	// Each topic partition in ts order, as the join's contract wants.
	slices.SortStableFunc(installs, func(a, b schemas.Install) int { return cmp.Compare(a.TS, b.TS) })
	ep, err := ingest.NewEventProducer(context.Background(), brokers, kafka.Auth{}, impTopic, insTopic, parts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range installs {
		ep.Install(&installs[i])
	}
	if err := ep.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	exTopic, dlqTopic := testenv.Topic(t, brokers, parts), testenv.Topic(t, brokers, parts)
	stage, err := ingest.NewJoinStage(ingest.JoinConfig{Brokers: brokers, Group: testenv.UniqueName(t, "g"),
		Impressions: impTopic, Installs: insTopic, Examples: exTopic, DeadLetter: dlqTopic,
		Window: window, IdleAdvance: time.Second, FlushRecords: 50})
	if err != nil {
		t.Fatal(err)
	}
	jctx, stopJoin := context.WithCancel(context.Background())
	joined := make(chan error, 1)
	go func() { joined <- stage.Run(jctx) }()
	// The past requests' windows close (the request at the server's clock
	// stays pending: its window is open).
	waitFor(t, 30*time.Second, "the examples of the past requests", func() bool {
		return topicSize(t, brokers, exTopic) >= int64(served-25)
	}, stderr)
	stopJoin()
	if err := <-joined; err != nil {
		t.Fatal(err)
	}
	offline, _, err := join.Offline(fromTopic, installs, window)
	if err != nil {
		t.Fatal(err)
	}
	offlineLabel := map[string]int32{}
	for _, ex := range offline {
		offlineLabel[ex.ImpressionID] = ex.Label
	}
	streamed, positives := map[string]int32{}, 0
	for p, ms := range readPartitions(t, brokers, exTopic) {
		for _, m := range ms {
			var ex schemas.Example
			var dec schemas.Decoder
			if err := dec.Example(m.Value, &ex); err != nil {
				t.Fatalf("examples %d at %d: %v", p, m.Offset, err)
			}
			if _, dup := streamed[ex.ImpressionID]; dup {
				t.Fatalf("two examples of %s", ex.ImpressionID)
			}
			if !strings.HasPrefix(string(m.Value), strings.TrimSuffix(string(logged[ex.ImpressionID].Value), "}")) {
				t.Fatalf("example %s is not its impression's message with the label: %s", ex.ImpressionID, m.Value)
			}
			streamed[ex.ImpressionID] = ex.Label
			positives += int(ex.Label)
		}
	}
	for _, ms := range readPartitions(t, brokers, dlqTopic) {
		if len(ms) > 0 {
			t.Fatalf("dead letters, want none: %s", ms[0].Value)
		}
	}
	for _, s := range reqs[:8] {
		for _, id := range s.resp.ImpressionIDs {
			got, ok := streamed[id]
			switch {
			case !ok:
				t.Fatalf("served impression %s has no example", id)
			case got != offlineLabel[id]:
				t.Fatalf("impression %s: label %d, the offline join's %d", id, got, offlineLabel[id])
			}
			if w, ok := wantLabel[id]; ok && got != w {
				t.Fatalf("impression %s: label %d, want %d", id, got, w)
			}
		}
	}
	if positives != 8+1 { // one per past request, and the install by user and app
		t.Fatalf("%d positive examples, want 9", positives)
	}
	t.Logf("%d impressions served and logged, %d joined (%d positive) as the offline join labels them", served, len(streamed), positives)

	// (3) Kafka unreachable: answered at once, dropped and counted.
	base2, stderr2 := startServe(t, "--store", bf.url, "--model", "ps", "--model-events", "",
		"--brokers", closedAddr(t), "--log-impressions")
	var slowest time.Duration
	for _, s := range reqs {
		start := time.Now()
		if resp := score(t, base2, "ps", s.req, 200); len(resp.ImpressionIDs) != len(s.imps) {
			t.Fatalf("Kafka down: %d impression ids for %d candidates", len(resp.ImpressionIDs), len(s.imps))
		}
		slowest = max(slowest, time.Since(start))
	}
	if slowest > time.Second {
		t.Errorf("Kafka down: the slowest request took %v", slowest)
	}
	waitFor(t, 20*time.Second, "every impression dropped and counted", func() bool {
		_, metrics := httpGet(t, base2+"/metrics")
		return strings.Contains(metrics, `wdstream_serve_impressions_dropped_total{reason="kafka"} `+strconv.Itoa(served))
	}, stderr2)
	if n := strings.Count(stderr2.String(), "dropping served impressions"); n < 1 || n > 2 {
		t.Errorf("%d log lines of drops, want 1 or 2 (at most one every 10 s):\n%s", n, stderr2.String())
	}
	t.Logf("Kafka down: %d requests answered, the slowest in %v; %d impressions dropped", len(reqs), slowest.Round(time.Microsecond), served)

	// A broker that takes connections and never answers: the producer
	// hangs on it (up to 5 s a batch), the queue of 50 fills, and requests
	// neither wait nor fail; what does not fit is dropped at once.
	silent, hangUp := silentBroker(t)
	base3, stderr3 := startServe(t, "--store", bf.url, "--model", "ps", "--model-events", "",
		"--brokers", silent, "--log-impressions", "--impressions-queue", "50")
	slowest = 0
	for _, s := range reqs {
		start := time.Now()
		score(t, base3, "ps", s.req, 200)
		slowest = max(slowest, time.Since(start))
	}
	_, metrics := httpGet(t, base3+"/metrics")
	full := -1
	if m := regexp.MustCompile(`wdstream_serve_impressions_dropped_total\{reason="queue_full"\} (\d+)`).FindStringSubmatch(metrics); m != nil {
		full, _ = strconv.Atoi(m[1])
	}
	// At most 50 queued and 50 taken by the producer that hangs.
	if full < served-100 {
		t.Errorf("silent broker: %d impressions dropped for a full queue, want at least %d:\n%s\n%s", full, served-100, grepLines(metrics, "impressions"), stderr3.String())
	}
	if slowest > time.Second {
		t.Errorf("silent broker: the slowest request took %v", slowest)
	}
	t.Logf("silent broker: the slowest request in %v; %d impressions dropped for a full queue", slowest.Round(time.Microsecond), full)
	hangUp() // so that serve stops at once
}

// silentBroker listens on a loopback address, takes connections and never
// answers them until hangUp.
func silentBroker(t *testing.T) (addr string, hangUp func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case conns <- c:
			default:
				c.Close()
			}
		}
	}()
	hangUp = sync.OnceFunc(func() {
		ln.Close()
		for {
			select {
			case c := <-conns:
				c.Close()
			default:
				return
			}
		}
	})
	t.Cleanup(hangUp)
	return ln.Addr().String(), hangUp
}

// readPartitions reads every record of topic, by partition.
func readPartitions(t *testing.T, brokers []string, topic string) map[int][]kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := kafka.NewClient(brokers, kafka.Auth{})
	offs, err := c.Offsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]kafka.Message{}
	for _, o := range offs {
		for at := o.First; at < o.End; {
			ms, _, err := c.FetchOnce(ctx, topic, o.Partition, at, 4<<20, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				out[o.Partition] = append(out[o.Partition], m)
				at = m.Offset + 1
			}
		}
	}
	return out
}

// topicSize returns the records topic holds (0 when it cannot tell).
func topicSize(t *testing.T, brokers []string, topic string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := kafka.NewClient(brokers, kafka.Auth{}).Size(ctx, topic)
	if err != nil {
		t.Logf("size of %s: %v (the wait goes on)", topic, err)
	}
	return n
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
