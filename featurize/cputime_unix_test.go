//go:build unix

package featurize

import "syscall"

// processCPUNanos is the user+system CPU time of the process, so that the
// benchmarks can report CPU per example, which a loaded machine does not
// inflate the way it inflates wall time.
func processCPUNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
