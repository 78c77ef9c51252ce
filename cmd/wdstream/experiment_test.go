package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/experiment"
	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/schemas"
)

// experimentSpec writes the demo's spec (a candidate every 8 s, gated on
// 1,000 fresh examples) for the experiment's tests; with rejectAll, its
// gate fails every candidate of the train stage (a drift check that any
// difference from LATEST's training data fails) and passes the start
// model (a first version has no baseline to drift from).
func experimentSpec(t *testing.T, rejectAll ...bool) string {
	t.Helper()
	_, y, err := demoSpec(8*time.Second, 1000, 0.1, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rejectAll) > 0 && rejectAll[0] {
		y = bytes.Replace(y, []byte("\npublish:\n"), []byte("\n  drift: {action: fail, max_linf: 0, max_js: 0, max_missing: 0, min_examples: 1}\npublish:\n"), 1)
	}
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, y, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// smallExperiment is the flags of a short experiment on a small world:
// 100 requests/s, the 30m label window in 3 s of wall time.
func smallExperiment(dir string, duration time.Duration) []string {
	return []string{"--duration", duration.String(), "--users", "2000", "--apps", "100", "--pre-days", "1", "--pre-impressions", "20000",
		"--rate", "100", "--speed", "600", "--min-impressions", "2000", "--dir", dir, "--json", "--http", "127.0.0.1:0"}
}

func runExperimentJSON(t *testing.T, args ...string) experimentReport {
	t.Helper()
	var out, errb bytes.Buffer
	if err := runExperiment(t.Context(), args, &out, &errb); err != nil {
		t.Fatalf("wdstream experiment %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	// The JSON report is the last thing printed: progress lines come first.
	i := strings.Index(out.String(), "\n{")
	if i < 0 {
		t.Fatalf("no JSON report in:\n%s", out.String())
	}
	var rep experimentReport
	if err := json.Unmarshal(out.Bytes()[i+1:], &rep); err != nil {
		t.Fatalf("decoding the report: %v\n%s", err, out.String())
	}
	t.Logf("%s", out.String()[:i])
	return rep
}

// TestExperimentAA: an A/A run (both arms the same spec) on the embedded
// broker closes the loop in each arm (served impressions join with the
// simulated installs, the train stage publishes, the server serves the new
// versions) and finds no significant gain: the gain's 95% interval
// contains 0.
func TestExperimentAA(t *testing.T) {
	sp := experimentSpec(t)
	rep := runExperimentJSON(t, append([]string{"--arms", "a=" + sp + ",b=" + sp}, smallExperiment(t.TempDir(), 30*time.Second)...)...)
	if !rep.Final || len(rep.Arms) != 2 || len(rep.Lines) != 2 {
		t.Fatalf("report %+v: want a final report of 2 arms", rep.Report)
	}
	for i, a := range rep.Arms {
		l := rep.Lines[i]
		if a.Errors > 0 || a.Rate.Impressions < 2000 || a.Rate.Installs == 0 || a.InstallsDelivered == 0 {
			t.Errorf("arm %s: %d failed requests, %d impressions, %d installs (%d delivered): want none failed, 2000 impressions and some installs",
				a.Name, a.Errors, a.Rate.Impressions, a.Rate.Installs, a.InstallsDelivered)
		}
		// The loop closed: labels joined, versions published and served.
		if l.Examples == 0 || l.Positives == 0 || l.Published == 0 || len(a.Versions) < 2 {
			t.Errorf("arm %s: %d examples joined (%d positive), %d versions published, %d served: want the loop closed", a.Name, l.Examples, l.Positives, l.Published, len(a.Versions))
		}
		if l.Err != "" || l.OfflineAUC < 0.7 {
			t.Errorf("arm %s: offline AUC %.4f (%s): want a learned model", a.Name, l.OfflineAUC, l.Err)
		}
	}
	g := rep.Arms[1].Gain
	if g == nil || g.Significant || g.Low > 0 || g.High < 0 || rep.Arms[1].Verdict != experiment.VerdictInsignificant {
		t.Fatalf("A/A gain %+v, verdict %q: want an interval containing 0", g, rep.Arms[1].Verdict)
	}
	// The split: about half the users each.
	ua, ub := rep.Arms[0].Rate.Users, rep.Arms[1].Rate.Users
	if ua < (ua+ub)*2/5 || ub < (ua+ub)*2/5 {
		t.Errorf("users %d and %d: want about half each", ua, ub)
	}
}

// TestExperimentPairedAA: a paired A/A run (--paired) sends every request
// to both arms, each in its own copy of the world: the same users and
// requests in both, and no significant gain.
func TestExperimentPairedAA(t *testing.T) {
	sp := experimentSpec(t)
	rep := runExperimentJSON(t, append([]string{"--arms", "a=" + sp + ",b=" + sp, "--paired"}, smallExperiment(t.TempDir(), 15*time.Second)...)...)
	a, b := rep.Arms[0], rep.Arms[1]
	if !rep.Paired || a.Requests != int64(rep.Requests) || b.Requests != a.Requests || a.Rate.Users != b.Rate.Users || a.Errors+b.Errors > 0 {
		t.Fatalf("paired report: %d requests, arms %d and %d (%d and %d failed), users %d and %d: want every request in both, the same users",
			rep.Requests, a.Requests, b.Requests, a.Errors, b.Errors, a.Rate.Users, b.Rate.Users)
	}
	if g := b.Gain; g == nil || g.Significant || b.Verdict != experiment.VerdictInsignificant {
		t.Fatalf("paired A/A gain %+v, verdict %q: want an interval containing 0", g, b.Verdict)
	}
}

// TestExperimentFlags: bad input is refused, naming the flag at fault.
func TestExperimentFlags(t *testing.T) {
	sp := experimentSpec(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--arms: want two arms"},
		{[]string{"--arms", "a=" + sp}, "--arms: want two arms"},
		{[]string{"--arms", "a=" + sp + ",a=" + sp}, `arm "a" named twice`},
		{[]string{"--arms", "a," + sp}, `--arms item "a": want NAME=SPEC`},
		{[]string{"--arms", "a/b=" + sp + ",c=" + sp}, `--arms item "a/b=`},
		{[]string{"--arms", "a=" + sp + ",b=" + sp, "--shown", "30"}, "--shown between 1 and --candidates"},
		{[]string{"--arms", "a=" + sp + ",b=" + sp, "--rate", "0"}, "--rate and --speed must be positive"},
		{[]string{"--arms", "a=" + sp + ",b=" + sp, "--topic-prefix", "x y"}, `--topic-prefix "x y"`},
	} {
		var out, errb bytes.Buffer
		err := runExperiment(context.Background(), c.args, &out, &errb)
		if err == nil || !strings.Contains(errb.String()+err.Error(), c.want) {
			t.Errorf("%q: error %v, stderr %q: want %q", c.args, err, errb.String(), c.want)
		}
	}
	var out, errb bytes.Buffer
	err := runExperiment(context.Background(), []string{"--arms", "a=" + sp + ",b=/nonexistent.yaml", "--dir", t.TempDir()}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "--arms b:") {
		t.Errorf("a missing spec: %v, want an error naming the arm", err)
	}
}

// TestExperimentRealKafka: the whole loop on the real broker and S3 server
// of the test command; then the stream join's labels of each arm, read
// from its examples topic, equal the offline join's of its impressions and
// installs topics, impression by impression. The second arm's gate
// rejects every candidate: it keeps serving its start model, and answers
// every request.
func TestExperimentRealKafka(t *testing.T) {
	brokers := testenv.RealKafka(t)
	a, b := testenv.UniqueName(t, "expa"), testenv.UniqueName(t, "expb")
	prefix := testenv.UniqueName(t, "exp")
	store := serviceStore(t, a, b)
	args := append([]string{"--arms", a + "=" + experimentSpec(t) + "," + b + "=" + experimentSpec(t, true), "--brokers", strings.Join(brokers, ","), "--store", store, "--topic-prefix", prefix},
		smallExperiment(t.TempDir(), 30*time.Second)...)
	rep := runExperimentJSON(t, args...)
	defer func() {
		for _, topic := range testenv.Topics(t, brokers) {
			if strings.HasPrefix(topic, prefix+".") {
				testenv.DeleteTopic(t, brokers, topic)
			}
		}
	}()
	if l := rep.Lines[0]; l.Published == 0 {
		t.Errorf("arm %s: no version published", l.Name)
	}
	if l, r := rep.Lines[1], rep.Arms[1]; l.Published != 0 || l.Rejected == 0 || len(r.Versions) != 1 || r.Errors != 0 {
		t.Errorf("arm %s, its gate failing: %d published, %d rejected, served %v, %d failed requests: want its start model served throughout", l.Name, l.Published, l.Rejected, r.Versions, r.Errors)
	}
	for i, arm := range rep.Arms {
		topics := prefix + "." + arm.Name
		var dec schemas.Decoder
		imps := readTopic(t, brokers, topics+".impressions", dec.Impression)
		ins := readTopic(t, brokers, topics+".installs", dec.Install)
		offline, _, err := join.Offline(imps, ins, 30*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int32{}
		for _, ex := range offline {
			want[ex.ImpressionID] = ex.Label
		}
		compared, positives := 0, 0
		for _, ex := range readTopic(t, brokers, topics+".examples", dec.Example) {
			l, ok := want[ex.ImpressionID]
			if !ok || l != ex.Label {
				t.Fatalf("arm %s: example %s labeled %d by the stream, offline: %d (found %v)", arm.Name, ex.ImpressionID, ex.Label, l, ok)
			}
			compared++
			positives += int(ex.Label)
		}
		if compared < 1000 || positives == 0 || int64(compared) != rep.Lines[i].Examples {
			t.Fatalf("arm %s: %d examples compared (%d positive), the join reported %d: want at least 1000, all of them", arm.Name, compared, positives, rep.Lines[i].Examples)
		}
		if int64(len(imps)) != arm.Rate.Impressions {
			t.Errorf("arm %s: %d impressions logged, %d shown", arm.Name, len(imps), arm.Rate.Impressions)
		}
		t.Logf("arm %s: %d stream labels equal the offline join's (%d positive)", arm.Name, compared, positives)
	}
}

// readTopic decodes every record of topic.
func readTopic[T any](t *testing.T, brokers []string, topic string, decode func([]byte, *T) error) []T {
	t.Helper()
	var out []T
	for _, ms := range readPartitions(t, brokers, topic) {
		for _, m := range ms {
			var v T
			if err := decode(m.Value, &v); err != nil {
				t.Fatalf("%s: %v", topic, err)
			}
			out = append(out, v)
		}
	}
	return out
}
