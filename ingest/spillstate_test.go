package ingest

import (
	"bytes"
	"cmp"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/internal/testenv"
	"github.com/wdstream/wdstream/schemas"
)

// withDuplicates adds, for about 1% of the impressions, a second
// impression with the same id up to two windows later (a pending or a
// remembered duplicate, which the joiner ignores), and returns the
// impressions in ts order.
func withDuplicates(rng *rand.Rand, imps []schemas.Impression, window time.Duration) []schemas.Impression {
	out := slices.Clone(imps)
	for _, im := range imps {
		if rng.Float64() < 0.01 {
			d := im
			d.TS += rng.Int64N(2 * window.Milliseconds())
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b schemas.Impression) int { return cmp.Compare(a.TS, b.TS) })
	return out
}

// runJoinState feeds the events to one partition's joinState in the
// stage's order (event time, impressions first on equal ts; the watermark
// at the largest ts so far, after each event) and returns, by impression
// id, the example each emitted (its value as the stage writes it), and
// the most bytes the state took.
func runJoinState(t *testing.T, st *joinState, imps []schemas.Impression, ins []schemas.Install) (map[string][]byte, int64) {
	t.Helper()
	raws := make([][]byte, len(imps))
	for i := range imps {
		raws[i] = schemas.AppendImpressionJSON(nil, &imps[i])
	}
	got := map[string][]byte{}
	emit := func(r join.Result[impPayload]) error {
		raw, err := st.take(r.Payload, true)
		if err != nil {
			return err
		}
		if _, dup := got[r.ImpressionID]; dup {
			t.Fatalf("impression %s emitted twice", r.ImpressionID)
		}
		got[r.ImpressionID] = appendExample(nil, raw, r.Label, r.InstallTS)
		return nil
	}
	var dec schemas.Decoder
	var imp schemas.Impression
	var peak int64
	a, b := 0, 0
	for a < len(imps) || b < len(ins) {
		var ts int64
		if b == len(ins) || (a < len(imps) && imps[a].TS <= ins[b].TS) {
			if err := dec.ImpressionKey(raws[a], &imp); err != nil {
				t.Fatal(err)
			}
			k := join.Key{ImpressionID: imp.ImpressionID, TS: imp.TS, UserID: imp.UserID, AppID: imp.AppID}
			// A copy of the message, as the fetcher's: the state may keep it.
			if err := st.addImpression(k, bytes.Clone(raws[a]), int64(a), emit); err != nil {
				t.Fatal(err)
			}
			ts = imp.TS
			a++
		} else {
			in := ins[b]
			st.j.AddInstall(join.Install{TS: in.TS, ImpressionID: in.ImpressionID, UserID: in.UserID, AppID: in.AppID}, int64(b))
			ts = in.TS
			b++
		}
		if err := st.j.Advance(ts, emit); err != nil {
			t.Fatal(err)
		}
		st.note(false)
		peak = max(peak, st.bytes())
	}
	if err := st.j.Flush(emit); err != nil {
		t.Fatal(err)
	}
	st.note(true)
	return got, peak
}

