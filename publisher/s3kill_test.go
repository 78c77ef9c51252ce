package publisher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/testenv"
)

// publishStep is a point of a publish (Store.Put, then moveLatest) at
// which TestS3KilledMidPublish kills the S3 server.
type publishStep struct {
	name string
	// reached reports, from the server's posix root, whether the publish
	// of version v has got there.
	reached func(srv *testenv.S3Server, v string) bool
}

// killFiles are the files of the versions TestS3KilledMidPublish writes,
// in the order Put writes them (names sorted): 32 KiB to 4 MiB, so that
// an upload takes a while and a kill seen after one file lands before the
// next one is complete.
var killFiles = []struct {
	name string
	size int
}{{"a.bin", 128 << 10}, {"b.bin", 2 << 20}, {"c.bin", 4 << 20}, {"d.bin", 32 << 10}}

func publishSteps() []publishStep {
	exists := func(key func(v string) string) func(*testenv.S3Server, string) bool {
		return func(srv *testenv.S3Server, v string) bool {
			_, err := os.Stat(srv.Object(key(v)))
			return err == nil
		}
	}
	holds := func(key string) func(*testenv.S3Server, string) bool {
		return func(srv *testenv.S3Server, v string) bool {
			b, err := os.ReadFile(srv.Object(key))
			return err == nil && bytes.Contains(b, []byte(v))
		}
	}
	steps := []publishStep{{"at the start", func(*testenv.S3Server, string) bool { return true }}}
	for _, f := range killFiles {
		steps = append(steps, publishStep{"after file " + f.name, exists(func(v string) string { return versionPrefix("m", v) + f.name })})
	}
	return append(steps,
		publishStep{"after the manifest", exists(func(v string) string { return versionPrefix("m", v) + ManifestFile })},
		publishStep{"with LOCK taken", exists(func(string) string { return "m/" + lockFile })},
		publishStep{"after the history line", holds("m/" + HistoryFile)},
		publishStep{"after LATEST", holds("m/" + LatestFile)},
	)
}

// publishFiles publishes files as version m.Version the way
// Publisher.Publish does once the gate has passed: Put, then move LATEST
// only forward. putErr is Put's error, moveErr moveLatest's.
func publishFiles(ctx context.Context, s *Store, m *Manifest, files map[string][]byte) (mv latestMove, putErr, moveErr error) {
	if err := s.Put(ctx, m, files); err != nil {
		return latestMove{}, err, nil
	}
	mv, err := s.moveLatest(ctx, m.Model, m.Version, HistoryEntry{Action: "publish"}, true)
	return mv, nil, err
}

// killState is what TestS3KilledMidPublish knows of the store.
type killState struct {
	attempted map[string]bool // every version a publish was started for
	put       map[string]bool // versions whose Put returned nil
	verified  map[string]bool // complete versions whose files were checked
}

// checkAfterKill checks the store against what a kill may leave: every
// version listed is complete (manifest and files with their checksums),
// none is a stranger, every successful Put is listed, history.jsonl parses
// and is one chain (each line's previous is the line before's version) of
// complete versions, and LATEST names a complete version and agrees with
// the last history line, or names the line's previous version (a mover
// cut between the line and LATEST: the next move finishes it, see
// moveLatest). It reports whether LATEST was behind its last line so.
func checkAfterKill(t *testing.T, ctx context.Context, s *Store, ks *killState, what string) (behind bool) {
	t.Helper()
	vs, err := s.Versions(ctx, "m")
	if err != nil {
		t.Fatalf("%s: listing the versions: %v", what, err)
	}
	for _, v := range vs {
		if !ks.attempted[v] {
			t.Fatalf("%s: version %s listed, but no publish wrote it", what, v)
		}
		m, err := s.Manifest(ctx, "m", v)
		if err != nil {
			t.Fatalf("%s: version %s is listed but its manifest does not read: %v", what, v, err)
		}
		if ks.verified[v] {
			continue // complete before: no kill writes to it again
		}
		if err := s.VerifyFiles(ctx, m); err != nil {
			t.Fatalf("%s: version %s is listed but incomplete: %v", what, v, err)
		}
		ks.verified[v] = true
	}
	for v := range ks.put {
		if !slices.Contains(vs, v) {
			t.Fatalf("%s: version %s was stored (Put returned nil) but is not listed: %v", what, v, vs)
		}
	}
	h, err := s.History(ctx, "m")
	if err != nil {
		t.Fatalf("%s: %s does not parse: %v", what, HistoryFile, err)
	}
	for i, e := range h {
		prev := ""
		if i > 0 {
			prev = h[i-1].Version
		}
		if e.Previous != prev {
			t.Fatalf("%s: %s line %d moves LATEST from %q, but the line before moved it to %q: %+v", what, HistoryFile, i+1, e.Previous, prev, h)
		}
		if !slices.Contains(vs, e.Version) {
			t.Fatalf("%s: %s line %d names %s, which is not a complete version", what, HistoryFile, i+1, e.Version)
		}
	}
	latest, err := s.Latest(ctx, "m")
	if err != nil && !errors.Is(err, ErrNoVersion) {
		t.Fatalf("%s: reading LATEST: %v", what, err)
	}
	if latest != "" && !slices.Contains(vs, latest) {
		t.Fatalf("%s: LATEST names %s, which is not a complete version (%v)", what, latest, vs)
	}
	last := HistoryEntry{}
	if len(h) > 0 {
		last = h[len(h)-1]
	}
	switch latest {
	case last.Version:
		return false
	case last.Previous:
		return true
	}
	t.Fatalf("%s: LATEST names %q, the last history line moved it from %q to %q", what, latest, last.Previous, last.Version)
	return false
}

