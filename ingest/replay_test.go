package ingest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/simulate"
)

// TestKafkaSimulatedReplay is the recipe of shared/REPRO-labels.md, which
// lost positive labels before the join's labeling rule (doc.go) was made
// exact: `wdstream simulate` writes JSONL files, kcat fills both topics
// before the service starts (impressions first, keyed by user_id with
// librdkafka's murmur2 partitioner, lz4), then `wdstream run --stages join`
// runs to the end, once without kills and once with 5 SIGKILLs at random
// moments of the replay; the examples must equal the offline join of the
// files (the path of `wdstream join`) impression by impression. With
// WDSTREAM_BENCH=1 it runs the recipe's size (3 days of 200,000
// impressions); else 1 day of 60,000.
func TestKafkaSimulatedReplay(t *testing.T) {
	brokers := testenv.RealKafka(t)
	kcat := testenv.Kcat(t)
	bin := testenv.Wdstream(t)
	days, perDay := 1, scaled(60000)
	if envSet("WDSTREAM_BENCH") {
		days, perDay = 3, 200000
	}
	dir := t.TempDir()
	w, err := simulate.NewWorld(simulate.Config{Seed: 1, Days: days, ImpressionsPerDay: perDay}) // wdstream simulate's default seed
	if err != nil {
		t.Fatal(err)
	}
	if _, err := simulate.WriteFiles(context.Background(), w, simulate.WriteOptions{Dir: dir, Format: simulate.FormatJSONL}); err != nil {
		t.Fatal(err)
	}
	impGlob, insGlob := filepath.Join(dir, "impressions", "*.jsonl"), filepath.Join(dir, "installs", "*.jsonl")
	imps := readGlobT(t, impGlob, ReadImpressions)
	ins := readGlobT(t, insGlob, ReadInstalls)
	const window = 30 * time.Minute
	want, st, err := join.Offline(imps, ins, window)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d impressions, %d installs; offline: %d positives, %d orphan and %d late installs", len(imps), len(ins), st.Positives, st.Orphans, st.Late)

	tp := newTopics(t, brokers, "rp")
	testenv.CreateTopic(t, brokers, tp.imps, 4)
	testenv.CreateTopic(t, brokers, tp.ins, 4)
	kcatProduce(t, kcat, brokers, tp.imps, impGlob)
	kcatProduce(t, kcat, brokers, tp.ins, insGlob)
	spec := fastSpec(t) // idle_advance 2s
	for _, kills := range []int{0, 5} {
		t.Run(fmt.Sprintf("kills%d", kills), func(t *testing.T) {
			run := tp
			run.group = testenv.UniqueName(t, "g")
			run.ex, run.dlq = testenv.UniqueName(t, "ex"), testenv.UniqueName(t, "dlq")
			deleteAtEnd(t, brokers, run.ex, run.dlq)
			args := infoArgs(run.runArgs(brokers, spec))
			logs := &chaosLog{}
			defer func() {
				if t.Failed() {
					logs.dump(t)
				}
			}()
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 12))
			inst := startChaosInstance(t, bin, args, logs)
			for i := range kills {
				if !inst.waitPartitions(90 * time.Second) {
					t.Fatalf("kill %d: the instance ran no partition within 90s", i+1)
				}
				time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
				inst.kill()
				t.Logf("kill %d: %d examples", i+1, countRecords(t, brokers, run.ex))
				inst = startChaosInstance(t, bin, args, logs)
			}
			waitExamples(t, brokers, run.ex, len(want), 5*time.Minute)
			time.Sleep(2 * time.Second)
			if err := inst.stop(); err != nil {
				t.Errorf("after SIGTERM: %v", err)
			}
			r := compareChaos(t, brokers, run.ex, want)
			if !r.ok() {
				t.Fatalf("%d missing, %d doubled, %d wrong labels, %d extra, e.g. %v", r.missing, r.doubled, r.wrong, r.extra, head(r.sample))
			}
			t.Logf("%d kills: %d examples, %d positives, every label equal to the offline join's", kills, r.examples, r.positives)
		})
	}
}

func readGlobT[T any](t *testing.T, pattern string, read func(context.Context, *Files) ([]T, error)) []T {
	t.Helper()
	f, err := Glob(context.Background(), pattern)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := read(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var userIDField = regexp.MustCompile(`"user_id":"([^"]*)"`)

// kcatProduce writes every line of the files matching glob to topic with
// kcat, keyed by its user_id (librdkafka's murmur2 partitioner, the Java
// client's), lz4-compressed: the recipe's sed | kcat.
func kcatProduce(t *testing.T, kcat string, brokers []string, topic, glob string) {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files for %s: %v", glob, err)
	}
	var in bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			m := userIDField.FindSubmatch(sc.Bytes())
			if m == nil {
				t.Fatalf("%s: a line without user_id", f)
			}
			in.Write(m[1])
			in.WriteByte('\t')
			in.Write(sc.Bytes())
			in.WriteByte('\n')
		}
	}
	cmd := exec.Command(kcat, "-b", strings.Join(brokers, ","), "-P", "-t", topic, "-K", "\t",
		"-X", "topic.partitioner=murmur2_random", "-z", "lz4")
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
}
