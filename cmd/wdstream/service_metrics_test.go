package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/kafka"
)

// testHTTP is the tests' HTTP client: a request to a service that hangs
// fails the test in a minute instead of running into go test's timeout.
var testHTTP = &http.Client{Timeout: time.Minute}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := testHTTP.Get(url)
	code, _, b := httpAnswer(t, resp, err)
	return code, string(b)
}

// httpAnswer reads the answer of an HTTP request (failing t on err): its
// status, Content-Type and body.
func httpAnswer(t *testing.T, resp *http.Response, err error) (int, string, []byte) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// serviceMetrics are the names /metrics must show for the operations
// dashboard (issue 7): consumed, joined, positives, late, orphans,
// dead-lettered, join lag, watermark delay, train rate (rate() of the
// examples counter), progressive AUC and log loss, published and rejected
// versions, hook failures, checkpoint age (time() minus the timestamp).
var serviceMetrics = []string{
	"wdstream_join_impressions_total", "wdstream_join_installs_total",
	"wdstream_join_examples_total", "wdstream_join_positives_total",
	"wdstream_join_late_installs_total", "wdstream_join_orphan_installs_total",
	"wdstream_join_dead_letters_total",
	`wdstream_consumer_lag_records{group="`, // stage="join": the join lag
	"wdstream_join_watermark_delay_seconds",
	"wdstream_train_examples_total", "wdstream_train_negatives_dropped_total",
	"wdstream_train_progressive_auc", "wdstream_train_progressive_logloss",
	"wdstream_publisher_published_total", "wdstream_publisher_rejected_total",
	`wdstream_train_candidates_total{outcome="published"}`, `wdstream_train_candidates_total{outcome="rejected"}`,
	"wdstream_publisher_hook_failures_total",
	"wdstream_train_last_checkpoint_timestamp_seconds",
	`wdstream_featurize_oov_total{feature="`, `wdstream_featurize_truncated_elements_total{feature="`,
	// The archive stage's.
	"wdstream_archive_examples_total", "wdstream_archive_files_total", "wdstream_archive_bytes_total",
	`wdstream_archive_files_cut_total{reason="time"}`, "wdstream_archive_bad_records_total",
}

// TestServiceMetricsAndHealth runs `wdstream run --stages
// join,archive,train --http` in-process on the in-process broker: /healthz answers, /readyz
// turns ready, /debug/pprof/ serves (--pprof), and after training /metrics
// shows every operations metric;
// on stop (the SIGTERM path) it exits 0.
func TestServiceMetricsAndHealth(t *testing.T) {
	brokers := testenv.EmbeddedKafka(t)
	tp := newServiceTopics(t, "x")
	evs := worldEvents(t, 4, 12000)
	p := newProducer(t, brokers, kafka.Auth{}, tp.imps, tp.ins, 2)
	if err := p.produce(evs); err != nil {
		t.Fatal(err)
	}
	args := tp.args(brokers, smallServiceSpec(t), "file://"+t.TempDir(), "--http", "127.0.0.1:0", "--pprof",
		"--stages", "join,archive,train", "--archive-flush", "1s", "--log-format", "json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr testenv.SyncBuffer
	code := make(chan int, 1)
	go func() { code <- runMain(ctx, args, io.Discard, &stderr) }()

	publishedRE := regexp.MustCompile(`\nwdstream_train_candidates_total\{outcome="published"\} [1-9]`)
	archivedRE := regexp.MustCompile(`\nwdstream_archive_examples_total [1-9]`)
	addrRE := regexp.MustCompile(`"msg":"HTTP port open","addr":"([^"]+)"`)
	var base string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no HTTP port after 30s:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c, _ := httpGet(t, base+"/healthz"); c != 200 {
		t.Fatalf("/healthz: %d", c)
	}
	if c, body := httpGet(t, base+"/debug/pprof/heap?debug=1"); c != 200 || !strings.Contains(body, "heap profile:") {
		t.Fatalf("/debug/pprof/heap with --pprof: %d %.200q", c, body)
	}
	var metrics string
	deadline = time.Now().Add(3 * time.Minute)
	for {
		ready, _ := httpGet(t, base+"/readyz")
		_, metrics = httpGet(t, base+"/metrics")
		if ready == 200 && publishedRE.MatchString(metrics) && archivedRE.MatchString(metrics) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no publish or no archived example within 3m (readyz %d):\n%s\n%s", ready, metrics, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	var missing []string
	for _, name := range serviceMetrics {
		if !strings.Contains(metrics, "\n"+name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("/metrics lacks %v:\n%s", missing, metrics)
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d:\n%s", c, stderr.String())
		}
	case <-time.After(35 * time.Second):
		t.Fatalf("did not stop within 35s:\n%s", stderr.String())
	}
	// --log-format json: every line of the log is a JSON object.
	for i, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["msg"] == nil || rec["level"] == nil {
			t.Fatalf("--log-format json: line %d is not a JSON log record (%v): %q", i+1, err, line)
		}
	}
}
