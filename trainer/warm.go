package trainer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wdstream/wdstream/featurize"
)

// WarmStartOptions tune WarmStart.
type WarmStartOptions struct {
	// Reinit names tensors (as in the weights file: "tower/0/w",
	// "emb/app_id/w", "wide/installed_apps_x_app_id/w", "cross/0/w") that
	// may be re-initialized when the spec changed their shape, instead of
	// failing; for a cross layer the spec added or dropped (a changed
	// model.interaction or model.cross_layers), that it may be started
	// fresh or dropped. "*" allows every tensor.
	Reinit []string
}

func (o WarmStartOptions) allows(tensor string) bool {
	return slices.Contains(o.Reinit, "*") || slices.Contains(o.Reinit, tensor)
}

// WarmReport says what WarmStart carried over.
type WarmReport struct {
	Copied        []string // tensors moved from the previous model
	Reinitialized []string // tensors whose shape changed, re-initialized by request
	New           []string // tensors the previous model did not have
	Dropped       []string // cross layers the spec no longer has, dropped by request
	RowsMoved     int      // vocabulary rows carried over by string
	RowsNew       int      // rows with no previous string (fresh initializer)
}

func (r *WarmReport) String() string {
	s := fmt.Sprintf("%d tensors copied, %d re-initialized, %d new; %d rows moved by string, %d new rows",
		len(r.Copied), len(r.Reinitialized), len(r.New), r.RowsMoved, r.RowsNew)
	if len(r.Dropped) > 0 {
		s += fmt.Sprintf("; %d dropped", len(r.Dropped))
	}
	return s
}

