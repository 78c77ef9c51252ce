package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/serve"
)

// TestServe runs `wdstream serve` in-process on a file:// store:
//   - its scores are bit for bit `wdstream predict`'s for the same rows and
//     version, with the candidates of a request split over 4 chunks;
//   - a version whose weights no longer match their checksum, named by
//     LATEST, is refused and the served one stays (and /metrics says so);
//   - a new publish is followed (--poll 100ms), and so is a rollback (how
//     soon is logged; bench/serve.sh measures it);
//   - bad requests get a 4xx naming the field at fault, never a 5xx.
func TestServe(t *testing.T) {
	bf := newBackfilled(t)
	ctx := context.Background()
	world, storeDir, store, st := bf.world, bf.dir, bf.url, bf.st
	publishAs := func(model string) string { return bf.publishAs(t, model, nil) }
	setLatest := func(v string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(storeDir, "sv", publisher.LatestFile), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v1, v2 := publishAs("sv"), publishAs("sv")
	w2 := bf.versionFile("sv", v2, publisher.WeightsFile)
	w, err := os.ReadFile(w2)
	if err != nil {
		t.Fatal(err)
	}
	w[len(w)/2] ^= 0x10
	if err := os.WriteFile(w2, w, 0o644); err != nil {
		t.Fatal(err)
	}
	setLatest(v1)

	// wdstream predict's scores of day 2 with v1.
	input := filepath.Join(world, "impressions", "day-002.parquet")
	csvPath := filepath.Join(t.TempDir(), "scores.csv")
	run(t, "predict", "--store", store, "--model", "sv@"+v1, "--input", input, "--output", csvPath)
	want := readScores(t, csvPath)

	base, stderr := startServe(t, "--store", store, "--model", "sv", "--split", "4", "--poll", "100ms")

	// Same rows, same version: predict's scores, bit for bit.
	imps := readImpressions(t, input)
	compared := 0
	for lo := 0; lo < len(imps) && lo < 2000; lo += 50 {
		batch := imps[lo:min(lo+50, len(imps))]
		req := serve.Request{UserID: batch[0].UserID, TS: batch[0].TS}
		for _, imp := range batch {
			req.Candidates = append(req.Candidates, serve.CandidateOf(&imp))
		}
		resp := score(t, base, "sv", req, 200)
		if resp.Version != v1 || len(resp.Scores) != len(batch) || len(resp.Ranking) != len(batch) {
			t.Fatalf("answer %+v: want %d scores by %s", resp, len(batch), v1)
		}
		for i, imp := range batch {
			// The request's user_id and ts are batch[0]'s: a column the
			// spec does not read. Scores depend on the features and app.
			got, wantS := resp.Scores[i], float32(want[imp.ImpressionID])
			if math.Float32bits(got) != math.Float32bits(wantS) {
				t.Fatalf("impression %s: serve %v, predict %v (not bit-identical)", imp.ImpressionID, got, wantS)
			}
			compared++
		}
		for k := 1; k < len(resp.Ranking); k++ {
			if resp.Scores[resp.Ranking[k]] > resp.Scores[resp.Ranking[k-1]] {
				t.Fatalf("ranking %v is not by score", resp.Ranking)
			}
		}
	}
	t.Logf("%d candidates scored bit-identical to wdstream predict", compared)

	one := serve.Request{UserID: "u1", Candidates: []serve.Candidate{serve.CandidateOf(&imps[0])}}
	// A corrupt version under LATEST: refused, v1 stays.
	setLatest(v2)
	waitFor(t, 10*time.Second, "the corrupt version refused", func() bool {
		_, metrics := httpGet(t, base+"/metrics")
		return strings.Contains(metrics, "wdstream_serve_refused_versions_total 1")
	}, stderr)
	if r := score(t, base, "sv", one, 200); r.Version != v1 {
		t.Fatalf("after the corrupt version: served by %s, want %s", r.Version, v1)
	}
	if !strings.Contains(stderr.String(), "refusing a version") || !strings.Contains(stderr.String(), v2) {
		t.Errorf("the refusal of %s is not logged:\n%s", v2, stderr.String())
	}
	// A publish, then a rollback: each served within a second.
	v3 := publishAs("sv")
	servedAfter(t, base, "sv", one, v3, stderr)
	if _, _, err := publisher.Rollback(ctx, st, "sv", v1, "test"); err != nil {
		t.Fatal(err)
	}
	servedAfter(t, base, "sv", one, v1, stderr)

	// Bad input: 4xx naming the field.
	for _, c := range []struct {
		body string
		code int
		want string
	}{
		{`{`, 400, "body"},
		{`{"user_id":"u","candidates":[]}`, 400, "candidates"},
		{`{"candidates":[{"app_id":"a"}]}`, 400, "user_id"},
		{`{"user_id":"u","candidates":[{"features":{}}]}`, 400, "candidates[0].app_id"},
		{`{"user_id":"u","candidates":[{"app_id":"a","features":{"app_rating":{"x":1}}}]}`, 400, "candidates[0].features.app_rating"},
		{`{"user_id":"u","features":{"installed_apps":["a",2]},"candidates":[{"app_id":"a"}]}`, 400, "features.installed_apps"},
	} {
		code, body := post(t, base+"/v1/models/sv/score", []byte(c.body))
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d naming %s", c.body, code, body, c.code, c.want)
		}
	}
	if code, body := post(t, base+"/v1/models/other/score", []byte(`{}`)); code != 404 {
		t.Errorf("another model: %d %s, want 404", code, body)
	}
	big := serve.Request{UserID: "u"}
	for range 10_001 {
		big.Candidates = append(big.Candidates, serve.Candidate{AppID: "a"})
	}
	raw, _ := json.Marshal(big)
	if code, body := post(t, base+"/v1/models/sv/score", raw); code != 400 || !strings.Contains(body, "at most 10000") {
		t.Errorf("10,001 candidates: %d %s, want 400 naming the limit", code, body)
	}
}

