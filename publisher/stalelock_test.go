package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wdstream/wdstream/internal/procid"
	"github.com/wdstream/wdstream/internal/testenv"
)

// envLockChild makes the test binary a process that takes NAME/LOCK of
// the store and model it names ("URL MODEL"), says "locked" and waits to
// be killed.
const envLockChild = "WDSTREAM_PUBLISHER_LOCK_CHILD"

func lockChild(raw string) {
	url, model, _ := strings.Cut(raw, " ")
	s, err := OpenStore(context.Background(), url)
	if err != nil {
		fmt.Println("error", err)
		return
	}
	if _, err := s.lock(context.Background(), model); err != nil {
		fmt.Println("error", err)
		return
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
}

// setLockTiming sets the lock's timing for one test.
func setLockTiming(t *testing.T, stale, wait time.Duration) {
	oldStale, oldWait, oldPoll, oldMax := lockStale, lockWait, lockPoll, lockPollMax
	lockStale, lockWait, lockPoll, lockPollMax = stale, wait, time.Millisecond, 20*time.Millisecond
	t.Cleanup(func() { lockStale, lockWait, lockPoll, lockPollMax = oldStale, oldWait, oldPoll, oldMax })
}

// TestLockOfKilledHolderIsBrokenAtOnce: a publisher killed (SIGKILL) while
// it holds NAME/LOCK used to cost the next one lockStale (the issue
// measured 24.5 s). A waiter on the same machine now sees the holder gone
// and takes the lock at once: with lockStale at an hour, taking it at all
// proves it. A lock whose holder runs on another machine (another boot id)
// is not broken before lockStale, whatever its pid.
func TestLockOfKilledHolderIsBrokenAtOnce(t *testing.T) {
	if raw := os.Getenv(envLockChild); raw != "" {
		lockChild(raw)
		return
	}
	if selfProc == "" {
		t.Skip("process ids need Linux's /proc (package procid)")
	}
	for _, sc := range stores(t) {
		t.Run(sc.name, func(t *testing.T) {
			setLockTiming(t, time.Hour, 20*time.Second)
			s := openStore(t, sc.url)
			ctx := context.Background()

			cmd, line := testenv.Child(t, []string{envLockChild + "=" + sc.url + " m"}, "-test.run=^TestLockOfKilledHolderIsBrokenAtOnce$")
			if line != "locked" {
				t.Fatalf("child: %q", line)
			}
			_ = cmd.Process.Kill()
			_ = cmd.Wait()

			release, err := s.lock(ctx, "m")
			if err != nil {
				t.Fatalf("the lock of a killed holder was not broken: %v", err)
			}
			release()

			// Another machine's holder: kept until lockStale.
			f := strings.Split(selfProc, ".")
			foreign := strings.Replace(selfProc, f[0], strings.Repeat("0", len(f[0])), 1)
			plant := func(model string) {
				b, _ := json.Marshal(lockBody{Owner: "elsewhere", Time: time.Now(), Host: "other", Proc: foreign})
				if err := s.createIfAbsent(ctx, path.Join(model, lockFile), b, ""); err != nil {
					t.Fatal(err)
				}
			}
			plant("n")
			setLockTiming(t, time.Hour, 300*time.Millisecond)
			if _, err := s.lock(ctx, "n"); err == nil || !strings.Contains(err.Error(), `held by "elsewhere" on "other"`) {
				t.Fatalf("a lock held on another machine: err %v, want held by elsewhere", err)
			}
			setLockTiming(t, 100*time.Millisecond, 20*time.Second)
			release, err = s.lock(ctx, "n")
			if err != nil {
				t.Fatalf("a lock held on another machine, past lockStale: %v", err)
			}
			release()
		})
	}
}

// TestBreakingAStaleLockIsExclusive: waiters that all find the same dead
// lock must not break each other's locks. Each round plants a lock of a
// dead holder (a procid that is dead, so every waiter breaks it at once)
// and sends several waiters at it; each holder checks that it is alone
// (an in-process count) for a while under the lock. Before breaking went
// through NAME/LOCK.broken tokens, a slow breaker could delete the lock a
// faster one had just taken; breakerPause makes breakers slow at random
// (0-3 ms between their last read of the lock and its delete).
func TestBreakingAStaleLockIsExclusive(t *testing.T) {
	if selfProc == "" {
		t.Skip("process ids need Linux's /proc (package procid)")
	}
	rounds, _ := strconv.Atoi(os.Getenv("WDSTREAM_STALE_LOCK_ROUNDS"))
	if rounds <= 0 {
		rounds = 30
	}
	f := strings.Split(selfProc, ".")
	dead := strings.Join([]string{f[0], f[1], f[2], f[3] + "1"}, ".") // our pid, another start time
	if !procid.Dead(dead) {
		t.Fatalf("procid.Dead(%q) = false", dead)
	}
	for _, sc := range stores(t) {
		t.Run(sc.name, func(t *testing.T) {
			setLockTiming(t, time.Hour, 30*time.Second)
			breakerPause = func() { time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond) }
			t.Cleanup(func() { breakerPause = func() {} })
			s := openStore(t, sc.url)
			ctx := context.Background()
			var holders, overlaps atomic.Int32
			for r := range rounds {
				model := fmt.Sprintf("r%03d", r)
				b, _ := json.Marshal(lockBody{Owner: "dead", Time: time.Now(), Proc: dead})
				if err := s.createIfAbsent(ctx, path.Join(model, lockFile), b, ""); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make(chan error, 4)
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						release, err := s.lock(ctx, model)
						if err != nil {
							errs <- err
							return
						}
						if holders.Add(1) > 1 {
							overlaps.Add(1)
						}
						time.Sleep(5 * time.Millisecond)
						holders.Add(-1)
						release()
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
			}
			if n := overlaps.Load(); n > 0 {
				t.Fatalf("%d times two waiters held the lock at once after breaking a dead one (%d rounds)", n, rounds)
			}
		})
	}
}

// TestLockLeftByThisProcessIsBrokenAtOnce: a release that could not delete
// the lock (the S3 server was down) leaves a lock naming this very
// process, which the dead-process check cannot break; no call of this
// process holds it any more, so the next one breaks it at once, while a
// lock a call of this process does hold is waited for.
func TestLockLeftByThisProcessIsBrokenAtOnce(t *testing.T) {
	if selfProc == "" {
		t.Skip("process ids need Linux's /proc (package procid)")
	}
	for _, sc := range stores(t) {
		t.Run(sc.name, func(t *testing.T) {
			setLockTiming(t, time.Hour, 300*time.Millisecond)
			s := openStore(t, sc.url)
			ctx := context.Background()
			b, _ := json.Marshal(lockBody{Owner: "released-but-not-deleted", Time: time.Now(), Proc: selfProc})
			if err := s.createIfAbsent(ctx, path.Join("m", lockFile), b, ""); err != nil {
				t.Fatal(err)
			}
			release, err := s.lock(ctx, "m")
			if err != nil {
				t.Fatalf("an orphaned lock of this process was not broken: %v", err)
			}
			if _, err := s.lock(ctx, "m"); err == nil || !strings.Contains(err.Error(), "still after") {
				t.Fatalf("a lock held by a call of this process: err %v, want a timeout", err)
			}
			release()
		})
	}
}
