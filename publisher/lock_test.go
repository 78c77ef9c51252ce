package publisher

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocloud.dev/gcerrors"
)

// envRaceChild carries the workload of the second process of
// TestExclusiveAcrossProcesses: the test binary runs itself again with it.
const envRaceChild = "WDSTREAM_PUBLISHER_RACE_CHILD"

// raceJob is what each of the two racing processes does.
type raceJob struct {
	URL    string `json:"url"`
	Prefix string `json:"prefix"` // keys of the create race, model of the lock race
	Keys   int    `json:"keys"`   // keys both processes try to create, in the same order
	Locks  int    `json:"locks"`  // lock-protected increments each process makes
	Owner  string `json:"owner"`
	// Both processes try key (or increment) k at Start + k*Every (wall
	// clock, one machine), so that they meet on every one.
	Start time.Time     `json:"start"`
	Every time.Duration `json:"every"`
}

// raceResult is what a process reports: the keys it created.
type raceResult struct {
	Won   []int  `json:"won"`
	Error string `json:"error,omitempty"`
}

// TestExclusiveAcrossProcesses races two processes (this test and the
// test binary run again) against file:// and the real S3 server, both
// starting step k at the same instant on a shared schedule:
//
//   - create: both create the same keys (3,000 on file://, 1,500 on S3)
//     with createIfAbsent; every key must have exactly one creator, whose
//     bytes it holds. gocloud's fileblob IfNotExist, which the store used
//     on file:// before, gave 20 to 137 keys of 3,000 two creators here.
//   - lock: both increment a counter object (1,000 times each on file://,
//     200 on S3), read then written back a millisecond later, under
//     NAME/LOCK; no increment may be lost, which two holders at once
//     would cause (the old file:// lock lost 3 to 9 of 2,000 in three
//     runs).
func TestExclusiveAcrossProcesses(t *testing.T) {
	if raw := os.Getenv(envRaceChild); raw != "" {
		raceChild(raw)
		return
	}
	keys, locks := 3000, 1000
	if testing.Short() {
		keys, locks = 300, 50
	}
	for _, sc := range stores(t) {
		t.Run(sc.name, func(t *testing.T) {
			// Steps further apart than one takes on this busy machine, so
			// that neither process runs behind and the other ahead: a
			// create; both increments (the loser waits for the winner).
			n, l, create, incr := keys, locks, 2*time.Millisecond, 6*time.Millisecond
			if sc.name == "s3" {
				// HTTP round trips: fewer, for the time budget.
				n, l, create, incr = keys/2, locks/5, 4*time.Millisecond, 25*time.Millisecond
			}
			raceTwoProcesses(t, raceJob{URL: sc.url, Prefix: "create", Keys: n, Every: create})
			raceTwoProcesses(t, raceJob{URL: sc.url, Prefix: "lock", Locks: l, Every: incr})
		})
	}
}