func post(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := testHTTP.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func score(t *testing.T, base, model string, req serve.Request, wantCode int) serve.Response {
	t.Helper()
	raw, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	code, body := post(t, base+"/v1/models/"+model+"/score", raw)
	if code != wantCode {
		t.Fatalf("score: %d %s, want %d", code, body, wantCode)
	}
	var r serve.Response
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("score answer %q: %v", body, err)
	}
	return r
}

// servedAfter waits for model's answers to come from version, and logs how
// long that took.
func servedAfter(t *testing.T, base, model string, req serve.Request, version string, log *testenv.SyncBuffer) {
	t.Helper()
	start := time.Now()
	waitFor(t, 10*time.Second, "version "+version+" served", func() bool {
		return score(t, base, model, req, 200).Version == version
	}, log)
	t.Logf("version %s served %v after LATEST moved", version, time.Since(start).Round(time.Millisecond))
}

// metricValue is the value of the unlabelled metric name on base's
// /metrics (the test fails when it is not there).
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	_, body := httpGet(t, base+"/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, line, err)
			}
			return f
		}
	}
	t.Fatalf("%s is not on /metrics", name)
	return 0
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool, log *testenv.SyncBuffer) {
	t.Helper()
	testenv.WaitFor(t, timeout, what, ok, log)
}

// startServe runs `wdstream serve` in-process until the test ends and
// returns its base URL once it is ready, and its log.
func startServe(t *testing.T, args ...string) (string, *testenv.SyncBuffer) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	stderr := &testenv.SyncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- runMain(ctx, append([]string{"serve", "--http", "127.0.0.1:0"}, args...), io.Discard, stderr)
	}()
	t.Cleanup(func() {
		stop()
		if c := <-code; c != 0 {
			t.Errorf("serve exited %d:\n%s", c, stderr.String())
		}
	})
	base := ""
	addrRE := regexp.MustCompile(`msg="HTTP port open" addr=(\S+)`)
	waitFor(t, time.Minute, "the HTTP port and a loaded model", func() bool {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
			c, _ := httpGet(t, base+"/readyz")
			return c == 200
		}
		return false
	}, stderr)
	return base, stderr
}
