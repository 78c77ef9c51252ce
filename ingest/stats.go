package ingest

import (
	"sync"
	"sync/atomic"
)

// JoinStats counts what the join stage did since it started, over all its
// partitions. The service exports them as metrics.
type JoinStats struct {
	Impressions  int64 // impression records read and valid
	Installs     int64 // install records read and valid
	DeadLetters  int64 // records sent to the dead-letter topic
	Examples     int64 // examples produced
	Positives    int64 // of which label 1
	Suppressed   int64 // re-emissions suppressed after a restart
	Forced       int64 // impressions closed early because the state was full
	LateInstalls int64 // installs whose impression was already emitted
	Orphans      int64 // installs that matched no impression
	DupInstalls  int64 // second installs of an impression already matched
	OutOfWindow  int64 // installs outside their impression's window
	DupImps      int64 // impressions whose id was already pending
	Pending      int64 // impressions waiting now (gauge)
	Held         int64 // installs read before an impression they could label, waiting (gauge)
	Assigned     int64 // partitions this member runs now (gauge)
	// MinWatermark is the smallest event-time watermark (Unix ms) of the
	// partitions this member runs, as of their last flush; 0 when none has
	// one yet. Wall clock minus it is the watermark delay.
	MinWatermark int64
	Commits      int64
	Restarts     int64 // partition restarts from committed offsets after an error
	// Flushes by the trigger that fired: records, bytes, time, idle, stop.
	FlushRecords, FlushBytes, FlushTime, FlushIdle, FlushStop int64
	// StateBytes estimates the heap of the join state (gauge): the
	// messages of the pending impressions kept in memory plus
	// join.Joiner.IndexBytes, as of each partition's last step.
	StateBytes int64
	// Spilling is 1 while the state is over JoinConfig.MaxStateBytes and
	// the messages of new pending impressions go to disk (gauge).
	Spilling       int64
	Spilled        int64 // messages written to the spill
	SpillReads     int64 // spilled messages read back to emit their examples
	SpillLive      int64 // spilled messages on disk now (gauge)
	SpillDiskBytes int64 // size of the spill files (gauge)
}

type joinCounters struct {
	impressions, installs, deadLetters, examples, positives, suppressed atomic.Int64
	forced, late, orphans, dupInstalls, outOfWindow, dupImps, pending   atomic.Int64
	held                                                                atomic.Int64
	commits, restarts, assigned                                         atomic.Int64
	flushRecords, flushBytes, flushTime, flushIdle, flushStop           atomic.Int64

	wmMu       sync.Mutex
	watermarks map[int]int64 // partition -> joiner watermark
}

// setWatermark records partition p's watermark; drop forgets it.
func (c *joinCounters) setWatermark(p int, wm int64) {
	c.wmMu.Lock()
	if c.watermarks == nil {
		c.watermarks = map[int]int64{}
	}
	c.watermarks[p] = wm
	c.wmMu.Unlock()
}

func (c *joinCounters) dropWatermark(p int) {
	c.wmMu.Lock()
	delete(c.watermarks, p)
	c.wmMu.Unlock()
}

func (c *joinCounters) minWatermark() int64 {
	c.wmMu.Lock()
	defer c.wmMu.Unlock()
	var m int64
	for _, wm := range c.watermarks {
		if m == 0 || wm < m {
			m = wm
		}
	}
	return m
}

func (c *joinCounters) snapshot() JoinStats {
	return JoinStats{
		Impressions: c.impressions.Load(), Installs: c.installs.Load(),
		DeadLetters: c.deadLetters.Load(), Examples: c.examples.Load(),
		Positives: c.positives.Load(), Suppressed: c.suppressed.Load(),
		Forced: c.forced.Load(), LateInstalls: c.late.Load(), Orphans: c.orphans.Load(),
		DupInstalls: c.dupInstalls.Load(), OutOfWindow: c.outOfWindow.Load(),
		DupImps: c.dupImps.Load(), Pending: c.pending.Load(), Held: c.held.Load(),
		Commits: c.commits.Load(), Restarts: c.restarts.Load(), Assigned: c.assigned.Load(),
		MinWatermark: c.minWatermark(),
		FlushRecords: c.flushRecords.Load(), FlushBytes: c.flushBytes.Load(),
		FlushTime: c.flushTime.Load(), FlushIdle: c.flushIdle.Load(), FlushStop: c.flushStop.Load(),
	}
}

// ArchiveStats counts what the archive stage did since it started.
type ArchiveStats struct {
	Examples   int64 // examples written to uploaded files
	Bad        int64 // messages of the examples topic that did not decode (skipped)
	Dropped    int64 // feature values whose kind differed from the file's column
	Undeclared int64 // examples with a column the file did not declare
	Files      int64 // files uploaded
	Bytes      int64 // bytes uploaded
	Commits    int64
	Restarts   int64
	CutHour    int64 // files cut because the hour changed
	CutBytes   int64 // ... because they reached FileBytes
	CutTime    int64 // ... because FlushInterval passed
	CutStop    int64 // ... at shutdown
}

type archiveCounters struct {
	examples, bad, dropped, undeclared, files, bytes, commits, restarts atomic.Int64
	cutHour, cutBytes, cutTime, cutStop                                 atomic.Int64
}

func (c *archiveCounters) snapshot() ArchiveStats {
	return ArchiveStats{
		Examples: c.examples.Load(), Bad: c.bad.Load(), Dropped: c.dropped.Load(),
		Undeclared: c.undeclared.Load(), Files: c.files.Load(), Bytes: c.bytes.Load(),
		Commits: c.commits.Load(), Restarts: c.restarts.Load(), CutHour: c.cutHour.Load(),
		CutBytes: c.cutBytes.Load(), CutTime: c.cutTime.Load(), CutStop: c.cutStop.Load(),
	}
}
