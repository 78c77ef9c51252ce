package simulate

import (
	"context"
	"time"

	"github.com/wdstream/wdstream/ingest/join"
	"github.com/wdstream/wdstream/schemas"
)

// Examples runs w and labels its impressions with its installs through the
// pipeline's own offline join (the backfill's), with the given label
// window: the labeled examples a trainer sees, in emission order.
func Examples(ctx context.Context, w *World, window time.Duration) ([]schemas.Example, error) {
	var imps []schemas.Impression
	var ins []schemas.Install
	if _, err := w.Run(ctx, func(e Event) error {
		if e.Impression != nil {
			imps = append(imps, *e.Impression)
		} else {
			ins = append(ins, *e.Install)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	exs, _, err := join.Offline(imps, ins, window)
	return exs, err
}

// WorldExamples builds the world cfg describes and returns its Examples
// with the given label window.
func WorldExamples(ctx context.Context, cfg Config, window time.Duration) ([]schemas.Example, error) {
	w, err := NewWorld(cfg)
	if err != nil {
		return nil, err
	}
	return Examples(ctx, w, window)
}
