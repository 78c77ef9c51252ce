package simulate

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"testing"

	"github.com/wdstream/wdstream/schemas"
)

// smallConfig is a world small enough for unit tests.
func smallConfig(seed uint64) Config {
	return Config{Seed: seed, Users: 1500, Apps: 300, Days: 3, ImpressionsPerDay: 12_000}
}

// collect runs w and returns every event and the report.
func collect(t testing.TB, w *World) ([]Event, *Report) {
	t.Helper()
	var evs []Event
	rep, err := w.Run(context.Background(), func(e Event) error {
		evs = append(evs, e)
		return nil
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return evs, rep
}

// writeEvent writes e to h as text with features in name order.
func writeEvent(h io.Writer, e Event) {
	if in := e.Install; in != nil {
		fmt.Fprintf(h, "I %d %q %q %q\n", in.TS, in.ImpressionID, in.UserID, in.AppID)
		return
	}
	imp := e.Impression
	fmt.Fprintf(h, "M %d %q %q %q", imp.TS, imp.ImpressionID, imp.UserID, imp.AppID)
	keys := make([]string, 0, len(imp.Features))
	for k := range imp.Features {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := imp.Features[k]
		fmt.Fprintf(h, " %s=%d:%q:%v:%v:%q", k, v.Kind, v.Str, v.Num, v.Bool, v.Strs)
	}
	fmt.Fprintln(h)
}

// fingerprint hashes a whole event stream.
func fingerprint(evs []Event) uint64 {
	h := fnv.New64a()
	for _, e := range evs {
		writeEvent(h, e)
	}
	return h.Sum64()
}

func eventTS(e Event) int64 {
	if e.Install != nil {
		return e.Install.TS
	}
	return e.Impression.TS
}

func feature(imp *schemas.Impression, name string) schemas.Value { return imp.Features[name] }
