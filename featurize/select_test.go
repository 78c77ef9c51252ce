package featurize

import (
	"slices"
	"testing"

	"github.com/wdstream/wdstream/schemas"
)

// TestSelectFrom: the rows of a batch that SelectFrom copies are the batch
// Transform gives for those examples alone (same vocabularies), also into
// a batch reused from a larger selection, and for no rows at all.
func TestSelectFrom(t *testing.T) {
	exs := newGen(5, 500, 100).examples(300)
	s, err := New(playstoreSpec(), smallOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Fit(exs); err != nil {
		t.Fatal(err)
	}
	s.RefreshBoundaries()
	var all, got Batch
	if err := s.Transform(&all, exs); err != nil {
		t.Fatal(err)
	}
	for _, rows := range [][]int{{0, 1, 2, 299}, {7}, {298, 3, 150}, nil} {
		var picked []schemas.Example
		for _, i := range rows {
			picked = append(picked, exs[i])
		}
		var want Batch
		if err := s.Transform(&want, picked); err != nil {
			t.Fatal(err)
		}
		got.SelectFrom(&all, rows)
		if !sameBatch(&got, &want) {
			t.Errorf("rows %v: SelectFrom gave\n%+v\nTransform of those examples gave\n%+v", rows, got, want)
		}
	}
}

// sameBatch compares the exported contents of two batches (a nil slice
// equals an empty one).
func sameBatch(a, b *Batch) bool {
	if a.N != b.N || a.DenseDim != b.DenseDim || len(a.Deep) != len(b.Deep) ||
		!slices.Equal(a.Labels, b.Labels) || !slices.Equal(a.ImpressionIDs, b.ImpressionIDs) || !slices.Equal(a.TS, b.TS) ||
		!slices.Equal(a.WideOffsets, b.WideOffsets) || !slices.Equal(a.WideSlots, b.WideSlots) || !slices.Equal(a.WideIDs, b.WideIDs) ||
		!slices.Equal(a.WideValues, b.WideValues) || !slices.Equal(a.WideSizes, b.WideSizes) || !slices.Equal(a.Dense, b.Dense) {
		return false
	}
	for f := range a.Deep {
		da, db := &a.Deep[f], &b.Deep[f]
		if da.Size != db.Size || (da.Offsets == nil) != (db.Offsets == nil) || !slices.Equal(da.Offsets, db.Offsets) || !slices.Equal(da.IDs, db.IDs) {
			return false
		}
	}
	return true
}
