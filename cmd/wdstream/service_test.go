package main

import (
	"context"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/continuous"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
	"github.com/wdstream/wdstream/publisher"
)

// serviceTopics names one service instance's topics and groups; the
// inputs may be shared between instances.
type serviceTopics struct {
	imps, ins, ex, dlq, group, trainGroup, model string
}

func newServiceTopics(t *testing.T, tag string) serviceTopics {
	u := func(p string) string { return testenv.UniqueName(t, p+tag) }
	return serviceTopics{imps: u("imp"), ins: u("ins"), ex: u("ex"), dlq: u("dlq"), group: u("g"), trainGroup: u("tg"), model: u("m")}
}

// args are the flags of `wdstream run --stages join,train` for tp.
func (tp serviceTopics) args(brokers []string, spec, store string, extra ...string) []string {
	return append([]string{"run", "--spec", spec, "--brokers", strings.Join(brokers, ","), "--stages", "join,train",
		"--store", store, "--model", tp.model, "--group", tp.group, "--train-group", tp.trainGroup,
		"--topic-impressions", tp.imps, "--topic-installs", tp.ins, "--topic-examples", tp.ex, "--topic-dlq", tp.dlq,
		"--trained-log", "--checkpoint-every", "1s", "--fresh-wait", "3s", "--workers", "2", "--log-level", "info"}, extra...)
}

// compareTrained checks that got holds every line of want exactly once
// and nothing else.
func compareTrained(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	var missing, extra, twice []string
	for k := range want {
		if got[k] == 0 {
			missing = append(missing, k)
		}
	}
	for k, n := range got {
		if want[k] == 0 {
			extra = append(extra, k)
		}
		if n > 1 {
			twice = append(twice, k+" x"+strconv.Itoa(n))
		}
	}
	if len(missing)+len(extra)+len(twice) > 0 {
		t.Fatalf("%s: %d trained, want %d: %d missing (e.g. %v), %d not expected (e.g. %v), %d trained more than once (e.g. %v)",
			what, len(got), len(want), len(missing), first(missing), len(extra), first(extra), len(twice), first(twice))
	}
}

func first(s []string) []string { return s[:min(len(s), 5)] }

// checkCoverage checks that every published version of model names the
// data it covers: an offset for every partition of the examples topic,
// as many examples as those offsets count (the topic holds one example per
// impression and the stage trains each once), and their event-time range;
// and the build that trained it.
func checkCoverage(t *testing.T, st *publisher.Store, model, topic string, partitions int, minTS, maxTS int64) int {
	t.Helper()
	ctx := context.Background()
	vs, err := st.Versions(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatalf("model %s: no version published", model)
	}
	for _, v := range vs {
		man, err := st.Manifest(ctx, model, v)
		if err != nil {
			t.Fatal(err)
		}
		checkBuild(t, model+"@"+v, man.Build)
		d := man.Data
		sum := int64(0)
		for p := range partitions {
			off, ok := d.Offsets[topic+"/"+strconv.Itoa(p)]
			if !ok {
				t.Fatalf("%s@%s: manifest offsets %v lack partition %d of %s", model, v, d.Offsets, p, topic)
			}
			sum += off
		}
		if len(d.Offsets) != partitions || d.Examples != sum || d.Examples == 0 {
			t.Fatalf("%s@%s: manifest data %+v: want %d partitions whose offsets sum to the examples trained", model, v, d, partitions)
		}
		if d.FromTS < minTS || d.ToTS > maxTS || d.FromTS >= d.ToTS {
			t.Fatalf("%s@%s: event-time range [%d, %d] is not inside the stream's [%d, %d]", model, v, d.FromTS, d.ToTS, minTS, maxTS)
		}
	}
	return len(vs)
}

