package continuous

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/simulate"
)

// TestStageExpiresIDs: with a ttl on app_id, over days of launches and
// delistings, the stream stage evicts the apps not seen for a ttl (its
// vocabulary holds exactly those seen within it after a scan),
// stays below every app ever seen, goes on from a checkpoint with its
// holes after a restart, and every version's manifest records what was
// evicted since the version before, across the restart.
func TestStageExpiresIDs(t *testing.T) {
	ctx := context.Background()
	const ttl = 8 * time.Hour
	sp := testSpec(t)
	for i := range sp.Features {
		if sp.Features[i].Name == "app_id" {
			sp.Features[i].TTL = spec.Duration(ttl)
		}
	}
	exs, err := simulate.WorldExamples(ctx, simulate.Config{Seed: 5, Users: 300, Apps: 80, NewAppsPerDay: 15, DelistedPerDay: 15,
		Days: 4, ImpressionsPerDay: 3000}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	sp.Publish.EveryExamples = 1500
	h := newHarness(t, 2, sp)
	half := len(exs) / 2
	produce(t, h.brokers, h.topic, exs[:half])
	first := h.run(int64(half)).st.Vocab("app_id").Evicted()
	produce(t, h.brokers, h.topic, exs[half:])
	last := map[string]int64{}
	var clock int64
	for i := range exs {
		last[exs[i].AppID] = max(last[exs[i].AppID], exs[i].TS)
		clock = max(clock, exs[i].TS)
	}
	// Restarts from the checkpoint the first run wrote as it stopped.
	st := h.run(int64(len(exs)))
	if got := st.Status().Examples; got != int64(len(exs)) {
		t.Fatalf("the stage trained %d examples, want %d", got, len(exs))
	}

	v := st.st.Vocab("app_id")
	inVocab := func(app string) bool { _, ok := v.Lookup(app); return ok }
	// The stage scans as its clock (the newest ts fitted) moves; the
	// partitions are read side by side, so a string whose last example
	// comes in behind the clock may wait for the next scan: force one.
	for app, ts := range last {
		if ts >= clock-ttl.Milliseconds() && !inVocab(app) {
			t.Errorf("%s, seen %v before the newest example, was evicted", app, time.Duration(clock-ts)*time.Millisecond)
		}
	}
	byStage, pending := v.Evicted(), st.evictions.Count("app_id")
	st.model.Forget(st.st.ExpireNow())
	t.Logf("the stage evicted %d, the forced scan %d", byStage, v.Evicted()-byStage)
	within, live := 0, 0
	for app, ts := range last {
		if ts >= clock-ttl.Milliseconds() {
			within++
		}
		if ok := inVocab(app); ok != (ts >= clock-ttl.Milliseconds()) {
			t.Errorf("%s, last seen %v before the newest example: in the vocabulary %v", app, time.Duration(clock-ts)*time.Millisecond, ok)
		}
		if inVocab(app) {
			live++
		}
	}
	// In event-time order an app is evicted at most once per gap of more
	// than a ttl between two of its examples (and once after its last):
	// more would mean the stage evicted apps a partition behind the others
	// still brought.
	byApp := map[string][]int64{}
	for i := range exs {
		byApp[exs[i].AppID] = append(byApp[exs[i].AppID], exs[i].TS)
	}
	var bound uint64
	for _, tss := range byApp {
		slices.Sort(tss)
		for k := 1; k < len(tss); k++ {
			if tss[k]-tss[k-1] > ttl.Milliseconds() {
				bound++
			}
		}
		if tss[len(tss)-1] < clock-ttl.Milliseconds() {
			bound++
		}
	}
	if v.Evicted() > bound {
		t.Errorf("%d evictions since the restart; in event-time order there can be at most %d", v.Evicted(), bound)
	}
	t.Logf("app_id: at most %d evictions in event-time order;", bound)
	t.Logf("app_id: %d apps seen, %d within the ttl, %d in the vocabulary, %d ids (%d free), %d evicted since the restart",
		len(last), within, v.Len(), v.Size(), v.Free(), v.Evicted())
	if v.Len() != live || v.Size()-v.OOVBuckets() >= len(last) {
		t.Errorf("vocabulary: %d admitted (%d apps found), %d ids; want fewer ids than the %d apps seen", v.Len(), live, v.Size()-v.OOVBuckets(), len(last))
	}

	vs, err := h.store.Versions(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	// Every eviction of both runs is in one version's manifest, or waits
	// for the next version (the count crosses the restart in the
	// checkpoint).
	var evicted int64
	for _, ver := range vs {
		m, err := h.store.Manifest(ctx, "m", ver)
		if err != nil {
			t.Fatal(err)
		}
		for _, vi := range m.Vocabularies {
			if vi.Feature != "app_id" {
				continue
			}
			t.Logf("version %s (parent %s, %d examples up to %s): app_id %d ids, %d admitted, %d free, %d evicted %v",
				ver, m.Parent, m.Data.Examples, time.UnixMilli(m.Data.ToTS).UTC().Format(time.DateTime), vi.IDs, vi.Admitted, vi.Free, vi.Evicted, vi.EvictedStrings)
			if vi.TTL != "8h" || len(vi.EvictedStrings) != int(min(vi.Evicted, 100)) {
				t.Errorf("version %s: %+v", ver, vi)
			}
			evicted += vi.Evicted
		}
	}
	if evicted+pending != int64(first+byStage) || byStage == 0 {
		t.Errorf("the runs evicted %d and %d; the %d versions record %d, %d wait for the next", first, byStage, len(vs), evicted, pending)
	}
}
