package testenv

import (
	"testing"
	"time"
)

// WaitFor polls ok every 10 ms until it holds, and fails tb with what and
// log's text when it does not within timeout.
func WaitFor(tb testing.TB, timeout time.Duration, what string, ok func() bool, log *SyncBuffer) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("no %s within %v:\n%s", what, timeout, log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