// TestServiceCrashExactness runs the service (join and train in one
// process) on real Kafka while a producer streams a simulated world into
// its inputs, kills it with SIGKILL at random moments six times, stops it
// once with SIGTERM mid-stream (it must exit 0 within the shutdown
// timeout), then lets it finish. The examples it trained on, read from the
// trained logs of its complete checkpoints, are those of a run without
// crashes on the same events and of the backfill's join, each exactly
// once; every published version names the offsets and the event-time
// range it covers. The store is the real S3 server when the environment
// has one (always in CI).
func TestServiceCrashExactness(t *testing.T) {
	brokers := testenv.RealKafka(t)
	const n = 60000 // impressions; the binary is built without -race
	clean, crash := newServiceTopics(t, "c"), newServiceTopics(t, "k")
	storeURL := serviceStore(t, clean.model, crash.model)
	st := openStore(t, storeURL)
	spec := smallServiceSpec(t)
	evs := worldEvents(t, 21, n)
	sentinels, minTS, maxTS := liveWorld(t, evs, 4)
	want := offlineTrainedSet(t, evs, 30*time.Minute)

	// With crashes, while the events arrive in 12 slices over ~48 s. A
	// restarted join waits up to the group's session timeout (10 s) for
	// the killed member's partitions: odd kills land 1-13 s after a start
	// (starting, waiting or working), even ones 0.3-4 s after the join has
	// its partitions (working for sure).
	p := newProducer(t, brokers, kafka.Auth{}, crash.imps, crash.ins, 4)
	prodErr := make(chan error, 1)
	go func() {
		const slices = 12
		for i := range slices {
			if err := p.produce(evs[i*len(evs)/slices : (i+1)*len(evs)/slices]); err != nil {
				prodErr <- err
				return
			}
			time.Sleep(4 * time.Second)
		}
		prodErr <- p.produce(sentinels)
	}()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("crash schedule seed %d", seed)
	t0 := time.Now()
	s := newService(t, crash.args(brokers, spec, storeURL)...)
	progress := func() int64 {
		cps, err := continuous.Checkpoints(context.Background(), st, crash.model)
		if err != nil || len(cps) == 0 {
			return 0
		}
		return cps[len(cps)-1].Examples
	}
	for i := range 6 {
		s.start()
		started, when := time.Now(), "start"
		d := time.Duration(1000+rng.IntN(12000)) * time.Millisecond
		if i%2 == 1 {
			if !s.waitLog("partitions assigned", 30*time.Second) {
				t.Fatalf("the join had no partitions 30s after a restart\n%s", s.tail())
			}
			d, when = time.Duration(300+rng.IntN(3700))*time.Millisecond, "partitions assigned"
		}
		time.Sleep(d)
		if s.exited() {
			t.Fatalf("the service exited on its own: %v\n%s", s.err, s.tail())
		}
		s.kill()
		t.Logf("SIGKILL %d %v after %s (%v after the start): checkpoints cover %d examples",
			i+1, d, when, time.Since(started).Round(time.Millisecond), progress())
	}
	s.start()
	time.Sleep(time.Duration(11000+rng.IntN(4000)) * time.Millisecond)
	took := s.stop(35 * time.Second)
	t.Logf("SIGTERM: exited 0 after %v; checkpoints cover %d examples", took.Round(time.Millisecond), progress())
	checkStopOrder(t, s, progress())
	if testing.Verbose() {
		b, _ := os.ReadFile(s.log)
		t.Logf("log of the run stopped by SIGTERM:\n%s", b[strings.LastIndex(string(b), "=== start"):])
	}
	if err := <-prodErr; err != nil {
		t.Fatal(err)
	}
	s.start()
	got, nv := stopWhenTrained(t, st, s, crash.model, crash.ex, want, 2*time.Minute, minTS, maxTS,
		"run with 6 SIGKILLs and a SIGTERM vs the backfill's join")
	t.Logf("run with crashes: %d examples trained exactly once in %v; %d versions published, each naming its offsets and event-time range",
		len(got), time.Since(t0).Round(time.Millisecond), nv)
	s.checkNoTempLeft()

	// Without crashes, on the same events produced at once.
	t0 = time.Now()
	p = newProducer(t, brokers, kafka.Auth{}, clean.imps, clean.ins, 4)
	if err := p.produce(append(evs, sentinels...)); err != nil {
		t.Fatal(err)
	}
	s = newService(t, clean.args(brokers, spec, storeURL)...)
	s.start()
	waitTrained(t, st, clean.model, int64(len(want)), 2*time.Minute, s)
	s.stop(35 * time.Second)
	ref := trainedSet(t, st, clean.model)
	compareTrained(t, "run with crashes vs the crash-free run", got, ref)
	checkCoverage(t, st, clean.model, clean.ex, 4, minTS, maxTS)
	t.Logf("crash-free run: the same %d examples, trained in %v", len(ref), time.Since(t0).Round(time.Millisecond))
}

