package join_test

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/simulate"
)

// stream is a simulated world's events in the streaming stage's merge
// order (event time, impressions first on equal ts), as the joiner sees
// them.
type stream struct {
	imps []join.Key
	ins  []join.Install
	isIn []bool // per event: an install (else the next impression)
	ts   []int64
}

func simStream(b *testing.B, impressions int) stream {
	w, err := simulate.NewWorld(simulate.Config{Seed: 7, Users: 2000, Apps: 300, Days: 1, ImpressionsPerDay: impressions})
	if err != nil {
		b.Fatal(err)
	}
	var imps []join.Key
	var ins []join.Install
	if _, err := w.Run(context.Background(), func(e simulate.Event) error {
		if e.Impression != nil {
			im := e.Impression
			imps = append(imps, join.Key{ImpressionID: im.ImpressionID, TS: im.TS, UserID: im.UserID, AppID: im.AppID})
		} else {
			in := e.Install
			ins = append(ins, join.Install{TS: in.TS, ImpressionID: in.ImpressionID, UserID: in.UserID, AppID: in.AppID})
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	// Each input is in ts order already (the simulator emits them so):
	// merge them as the stage does.
	s := stream{imps: imps, ins: ins}
	a, c := 0, 0
	for a < len(imps) || c < len(ins) {
		if c == len(ins) || (a < len(imps) && imps[a].TS <= ins[c].TS) {
			s.isIn, s.ts = append(s.isIn, false), append(s.ts, imps[a].TS)
			a++
		} else {
			s.isIn, s.ts = append(s.isIn, true), append(s.ts, ins[c].TS)
			c++
		}
	}
	return s
}

// payload is the streaming stage's payload: the raw message and its offset.
type payload struct {
	raw []byte
	off int64
}

// BenchmarkJoiner feeds a simulated day to one joiner as the streaming
// stage does (tracked offsets, the watermark following the merged event
// time, a 30-minute window) and reports the time per event (impression or
// install).
func BenchmarkJoiner(b *testing.B) {
	for _, n := range []int{50_000, 200_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s := simStream(b, n)
			raw := []byte(`{}`)
			emitted := 0
			emit := func(join.Result[payload]) error { emitted++; return nil }
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				j, err := join.New[payload](join.Config{Window: 30 * time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				emitted = 0
				a, c := 0, 0
				for i, isIn := range s.isIn {
					if isIn {
						j.AddInstall(s.ins[c], int64(c))
						c++
					} else {
						if err := j.AddImpression(s.imps[a], payload{raw: raw, off: int64(a)}, int64(a), emit); err != nil {
							b.Fatal(err)
						}
						a++
					}
					if err := j.Advance(s.ts[i], emit); err != nil {
						b.Fatal(err)
					}
				}
				if err := j.Flush(emit); err != nil {
					b.Fatal(err)
				}
				if emitted != len(s.imps) {
					b.Fatalf("emitted %d, want %d", emitted, len(s.imps))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(s.isIn)), "ns/event")
			// CPU time (GC included) is steadier than wall time on a
			// shared machine.
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*len(s.isIn)), "cpu-ns/event")
		})
	}
}

// cpuTime returns the CPU time (user and system) of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