// WarmStart initializes dst (a fresh model for state cur) from src (the
// previous model, trained with state prev): the shared bias, every wide
// table, embedding table and tower layer with their optimizer state.
// Vocabulary-backed rows move by string through featurize.Remap, so a
// rebuilt vocabulary warm-starts correctly; rows whose string is new keep
// dst's initializer (zero for wide weights, the documented embedding
// initializer). Slots and fields are matched by name. A tensor whose shape
// the spec changed (embedding dim, hash buckets, quantiles, layer widths,
// mode, interaction dot on or off) is an error naming it, unless opts
// allows re-initializing it. So is a cross layer the previous model did
// not have or that the spec dropped (model.interaction or
// model.cross_layers changed): the tower was trained on the other input;
// opts may allow starting it fresh or dropping it.
//
// dst keeps its own LogitOffset, log of the current spec's
// model.negative_sampling rate, whatever src's was; when the rates differ
// the bias moves by src's offset minus dst's, so that the warm-started
// model scores as src did (its logit learns the log-odds of the new
// sample, shifted by -log of the new rate).
func WarmStart(dst *Model, cur *featurize.State, src *Model, prev *featurize.State, opts WarmStartOptions) (*WarmReport, error) {
	r := &WarmReport{}
	dst.Bias, dst.BiasAcc = src.Bias+src.LogitOffset-dst.LogitOffset, src.BiasAcc
	var remap []int32
	var errs []string
	fail := func(tensor, why string) {
		if opts.allows(tensor) {
			r.Reinitialized = append(r.Reinitialized, tensor)
			return
		}
		errs = append(errs, fmt.Sprintf("tensor %s: %s (allow re-initializing it with --reinit %s)", tensor, why, tensor))
	}
	for k, s := range dst.Layout.Wide {
		name := "wide/" + s.Name + "/w"
		j := slices.IndexFunc(src.Layout.Wide, func(o featurize.WideSlot) bool { return o.Name == s.Name })
		if j < 0 || !src.usesWide() {
			r.New = append(r.New, name)
			continue
		}
		o := src.Layout.Wide[j]
		if o.Kind != s.Kind {
			fail(name, fmt.Sprintf("was a %s slot, is now a %s slot", o.Kind, s.Kind))
			continue
		}
		from, to := &src.Wide[j], &dst.Wide[k]
		if s.Kind != featurize.SlotCategorical {
			if from.Len() != s.Size() {
				fail(name, fmt.Sprintf("%d rows before, %d now (hash_buckets or quantiles changed)", from.Len(), s.Size()))
				continue
			}
			to.Grow(from.Len())
			copy(to.W, from.W)
			copy(to.Z, from.Z)
			copy(to.N, from.N)
			r.Copied = append(r.Copied, name)
			continue
		}
		remap = featurize.Remap(remap, prev.Vocab(s.Name), cur.Vocab(s.Name))
		to.Grow(s.Size())
		for old, nu := range remap {
			if nu < 0 || old >= from.Len() {
				continue
			}
			to.W[nu], to.Z[nu], to.N[nu] = from.W[old], from.Z[old], from.N[old]
			r.RowsMoved++
		}
		r.Copied = append(r.Copied, name)
	}
	for f, d := range dst.Layout.Deep {
		name := "emb/" + d.Name + "/w"
		j := slices.IndexFunc(src.Layout.Deep, func(o featurize.DeepInput) bool { return o.Name == d.Name })
		if j < 0 || !src.usesDeep() {
			r.New = append(r.New, name)
			continue
		}
		from := &src.Emb[j]
		if from.Dim != d.EmbeddingDim {
			fail(name, fmt.Sprintf("embedding dim was %d, is now %d", from.Dim, d.EmbeddingDim))
			continue
		}
		to := &dst.Emb[f]
		dst.growEmb(f, d.Size())
		remap = featurize.Remap(remap, prev.Vocab(d.Name), cur.Vocab(d.Name))
		moved := 0
		for old, nu := range remap {
			if nu < 0 || old >= from.Rows() {
				continue
			}
			copy(to.W[int(nu)*to.Dim:(int(nu)+1)*to.Dim], from.W[old*from.Dim:(old+1)*from.Dim])
			copy(to.Acc[int(nu)*to.Dim:(int(nu)+1)*to.Dim], from.Acc[old*from.Dim:(old+1)*from.Dim])
			moved++
		}
		r.RowsMoved += moved
		r.RowsNew += to.Rows() - moved
		r.Copied = append(r.Copied, name)
	}
	if dst.tower != nil {
		for l := range dst.tower.w {
			name := fmt.Sprintf("tower/%d/w", l)
			if src.tower == nil || l >= len(src.tower.w) {
				r.New = append(r.New, name)
				continue
			}
			if a, b := dst.tower.sizes[l:l+2], src.tower.sizes[l:l+2]; !slices.Equal(a, b) {
				fail(name, fmt.Sprintf("shape was %v, is now %v (embedding dims, dense columns, hidden sizes or model.interaction changed)", b, a))
				continue
			}
			copy(f32(dst.tower.w[l]), f32(src.tower.w[l]))
			copy(f32(dst.tower.b[l]), f32(src.tower.b[l]))
			copy(dst.tower.wAcc[l], src.tower.wAcc[l])
			copy(dst.tower.bAcc[l], src.tower.bAcc[l])
			r.Copied = append(r.Copied, name)
		}
	}
	warmCross(dst, src, r, fail, func(tensor, why string) {
		if opts.allows(tensor) {
			r.Dropped = append(r.Dropped, tensor)
			return
		}
		errs = append(errs, fmt.Sprintf("tensor %s: %s (allow dropping it with --reinit %s)", tensor, why, tensor))
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("warm start: the spec changed incompatibly:\n  %s", strings.Join(errs, "\n  "))
	}
	return r, nil
}

// warmCross carries the cross layers over: a layer both models have at the
// same width is copied; one the previous model lacks, or whose width
// changed, goes to fail (re-initialized when allowed), unless the previous
// model had no deep part at all (the layer is then new, as the tower is);
// one the spec dropped goes to drop.
func warmCross(dst, src *Model, r *WarmReport, fail, drop func(tensor, why string)) {
	var have, want int
	if src.cross != nil {
		have = len(src.cross.w)
	}
	if dst.cross != nil {
		want = len(dst.cross.w)
	}
	for l := range want {
		name := fmt.Sprintf("cross/%d/w", l)
		c := dst.cross
		switch {
		case src.tower == nil: // no deep part before: all of it is new
			r.New = append(r.New, name)
		case l >= have:
			fail(name, fmt.Sprintf("the previous model has %d cross layers (interaction %s), the spec %d: the tower was trained without this one",
				have, src.interaction, want))
		case src.cross.d != c.d:
			fail(name, fmt.Sprintf("shape was [%d %d], is now [%d %d] (embedding dims or dense columns changed)", src.cross.d, src.cross.d, c.d, c.d))
		default:
			copy(c.w[l], src.cross.w[l])
			copy(c.b[l], src.cross.b[l])
			copy(c.wAcc[l], src.cross.wAcc[l])
			copy(c.bAcc[l], src.cross.bAcc[l])
			r.Copied = append(r.Copied, name)
		}
	}
	if dst.usesDeep() {
		for l := want; l < have; l++ {
			drop(fmt.Sprintf("cross/%d/w", l), fmt.Sprintf("the previous model has %d cross layers, the spec %d (interaction %s): the tower was trained on this one's output",
				have, want, dst.interaction))
		}
	}
}
