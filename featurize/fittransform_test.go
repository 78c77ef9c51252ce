package featurize

import (
	"bytes"
	"slices"
	"testing"
)

// TestFitTransformBatchIndependent: FitTransform gives every example the
// same ids whatever the batch size, and leaves the same state as Fit.
func TestFitTransformBatchIndependent(t *testing.T) {
	exs := newGen(21, 2000, 300).examples(700)
	type result struct {
		wide, deepApp []int32
		dense         []float32
		state         []byte
	}
	run := func(bs int) result {
		s, err := New(playstoreSpec(), smallOpts)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Fit(exs[:50]); err != nil {
			t.Fatal(err)
		}
		s.RefreshBoundaries()
		var r result
		var b Batch
		for lo := 50; lo < len(exs); lo += bs {
			hi := min(lo+bs, len(exs))
			if err := s.FitTransform(&b, exs[lo:hi]); err != nil {
				t.Fatal(err)
			}
			r.wide = append(r.wide, b.WideIDs...)
			r.deepApp = append(r.deepApp, b.Deep[5].IDs...) // app_id
			r.dense = append(r.dense, b.Dense...)
			for k, w := range s.Layout().Wide {
				if b.WideSizes[k] != int32(w.Size()) {
					t.Fatalf("batch %d: WideSizes[%d] = %d, slot has %d ids", lo, k, b.WideSizes[k], w.Size())
				}
			}
		}
		r.state = s.AppendEncoded(nil, EncodeOptions{FitState: true})
		return r
	}
	ref := run(1)
	for _, bs := range []int{7, 64, 650} {
		got := run(bs)
		if !slices.Equal(got.wide, ref.wide) || !slices.Equal(got.deepApp, ref.deepApp) || !slices.Equal(got.dense, ref.dense) {
			t.Errorf("batch size %d gave different ids than batch size 1", bs)
		}
		if !bytes.Equal(got.state, ref.state) {
			t.Errorf("batch size %d left a different state", bs)
		}
	}
	// The same counting as Fit.
	s, _ := New(playstoreSpec(), smallOpts)
	if err := s.Fit(exs[:50]); err != nil {
		t.Fatal(err)
	}
	s.RefreshBoundaries()
	if err := s.Fit(exs[50:]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.AppendEncoded(nil, EncodeOptions{FitState: true}), ref.state) {
		t.Error("FitTransform and Fit left different states")
	}
	// The id FitTransform gave the last example is the one Transform gives it
	// afterwards.
	var b Batch
	if err := s.Transform(&b, exs[len(exs)-1:]); err != nil {
		t.Fatal(err)
	}
	n := len(b.Deep[5].IDs)
	if !slices.Equal(b.Deep[5].IDs, ref.deepApp[len(ref.deepApp)-n:]) {
		t.Error("the last example's app_id id differs between FitTransform and a later Transform")
	}
}