// raceTwoProcesses runs job in this process and in a child at once and
// checks the outcome.
func raceTwoProcesses(t *testing.T, job raceJob) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	child := job
	child.Owner = "child"
	cj, _ := json.Marshal(child)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestExclusiveAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), envRaceChild+"="+string(cj))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel() // ends the child if the test failed on the way
		_ = cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	next := func(prefix string) string {
		for lines.Scan() {
			if v, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return v
			}
		}
		t.Fatalf("the child process ended before %q (%v)", prefix, lines.Err())
		return ""
	}

	poll, pollMax := lockPoll, lockPollMax
	lockPoll, lockPollMax = raceLockPoll, raceLockPollMax
	defer func() { lockPoll, lockPollMax = poll, pollMax }()
	s := openStore(t, job.URL)
	parent := job
	parent.Owner = "parent"
	next("race-ready")
	start := time.Now()
	parent.Start = start.Add(100 * time.Millisecond)
	if _, err := fmt.Fprintf(stdin, "%d\n", parent.Start.UnixNano()); err != nil {
		t.Fatal(err)
	}
	mine := runRaceJob(ctx, s, parent)
	var theirs raceResult
	if err := json.Unmarshal([]byte(next("race-result ")), &theirs); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	stdin.Close()
	for lines.Scan() { // the child's test output, to its end
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the child process: %v", err)
	}
	for who, r := range map[string]raceResult{"parent": mine, "child": theirs} {
		if r.Error != "" {
			t.Fatalf("%s: %s", who, r.Error)
		}
	}

	if job.Keys > 0 {
		both := 0
		for _, k := range mine.Won {
			if _, ok := slices.BinarySearch(theirs.Won, k); ok {
				both++
			}
		}
		t.Logf("create race, %d keys: parent created %d, child %d, both %d, in %s",
			job.Keys, len(mine.Won), len(theirs.Won), both, elapsed.Round(time.Millisecond))
		if both > 0 || len(mine.Won)+len(theirs.Won) != job.Keys {
			t.Fatalf("%d keys created by both processes, %d by neither", both, job.Keys-len(mine.Won)-len(theirs.Won)+both)
		}
		for who, r := range map[string]raceResult{"parent": mine, "child": theirs} {
			for _, k := range r.Won {
				b, err := s.bucket.ReadAll(ctx, raceKey(job.Prefix, k))
				if err != nil || string(b) != who {
					t.Fatalf("key %d, created by the %s, holds %q (%v)", k, who, b, err)
				}
			}
		}
	}
	if job.Locks > 0 {
		b, err := s.bucket.ReadAll(ctx, path.Join(job.Prefix, "counter"))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := strconv.Atoi(string(b))
		t.Logf("lock race: %d increments each, counter %d, in %s", job.Locks, got, elapsed.Round(time.Millisecond))
		if got != 2*job.Locks {
			t.Fatalf("counter %d after %d increments under the lock: %d lost to a second holder", got, 2*job.Locks, 2*job.Locks-got)
		}
		if ok, err := s.bucket.Exists(ctx, path.Join(job.Prefix, lockFile)); err != nil || ok {
			t.Fatalf("the lock outlived its holders (exists %v, %v)", ok, err)
		}
	}
}

// Short waits between tries of the lock, so that both processes hammer it.
const raceLockPoll, raceLockPollMax = time.Millisecond, 20 * time.Millisecond

func raceKey(prefix string, k int) string { return fmt.Sprintf("%s/k%05d", prefix, k) }

// raceChild is the second process: it opens the store, says it is ready,
// reads the start time from stdin, runs the job and prints the result.
func raceChild(raw string) {
	var job raceJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		fmt.Printf("race-result %s\n", mustJSON(raceResult{Error: err.Error()}))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	s, err := OpenStore(ctx, job.URL)
	if err != nil {
		fmt.Printf("race-result %s\n", mustJSON(raceResult{Error: err.Error()}))
		return
	}
	defer s.Close()
	lockPoll, lockPollMax = raceLockPoll, raceLockPollMax
	fmt.Println("race-ready")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		return
	}
	ns, _ := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	job.Start = time.Unix(0, ns)
	fmt.Printf("race-result %s\n", mustJSON(runRaceJob(ctx, s, job)))
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// runRaceJob runs one process's side of a race.
func runRaceJob(ctx context.Context, s *Store, job raceJob) raceResult {
	var res raceResult
	for k := range job.Keys {
		time.Sleep(time.Until(job.Start.Add(time.Duration(k) * job.Every)))
		err := s.createIfAbsent(ctx, raceKey(job.Prefix, k), []byte(job.Owner), "")
		for errors.Is(err, errBusy) { // the S3 server asks to retry
			err = s.createIfAbsent(ctx, raceKey(job.Prefix, k), []byte(job.Owner), "")
		}
		switch {
		case err == nil:
			res.Won = append(res.Won, k)
		case !errors.Is(err, errExists):
			res.Error = err.Error()
			return res
		}
	}
	counter := path.Join(job.Prefix, "counter")
	for k := range job.Locks {
		time.Sleep(time.Until(job.Start.Add(time.Duration(k) * job.Every)))
		release, err := s.lock(ctx, job.Prefix)
		if err != nil {
			res.Error = err.Error()
			return res
		}
		n := 0
		b, err := s.bucket.ReadAll(ctx, counter)
		if err == nil {
			n, err = strconv.Atoi(string(b))
		} else if gcerrors.Code(err) == gcerrors.NotFound {
			err = nil
		}
		if err == nil {
			time.Sleep(time.Millisecond) // so that two holders would overlap
			err = s.bucket.WriteAll(ctx, counter, []byte(strconv.Itoa(n+1)), nil)
		}
		release()
		if err != nil {
			res.Error = err.Error()
			return res
		}
	}
	return res
}