// TestJoinStateSpillMatchesOffline is the differential test of the spill
// without Kafka: seeded stores (chaosEvents, with duplicate impressions
// added) go through one partition's state with no budget, a budget that
// the state crosses back and forth (3/4 of its peak without one), and a
// budget of 1 byte (every message
// spilled), with small spill segments; each example must equal the one
// the offline join's label and install_ts give the message, byte for
// byte, and the spill must end empty, its files deleted.
func TestJoinStateSpillMatchesOffline(t *testing.T) {
	for seed := range uint64(4) {
		imps, ins := chaosEvents(seed, scaled(20000))
		imps = withDuplicates(rand.New(rand.NewPCG(seed, 3)), imps, chaosWindow)
		wantEx, wantSt, err := join.Offline(imps, ins, chaosWindow)
		if err != nil {
			t.Fatal(err)
		}
		// The first impression of each id is the one the join keeps.
		first := map[string]*schemas.Impression{}
		for i := range imps {
			if first[imps[i].ImpressionID] == nil {
				first[imps[i].ImpressionID] = &imps[i]
			}
		}
		want := map[string][]byte{}
		for _, ex := range wantEx {
			want[ex.ImpressionID] = appendExample(nil, schemas.AppendImpressionJSON(nil, first[ex.ImpressionID]), ex.Label, ex.InstallTS)
		}
		var peak int64
		for _, budget := range []int64{0, -1, 1} {
			if budget < 0 {
				budget = peak * 3 / 4
			}
			t.Run(fmt.Sprintf("seed%d/budget%d", seed, budget), func(t *testing.T) {
				dir := t.TempDir()
				b := &stateBudget{max: budget, logger: slog.New(slog.DiscardHandler), root: &spillRoot{dir: dir}, segBytes: 32 << 10}
				j, err := join.New[impPayload](join.Config{Window: chaosWindow, MaxPending: 1 << 30})
				if err != nil {
					t.Fatal(err)
				}
				st := newJoinState(j, b, 0, 1)
				got, p := runJoinState(t, &st, imps, ins)
				if budget == 0 {
					peak = p
				}
				if len(got) != len(want) {
					t.Fatalf("%d examples, offline %d", len(got), len(want))
				}
				wrong := 0
				for id, w := range want {
					if !bytes.Equal(got[id], w) {
						if wrong < 3 {
							t.Errorf("impression %s: example\n%s\noffline\n%s", id, got[id], w)
						}
						wrong++
					}
				}
				if wrong > 0 {
					t.Fatalf("%d of %d examples differ", wrong, len(want))
				}
				js := j.Stats()
				if js.Forced != 0 || js.DupImpressions != wantSt.DupImpressions || js.Positives != wantSt.Positives {
					t.Fatalf("stats %+v, offline %+v", js, wantSt)
				}
				spilled, read, live := b.c.written.Load(), b.c.read.Load(), b.c.live.Load()
				switch {
				case budget == 0 && spilled != 0:
					t.Fatalf("spilled %d without a budget", spilled)
				case budget == 1 && spilled != int64(len(want))-1: // the first finds the state empty
					t.Fatalf("spilled %d of %d with a 1-byte budget", spilled, len(want))
				case budget > 1 && (spilled == 0 || spilled == int64(len(want))):
					t.Fatalf("spilled %d of %d with a budget the state crosses", spilled, len(want))
				case read != spilled || live != 0:
					t.Fatalf("spilled %d, read back %d, live %d", spilled, read, live)
				}
				if st.mem != 0 || st.bytes() != j.IndexBytes() {
					t.Fatalf("after the flush %d message bytes in memory", st.mem)
				}
				if n := len(spillFiles(t, dir)); n > 1 {
					t.Fatalf("%d spill files after every entry was taken, want at most the one being written", n)
				}
				if err := st.close(); err != nil {
					t.Fatal(err)
				}
				if n := len(spillFiles(t, dir)); n != 0 || b.total.Load() != 0 || b.c.diskBytes.Load() != 0 {
					t.Fatalf("after close: %d files, budget total %d, disk bytes %d", n, b.total.Load(), b.c.diskBytes.Load())
				}
				t.Logf("%d examples (%d duplicate impressions ignored), %d spilled, %d spill segments; state at most %d bytes", len(got), js.DupImpressions, spilled, st.spillSegments(), p)
			})
		}
	}
}

func (st *joinState) spillSegments() uint32 {
	if st.spill == nil {
		return 0
	}
	return st.spill.next
}

// TestStateBudgetHysteresis: spilling starts over the budget, goes on
// between 7/8 of it and the budget, stops at 7/8, with one log line each.
func TestStateBudgetHysteresis(t *testing.T) {
	var log testenv.SyncBuffer
	b := &stateBudget{max: 800, logger: slog.New(slog.NewTextHandler(&log, nil)), root: &spillRoot{dir: "/spill"}}
	for _, step := range []struct {
		add  int64
		want bool
	}{{800, false}, {1, true}, {-50, true}, {-50, true}, {-1, false}, {50, false}, {51, true}} {
		b.add(step.add)
		if b.spilling.Load() != step.want {
			t.Fatalf("total %d: spilling %v, want %v", b.total.Load(), b.spilling.Load(), step.want)
		}
	}
	if n := strings.Count(log.String(), "over its memory budget"); n != 2 {
		t.Errorf("%d start lines, want 2:\n%s", n, log.String())
	}
	if n := strings.Count(log.String(), "back under its memory budget"); n != 1 {
		t.Errorf("%d stop lines, want 1:\n%s", n, log.String())
	}
}

// TestIndexBytesEstimate keeps join.Joiner.IndexBytes honest: with the
// simulator's impressions pending, then as many remembered after their
// emission, the estimate is within a quarter of the heap measured
// (measureState, BenchmarkStateBytes's measure).
func TestIndexBytesEstimate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes the heap")
	}
	m := measureState(t, 100_000)
	for _, c := range []struct {
		name      string
		est, heap float64
	}{{"pending", m.estIndex, m.index}, {"remembered", m.estRecent, m.recent}} {
		if r := c.est / c.heap; r < 0.75 || r > 1.33 {
			t.Errorf("%s: estimate %.0f bytes per impression, heap %.0f (ratio %.2f)", c.name, c.est, c.heap, r)
		}
	}
	if r := m.payload / m.record; r > 1.3 {
		t.Errorf("a message of %.0f bytes takes %.0f bytes of heap (%.2fx)", m.record, m.payload, r)
	}
	t.Logf("per impression: message %.0f bytes (heap %.0f), index %.0f (estimate %.0f), remembered %.0f (estimate %.0f)",
		m.record, m.payload, m.index, m.estIndex, m.recent, m.estRecent)
	runtime.GC()
}

// leftSpill lists what is left in a spill base directory.
func leftSpill(t *testing.T, base string) []string {
	t.Helper()
	var left []string
	err := filepath.WalkDir(base, func(path string, d os.DirEntry, err error) error {
		if err == nil && path != base {
			left = append(left, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return left
}
