package join

import (
	"cmp"
	"slices"
	"time"

	"github.com/wdstream/wdstream/schemas"
)

// Offline labels a finite set of impressions and installs, as the backfill
// does: the events are merged in event-time order (impressions before
// installs on equal ts, input order otherwise), the watermark follows the
// merged stream's ts, and what is still pending at the end is flushed. This
// is the streaming stage's order and watermark on fully produced topics, so
// both entry points give the same labels. The examples come out in
// emission order; they alias the impressions' strings and maps.
func Offline(imps []schemas.Impression, installs []schemas.Install, window time.Duration) ([]schemas.Example, Stats, error) {
	j, err := New[*schemas.Impression](Config{Window: window, MaxPending: max(len(imps), 1)})
	if err != nil {
		return nil, Stats{}, err
	}
	io := make([]int, len(imps))
	for i := range io {
		io[i] = i
	}
	slices.SortStableFunc(io, func(a, b int) int { return cmp.Compare(imps[a].TS, imps[b].TS) })
	so := make([]int, len(installs))
	for i := range so {
		so[i] = i
	}
	slices.SortStableFunc(so, func(a, b int) int { return cmp.Compare(installs[a].TS, installs[b].TS) })

	out := make([]schemas.Example, 0, len(imps))
	emit := func(r Result[*schemas.Impression]) error {
		ex := schemas.Example{Impression: *r.Payload, Label: r.Label}
		if r.Label == 1 {
			ex.InstallTS, ex.HasInstallTS = r.InstallTS, true
		}
		out = append(out, ex)
		return nil
	}
	a, b := 0, 0
	for a < len(io) || b < len(so) {
		if b == len(so) || (a < len(io) && imps[io[a]].TS <= installs[so[b]].TS) {
			p := &imps[io[a]]
			a++
			if err := j.Advance(p.TS, emit); err != nil {
				return nil, Stats{}, err
			}
			k := Key{ImpressionID: p.ImpressionID, TS: p.TS, UserID: p.UserID, AppID: p.AppID}
			if err := j.AddImpression(k, p, -1, emit); err != nil {
				return nil, Stats{}, err
			}
			continue
		}
		in := &installs[so[b]]
		b++
		if err := j.Advance(in.TS, emit); err != nil {
			return nil, Stats{}, err
		}
		j.AddInstall(Install{TS: in.TS, ImpressionID: in.ImpressionID, UserID: in.UserID, AppID: in.AppID}, -1)
	}
	if err := j.Flush(emit); err != nil {
		return nil, Stats{}, err
	}
	return out, j.Stats(), nil
}