// stopWhenTrained waits until the service s has trained len(want) examples
// of model, gives it 2 s more (an example trained twice would show then),
// stops it, and checks that the trained set is want (what names the
// comparison) and that every version covers the examples topic ex. It
// returns the trained set and the number of versions.
func stopWhenTrained(t *testing.T, st *publisher.Store, s *service, model, ex string, want map[string]int,
	timeout time.Duration, minTS, maxTS int64, what string) (map[string]int, int) {
	t.Helper()
	waitTrained(t, st, model, int64(len(want)), timeout, s)
	time.Sleep(2 * time.Second)
	s.stop(35 * time.Second)
	got := trainedSet(t, st, model)
	compareTrained(t, what, got, want)
	return got, checkCoverage(t, st, model, ex, 4, minTS, maxTS)
}

// trainedSet reads the trained set of model from its checkpoints.
func trainedSet(t *testing.T, st *publisher.Store, model string) map[string]int {
	t.Helper()
	got, err := continuous.TrainedSet(context.Background(), st, model)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// checkStopOrder checks in the service's log that its last stop went in
// stream order (the join stage stopped before the train stage) and that
// the train stage's final checkpoint covers every example it trained:
// newest is the newest checkpoint's example count.
func checkStopOrder(t *testing.T, s *service, newest int64) {
	t.Helper()
	b, err := os.ReadFile(s.log)
	if err != nil {
		t.Fatal(err)
	}
	last := string(b[strings.LastIndex(string(b), "=== start"):])
	j, tr := strings.Index(last, "join stage stopped"), strings.Index(last, "train stage stopped")
	if j < 0 || tr < 0 || j > tr {
		t.Fatalf("after SIGTERM: want the join stage to stop before the train stage (stream order):\n%s", last)
	}
	m := regexp.MustCompile(`train stage stopped.* examples=(\d+)`).FindStringSubmatch(last)
	if m == nil || m[1] != strconv.FormatInt(newest, 10) {
		t.Fatalf("after SIGTERM: the train stage's last line %q; want its examples to be the newest checkpoint's %d", m, newest)
	}
}

// TestServiceSASL runs simulate --brokers and the service (join and
// train) against the real broker's SASL_PLAINTEXT listener, with
// SCRAM-SHA-512 and with PLAIN: the events produced become examples and
// are all trained on, and the Kafka publish hook reaches its topic through
// the same listener. The listener refuses unauthenticated clients, so
// every connection of every stage went through SASL.
func TestServiceSASL(t *testing.T) {
	sasl := testenv.RealKafkaSASL(t)
	plain := testenv.RealKafka(t) // the same cluster, to create and read the hook topic
	t.Setenv("WDSTREAM_TEST_SASL_PASSWORD", sasl.Password)
	for _, mech := range []string{"scram-sha-512", "plain"} {
		t.Run(mech, func(t *testing.T) {
			tp := newServiceTopics(t, "s")
			hookTopic := testenv.Topic(t, plain, 1)
			spec := serviceSpec(t,
				"hash_buckets: 4194304", "hash_buckets: 16384",
				"idle_advance: 1m", "idle_advance: 2s",
				"min_auc: 0.55", "min_auc: 0.3", "max_logloss: 0.7", "max_logloss: 5",
				"calibration: [0.5, 2.0]", "calibration: [0.01, 100]",
				"latency_budget: 50ms", "latency_budget: 5s",
				"examples: 20000", "examples: 500",
				"every: 5m ", "every: 0 ", "every_examples: 0 ", "every_examples: 2000 ",
				"# hooks:\n#   webhooks:", "hooks:\n  kafka:\n    - topic: "+hookTopic+"\n#   webhooks:")
			auth := []string{"--kafka-sasl", mech, "--kafka-user", sasl.User, "--kafka-password-env", "WDSTREAM_TEST_SASL_PASSWORD"}
			run(t, append([]string{"simulate", "--brokers", strings.Join(sasl.Brokers, ","), "--topic-impressions", tp.imps, "--topic-installs", tp.ins,
				"--partitions", "2", "--seed", "5", "--users", "1000", "--apps", "200", "--days", "1", "--impressions-per-day", "14000"}, auth...)...)

			st := openStore(t, "file://"+t.TempDir())
			s := newService(t, tp.args(sasl.Brokers, spec, st.String(), auth...)...)
			s.start()
			waitTrained(t, st, tp.model, 14000, 2*time.Minute, s)
			s.stop(35 * time.Second)
			got := trainedSet(t, st, tp.model)
			if len(got) != 14000 {
				t.Fatalf("trained %d examples, want the 14000 impressions'", len(got))
			}
			nv := checkCoverage(t, st, tp.model, tp.ex, 2, 0, 1<<62)
			hooks := topicEnd(t, plain, hookTopic)
			if hooks == 0 {
				t.Fatalf("the Kafka hook produced nothing to %s through SASL\n%s", hookTopic, s.tail())
			}
			t.Logf("%s: 14000 impressions produced by simulate, joined and trained through SASL; %d versions, %d hook events", mech, nv, hooks)
		})
	}
}

// topicEnd returns the end offset of partition 0 of topic.
func topicEnd(t *testing.T, brokers []string, topic string) int64 {
	t.Helper()
	_, end, err := kafka.NewClient(brokers, kafka.Auth{}).PartitionOffsets(context.Background(), topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	return end
}

// TestServiceBrokerRestart restarts the real broker while the service
// (join and train in one process) works through a stream: the process
// keeps running (no stage gives up on the outage) and trains exactly the
// backfill join's examples, each once.
func TestServiceBrokerRestart(t *testing.T) {
	brokers := testenv.RealKafka(t)
	tp := newServiceTopics(t, "b")
	st := openStore(t, "file://"+t.TempDir())
	evs := worldEvents(t, 23, 40000)
	sentinels, minTS, maxTS := liveWorld(t, evs, 4)
	want := offlineTrainedSet(t, evs, 30*time.Minute)
	p := newProducer(t, brokers, kafka.Auth{}, tp.imps, tp.ins, 4)
	half := len(evs) / 2
	if err := p.produce(evs[:half]); err != nil {
		t.Fatal(err)
	}
	s := newService(t, tp.args(brokers, smallServiceSpec(t), st.String())...)
	s.start()
	before := waitTrained(t, st, tp.model, 5000, time.Minute, s).Examples
	testenv.RestartKafka(t, brokers)
	if s.exited() {
		t.Fatalf("the service exited during the broker restart: %v\n%s", s.err, s.tail())
	}
	p = newProducer(t, brokers, kafka.Auth{}, tp.imps, tp.ins, 4)
	if err := p.produce(append(evs[half:], sentinels...)); err != nil {
		t.Fatal(err)
	}
	got, nv := stopWhenTrained(t, st, s, tp.model, tp.ex, want, 3*time.Minute, minTS, maxTS,
		"service across a broker restart vs the backfill's join")
	log, _ := os.ReadFile(s.log)
	t.Logf("broker restarted with %d examples checkpointed; %d trained exactly once, %d versions; the train stage reopened the examples topic %d times",
		before, len(got), nv, strings.Count(string(log), "reading the examples topic again"))
}