// TestS3KilledMidPublish kills the S3 server (a private versitygw,
// SIGKILL) in the middle of publishes, at seeded steps: at the start,
// after each of the version's files, after its manifest, with NAME/LOCK
// taken, after the history line and after LATEST, each up to 2 ms after
// the step shows in the server's root. A third of the rounds publish
// through a client with the S3 SDK's default retries (as the product opens
// stores), and the server comes back after a seeded outage of 20 ms to
// 1.5 s, while the client retries; the others through a client without
// retries (S3Server.OpenBucket), and the server comes back only once the
// publish has returned: there the kill fails the publish at the step it
// hits, and leaves what a publish leaves when the store stays away. After each round it checks the store (checkAfterKill):
// no version without a complete, checksum-valid manifest is listed, the
// history parses and is one chain, LATEST names a complete version and
// agrees with the last history line. Then a retried publish must succeed
// and move LATEST, after which LATEST is the last line's version. At the
// end, Clean removes every incomplete version folder the kills left.
//
// WDSTREAM_S3_KILL_ROUNDS sets the rounds (default 12) and
// WDSTREAM_S3_KILL_SEED the seed (logged).
func TestS3KilledMidPublish(t *testing.T) {
	srv := testenv.PrivateS3(t)
	rounds, rng := testenv.KillSchedule(t, 12)
	// A LOCK whose release the kill cut short is left behind; its holder,
	// this process, is alive, so the next mover breaks it only after
	// lockStale: shortened, so that the rounds that leave one do not wait
	// 30 s each (the retry logs the wait).
	stale := lockStale
	lockStale = time.Second
	defer func() { lockStale = stale }()

	ctx := context.Background()
	retrying := openStore(t, srv.URL())
	// The same store through a client that fails a request at once (see
	// S3Server.OpenBucket): a request in flight at the kill fails as
	// with retrying once its retries are spent, without the wait.
	once := &Store{bucket: srv.OpenBucket(t, 1), where: retrying.where + " (no retries)"}

	ks := &killState{attempted: map[string]bool{}, put: map[string]bool{}, verified: map[string]bool{}}
	newVersion := func() (*Manifest, map[string][]byte) {
		src := rand.NewChaCha8([32]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
		files := map[string][]byte{}
		for _, f := range killFiles {
			b := make([]byte, f.size)
			_, _ = src.Read(b)
			files[f.name] = b
		}
		time.Sleep(2 * time.Millisecond) // a newer name than the last
		m := &Manifest{Model: "m", Version: NewVersionName(time.Now())}
		m.SetFiles(files)
		ks.attempted[m.Version] = true
		return m, files
	}
	steps := publishSteps()
	hits, outcomes := map[string]int{}, map[string]int{}
	for round := range rounds {
		step := steps[rng.IntN(len(steps))]
		jitter := time.Duration(rng.IntN(2000)) * time.Microsecond
		s, outage, client := once, time.Duration(0), "client without retries"
		if rng.IntN(3) == 0 {
			s, outage, client = retrying, time.Duration(20+rng.IntN(1480))*time.Millisecond, "retrying client"
		}
		m, files := newVersion()
		what := fmt.Sprintf("round %d (%s, kill %s + %v", round+1, client, step.name, jitter.Round(10*time.Microsecond))
		if outage > 0 {
			what += fmt.Sprintf(", outage %v)", outage)
		} else {
			what += ", server back after the publish)"
		}

		var seenAt time.Time
		var restartErr error
		watch := srv.KillWhen(func() bool {
			if seenAt.IsZero() && step.reached(srv, m.Version) {
				seenAt = time.Now()
			}
			return !seenAt.IsZero() && time.Since(seenAt) >= jitter
		}, func() {
			if outage > 0 {
				time.Sleep(outage)
				restartErr = srv.TryStart()
			}
		})
		t0 := time.Now()
		mv, putErr, moveErr := publishFiles(ctx, s, m, files)
		took := time.Since(t0)
		killed := watch() // any restart it made is done when it returns
		if restartErr != nil {
			t.Fatalf("%s: %v", what, restartErr)
		}
		srv.Start()
		if killed {
			hits[step.name]++
		}
		outcome := "published"
		switch {
		case putErr != nil:
			outcome = "Put failed"
		case moveErr != nil:
			outcome = "moving LATEST failed"
		case !mv.moved:
			t.Fatalf("%s: LATEST stayed behind on a newer version: %s", what, mv.note)
		}
		outcomes[outcome]++
		t.Logf("%s: killed %v; %s in %v (Put: %s; LATEST: %s)", what, killed, outcome, took.Round(time.Millisecond), errOrOK(putErr), moveOutcome(putErr, mv, moveErr))
		if putErr == nil {
			ks.put[m.Version] = true
		}
		if checkAfterKill(t, ctx, retrying, ks, what) {
			outcomes["LATEST behind its history line"]++
			t.Logf("%s: LATEST is behind the last history line (the move the kill cut short; the next move finishes it)", what)
		}
		lockLeft, _ := retrying.bucket.Exists(ctx, "m/"+lockFile)
		if lockLeft {
			outcomes["LOCK left behind"]++
		}

		// The retry: a new version, published with the server up.
		rm, rfiles := newVersion()
		t0 = time.Now()
		mv, putErr, moveErr = publishFiles(ctx, s, rm, rfiles)
		if putErr != nil || moveErr != nil || !mv.moved {
			t.Fatalf("%s: the publish after the restart: Put %s; LATEST %s", what, errOrOK(putErr), moveOutcome(putErr, mv, moveErr))
		}
		ks.put[rm.Version] = true
		if lockLeft {
			// This live process's own lock, whose release the kill cut
			// short: nothing breaks it before lockStale (30 s outside
			// this test).
			t.Logf("%s: the publish after the restart waited for the LOCK the cut release left: %v", what, time.Since(t0).Round(time.Millisecond))
		}
		if checkAfterKill(t, ctx, retrying, ks, what+", after the retry") {
			t.Fatalf("%s: after the retry, LATEST is still behind the last history line", what)
		}
		if v, _ := retrying.Latest(ctx, "m"); v != rm.Version {
			t.Fatalf("%s: after the retry LATEST names %s, want %s", what, v, rm.Version)
		}
	}
	t.Logf("kills that landed, by step: %v; outcomes: %v", hits, outcomes)

	// Clean removes the folders of the failed uploads; complete versions
	// stay.
	before, err := retrying.Versions(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	removed, err := retrying.Clean(ctx, "m", 0, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	after, err := retrying.Versions(ctx, "m")
	if err != nil || !slices.Equal(before, after) {
		t.Fatalf("Clean changed the complete versions: %v -> %v (%v)", before, after, err)
	}
	dirs, err := os.ReadDir(srv.Object("m/versions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !slices.Contains(after, d.Name()) {
			t.Fatalf("folder %s of a failed upload is still in the store after Clean (removed %v)", d.Name(), removed)
		}
	}
	t.Logf("%d complete versions; Clean removed %d incomplete ones", len(after), len(removed))
}

func moveOutcome(putErr error, mv latestMove, moveErr error) string {
	switch {
	case putErr != nil:
		return "not tried"
	case moveErr != nil:
		return moveErr.Error()
	case mv.moved:
		return "moved"
	}
	return "stayed: " + mv.note
}

func errOrOK(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
