package continuous

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/trainer"
)

// ckptBundleFiles returns the bundle files of an untrained model of sp,
// its featurizer fitted on a few examples: what a checkpoint holds besides
// progress.json and trained.txt.
func ckptBundleFiles(t *testing.T) map[string][]byte {
	t.Helper()
	sp := testSpec(t)
	st, err := featurize.New(sp, featurize.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Fit(worldExamples(t, 3, 1, 500)); err != nil {
		t.Fatal(err)
	}
	st.RefreshBoundaries()
	m, err := trainer.NewModel(sp, st.Layout())
	if err != nil {
		t.Fatal(err)
	}
	files, err := (&publisher.Bundle{Spec: sp, State: st, Model: m}).Files()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestS3KilledMidCheckpoint kills the S3 server (a private versitygw,
// SIGKILL) in the middle of checkpoint writes (writeCheckpoint, with the
// files of a real checkpoint: the bundle (13 MB), a trained log,
// progress.json, the manifest last), at seeded steps: at the start or
// after any file but the manifest, up to 2 ms after the file shows in the
// server's root. A third of the rounds write through the store's own
// bucket (the S3 SDK's default retries) and the server comes back after a
// seeded outage of 20 ms to 1.5 s; the others through a client without
// retries, with the server back once the write has returned. As the stage
// does, a failed checkpoint is retried under the same sequence number (by
// the next round, or at once in half the rounds). After each restart:
// every checkpoint listed reads back with its checksums and sequence
// number, the newest is the last successful write (or the one just
// attempted, when it completed though reported failed), a stage restores
// from exactly that one, and a retried write succeeds.
//
// WDSTREAM_S3_KILL_ROUNDS sets the rounds (default 6) and
// WDSTREAM_S3_KILL_SEED the seed (logged).
func TestS3KilledMidCheckpoint(t *testing.T) {
	srv := testenv.PrivateS3(t)
	rounds, rng := testenv.KillSchedule(t, 6)
	ctx := context.Background()
	store, err := publisher.OpenStore(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	retrying, once := store.Bucket(), srv.OpenBucket(t, 1)
	bundle := ckptBundleFiles(t)
	sp := testSpec(t)

	// The steps, in the order writeCheckpoint writes the files.
	names := append(slices.Sorted(maps.Keys(bundle)), progressFile, trainedFile)
	sort.Strings(names)
	// After the manifest, the last write, nothing is left to cut.
	steps := append([]string{"the start"}, names...)

	next, lastOK := int64(1), int64(0)
	var okTrained []byte // trained.txt of checkpoint lastOK
	attempt := 0
	write := func(b *blob.Bucket) (int64, []byte, error) {
		attempt++
		files := maps.Clone(bundle)
		trained := make([]byte, 512<<10)
		src := rand.NewChaCha8([32]byte{byte(attempt), byte(rng.Uint32())})
		_, _ = src.Read(trained)
		files[trainedFile] = trained
		prog := &Progress{Seq: next, Created: time.Now().UTC(), Topic: "t", Offsets: map[int]int64{0: int64(attempt)}, Bootstrapped: true}
		return next, trained, writeCheckpoint(ctx, b, "m", files, prog)
	}
	succeeded := func(seq int64, trained []byte) {
		lastOK, okTrained, next = seq, trained, seq+1
	}
	verified := map[int64]bool{} // complete checkpoints read back: no write goes there again
	check := func(what string, attempted int64, restore bool) {
		t.Helper()
		seqs, err := listCheckpoints(ctx, retrying, "m")
		if err != nil {
			t.Fatalf("%s: listing checkpoints: %v", what, err)
		}
		for _, seq := range seqs {
			if verified[seq] && seq != attempted {
				continue
			}
			files, prog, err := readCheckpoint(ctx, retrying, "m", seq)
			if err != nil {
				t.Fatalf("%s: checkpoint %d is listed but does not read back: %v", what, seq, err)
			}
			if prog.Seq != seq {
				t.Fatalf("%s: checkpoint %d holds the progress of %d", what, seq, prog.Seq)
			}
			if seq == lastOK && string(files[trainedFile]) != string(okTrained) {
				t.Fatalf("%s: checkpoint %d does not hold what its successful write wrote", what, seq)
			}
			verified[seq] = true
		}
		newest := int64(0)
		if len(seqs) > 0 {
			newest = seqs[0]
		}
		if newest != lastOK && newest != attempted {
			t.Fatalf("%s: the newest complete checkpoint is %d, want the last written (%d) or the one just attempted (%d)", what, newest, lastOK, attempted)
		}
		if !restore {
			return
		}
		st := restoreStage(t, store, sp)
		if err := st.restore(ctx); err != nil {
			t.Fatalf("%s: restoring a stage: %v", what, err)
		}
		if st.prog.Seq != newest {
			t.Fatalf("%s: a stage restores from checkpoint %d, want the newest, %d", what, st.prog.Seq, newest)
		}
	}

	hits := map[string]int{}
	outcomes := map[string]int{}
	for round := range rounds {
		step := steps[rng.IntN(len(steps))]
		jitter := time.Duration(rng.IntN(2000)) * time.Microsecond
		b, outage, client := once, time.Duration(0), "client without retries"
		if rng.IntN(3) == 0 {
			b, outage, client = retrying, time.Duration(20+rng.IntN(1480))*time.Millisecond, "retrying client"
		}
		what := fmt.Sprintf("round %d (checkpoint %d, %s, kill after %s + %v", round+1, next, client, step, jitter.Round(10*time.Microsecond))
		if outage > 0 {
			what += fmt.Sprintf(", outage %v)", outage)
		} else {
			what += ", server back after the write)"
		}
		dir := ckptDir("m", next)
		t0 := time.Now()
		var seenAt time.Time
		var restartErr error
		watch := srv.KillWhen(func() bool {
			if seenAt.IsZero() {
				if step == "the start" {
					seenAt = time.Now()
				} else if fi, err := os.Stat(srv.Object(dir + step)); err == nil && fi.ModTime().After(t0) {
					seenAt = time.Now() // this attempt's file, not one of an earlier attempt
				}
			}
			return !seenAt.IsZero() && time.Since(seenAt) >= jitter
		}, func() {
			if outage > 0 {
				time.Sleep(outage)
				restartErr = srv.TryStart()
			}
		})
		seq, trained, err := write(b)
		killed := watch()
		if restartErr != nil {
			t.Fatalf("%s: %v", what, restartErr)
		}
		srv.Start()
		if killed {
			hits[step]++
		}
		if err == nil {
			succeeded(seq, trained)
			outcomes["written"]++
		} else {
			outcomes["failed"]++
		}
		t.Logf("%s: killed %v; %s", what, killed, errOrOK(err))
		check(what, seq, true)
		if err != nil && rng.IntN(2) == 0 {
			// The stage's next interval, with the server up: the same
			// sequence number again.
			seq, trained, err := write(retrying)
			if err != nil {
				t.Fatalf("%s: the retried checkpoint %d: %v", what, seq, err)
			}
			succeeded(seq, trained)
			check(what+", after the retry", seq, false)
		}
	}
	seq, trained, err := write(retrying)
	if err != nil {
		t.Fatalf("the last checkpoint, %d: %v", seq, err)
	}
	succeeded(seq, trained)
	check("at the end", seq, true)
	if _, err := Checkpoints(ctx, store, "m"); err != nil {
		t.Fatal(err)
	}
	t.Logf("kills that landed, after: %v; writes: %v; newest checkpoint %d", hits, outcomes, lastOK)
}

func errOrOK(err error) string {
	if err == nil {
		return "written"
	}
	return strings.TrimSpace(err.Error())
}

// TestStageThroughS3Outages runs the train stage (Kafka in, checkpoints
// every 300 ms and a candidate every 3000 examples out) on a private S3
// server, and kills the server twice while examples stream in: in the
// middle of a checkpoint (once the checkpoint's first file is stored, its
// manifest not yet) and in the middle of a publish (likewise, the new
// version's). Each time the server stays down until the stage has logged the
// failed checkpoint or publish, and is then started again. The stage must
// keep running through both, checkpoint and publish again after each
// restart, and when stopped have trained every example exactly once (the
// checkpoints' trained logs) and left a store where every version listed
// loads, LATEST names the newest and agrees with the history, and the
// version cut short is not listed.
func TestStageThroughS3Outages(t *testing.T) {
	srv := testenv.PrivateS3(t)
	brokers := testenv.Brokers(t)
	topic := testenv.Topic(t, brokers, 2)
	ctx := context.Background()
	store, err := publisher.OpenStore(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	logs := &testenv.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	pub, err := publisher.New(store, publisher.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(ctx)
	st, err := New(Config{Spec: testSpec(t), Model: "m", Store: store, Publisher: pub, Brokers: brokers, Topic: topic,
		TrainedLog: true, Bootstrap: 1000, Logger: logger, CheckpointEvery: 300 * time.Millisecond, BatchWait: 100 * time.Millisecond,
		FreshWait: 3 * time.Second, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	exs := worldExamples(t, 11, 4, 4000)
	if len(exs) < 15000 {
		t.Fatalf("the simulated world has %d examples, want 15000", len(exs))
	}
	exs = exs[:15000]
	chunks := [][]schemas.Example{exs[:4000], exs[4000:7000], exs[7000:11000], exs[11000:]}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- st.Run(runCtx) }()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\nlog of the stage:\n%s", append(args, lastLogLines(logs.String(), 40))...)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !cond() {
			select {
			case err := <-errc:
				fail("the stage exited while waiting for %s: %v", what, err)
			default:
			}
			if time.Now().After(deadline) {
				fail("no %s after 90 s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// outage kills the server once killAt reports true, waits until the
	// stage has logged failed (one line more than before), starts the
	// server again and returns when it did.
	outage := func(what string, killAt func() bool, failed string, produceChunk []schemas.Example) time.Time {
		t.Helper()
		before := strings.Count(logs.String(), failed)
		restarted := make(chan time.Time, 1)
		var restartErr error
		var killedAt time.Time
		watch := srv.KillWhen(killAt, func() {
			killedAt = time.Now()
			deadline := time.Now().Add(90 * time.Second)
			for strings.Count(logs.String(), failed) == before && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			restartErr = srv.TryStart()
			restarted <- time.Now()
		})
		produce(t, brokers, topic, produceChunk)
		var at time.Time
		select {
		case at = <-restarted:
		case err := <-errc:
			watch()
			fail("%s: the stage exited: %v", what, err)
		case <-time.After(3 * time.Minute):
			watch()
			fail("%s: the server was not killed and started again within 3 minutes", what)
		}
		watch()
		if restartErr != nil {
			fail("%s: %v", what, restartErr)
		}
		if strings.Count(logs.String(), failed) == before {
			fail("%s: the stage did not log %q in the 90 s the server was down", what, failed)
		}
		t.Logf("%s: the stage logged %q; the server was down for %v", what, failed, at.Sub(killedAt).Round(time.Millisecond))
		return at
	}

	produce(t, brokers, topic, chunks[0])
	waitFor("first checkpoint and version", func() bool { s := st.Status(); return s.Checkpoint > 0 && s.LastPublished != "" })

	// 1. In the middle of a checkpoint: one whose folder has files but no
	// manifest yet.
	seq := st.Status().Checkpoint + 1
	back := outage("killed mid-checkpoint", func() bool {
		if _, err := os.Stat(srv.Object(ckptDir("m", seq) + ckptManifest)); err == nil {
			seq++ // complete before it was seen: the next one
			return false
		}
		_, err := os.Stat(srv.Object(ckptDir("m", seq)))
		return err == nil
	}, "checkpoint failed", chunks[1])
	waitFor("a checkpoint after the restart", func() bool { return st.Status().CheckpointAt.After(back) })

	// 2. In the middle of a publish.
	known := map[string]bool{}
	versionsDir := srv.Object("m/versions")
	ents, _ := os.ReadDir(versionsDir)
	for _, e := range ents {
		known[e.Name()] = true
	}
	var cut string
	lastPub := st.Status().LastPublished
	back = outage("killed mid-publish", func() bool {
		ents, _ := os.ReadDir(versionsDir)
		for _, e := range ents {
			if known[e.Name()] {
				continue
			}
			if _, err := os.Stat(srv.Object(path.Join("m/versions", e.Name(), publisher.ManifestFile))); err == nil {
				known[e.Name()] = true // complete before it was seen
				continue
			}
			cut = e.Name()
			return true
		}
		return false
	}, "publishing a candidate failed", chunks[2])
	produce(t, brokers, topic, chunks[3])
	waitFor("a version published after the restart", func() bool {
		s := st.Status()
		if s.LastPublished == lastPub || s.LastPublished == cut || len(s.Publishes) == 0 {
			return false
		}
		return s.Publishes[len(s.Publishes)-1].Time.After(back)
	})
	waitFor("every example trained", func() bool { return st.Status().Examples >= int64(len(exs)) })
	stop()
	select {
	case err := <-errc:
		if err != nil {
			fail("the stage stopped with %v", err)
		}
	case <-time.After(time.Minute):
		fail("the stage did not stop within a minute")
	}

	// Exactly once, from the checkpoints' trained logs.
	seen, err := TrainedSet(ctx, store, "m")
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range exs {
		if k := fmt.Sprintf("%s,%d", ex.ImpressionID, ex.Label); seen[k] != 1 {
			t.Fatalf("example %s trained %d times", k, seen[k])
		}
	}
	if len(seen) != len(exs) {
		t.Fatalf("trained %d distinct examples, want %d", len(seen), len(exs))
	}
	// The store: complete versions only, LATEST the newest, the history
	// one chain ending at it.
	vs, err := store.Versions(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(vs, cut) {
		t.Fatalf("the version cut short by the kill, %s, is listed: %v", cut, vs)
	}
	for _, v := range vs {
		if _, _, err := publisher.Load(ctx, store, "m", v); err != nil {
			t.Fatalf("version %s is listed but does not load: %v", v, err)
		}
	}
	latest, err := store.Latest(ctx, "m")
	if err != nil || len(vs) == 0 || latest != vs[len(vs)-1] {
		t.Fatalf("LATEST %s (%v), want the newest of %v", latest, err, vs)
	}
	h, err := store.History(ctx, "m")
	if err != nil || len(h) != len(vs) || h[len(h)-1].Version != latest {
		t.Fatalf("history %+v (%v): want one line per version, the last naming LATEST %s", h, err, latest)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Previous != h[i-1].Version {
			t.Fatalf("history line %d moves LATEST from %s, the line before moved it to %s", i+1, h[i].Previous, h[i-1].Version)
		}
	}
	s := st.Status()
	failedPubs := 0
	for _, p := range s.Publishes {
		if strings.HasPrefix(p.Verdict, "error:") {
			failedPubs++
		}
	}
	t.Logf("%d examples trained exactly once; %d versions; %d publishes failed while the server was down; %d checkpoint failures logged",
		len(seen), len(vs), failedPubs, strings.Count(logs.String(), "checkpoint failed"))
}

// lastLogLines returns the last n lines of a log.
func lastLogLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
