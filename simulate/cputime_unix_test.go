//go:build unix

package simulate

import (
	"syscall"
	"time"
)

// processCPU returns the user+system CPU time of this process so far:
// benchmarks report CPU per event, which other jobs on a shared machine
// disturb far less than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
