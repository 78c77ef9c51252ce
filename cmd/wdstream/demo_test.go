package main

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/publisher"
)

// TestDemoServesWhatItTrains runs `wdstream demo` (its embedded broker, a
// file:// store) for 60 s with a publish every 8 s: the demo's own
// requests are answered by the versions it publishes, the status page
// shows the serve stage with the served version, and the summary counts
// what was served.
func TestDemoServesWhatItTrains(t *testing.T) {
	stdout, stderr := &testenv.SyncBuffer{}, &testenv.SyncBuffer{}
	dir := t.TempDir()
	code := make(chan int, 1)
	go func() {
		code <- runMain(context.Background(), []string{"demo", "--duration", "60s", "--publish-every", "8s", "--fresh", "2000",
			"--rate", "6000/s", "--http", "127.0.0.1:0", "--dir", dir}, stdout, stderr)
	}()
	pageRE := regexp.MustCompile(`status page:\s+http://(\S+)/`)
	var page string
	waitFor(t, 55*time.Second, "the status page's serve row with a version", func() bool {
		m := pageRE.FindStringSubmatch(stdout.String())
		if m == nil {
			return false
		}
		_, page = httpGet(t, "http://"+m[1]+"/")
		return regexp.MustCompile(`<td>serve</td>.*version v\d{8}T`).MatchString(page)
	}, stderr)
	if c := <-code; c != 0 {
		t.Fatalf("demo exited %d:\n%s\n%s", c, stdout.String(), stderr.String())
	}
	out := stdout.String()
	m := regexp.MustCompile(`served \(scoring API\)\s+(\d+) requests, (\d+) candidates; .*; (\d+) versions loaded, last (v\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the summary has no served line:\n%s", out)
	}
	requests, _ := strconv.Atoi(m[1])
	candidates, _ := strconv.Atoi(m[2])
	loaded, _ := strconv.Atoi(m[3])
	if requests < 10 || candidates != requests*demoCandidates || loaded < 1 {
		t.Fatalf("served %d requests, %d candidates, %d versions loaded: want at least 10 requests of %d candidates and a version\n%s",
			requests, candidates, loaded, demoCandidates, out)
	}
	st, err := publisher.OpenStore(context.Background(), "file://"+filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	versions, err := st.Versions(context.Background(), demoModel)
	if err != nil || !slices.Contains(versions, m[4]) {
		t.Errorf("the last version served, %s, is not one the demo published (%v, %v):\n%s", m[4], versions, err, out)
	}
	if !strings.Contains(page, `id="chart-serve-latency"`) {
		t.Errorf("the status page has no serving latency chart")
	}
}
