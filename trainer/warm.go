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
	// "emb/app_id/w", "wide/installed_apps_x_app_id/w") that may be
	// re-initialized when the spec changed their shape, instead of failing.
	// "*" allows every tensor.
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
	RowsMoved     int      // vocabulary rows carried over by string
	RowsNew       int      // rows with no previous string (fresh initializer)
}

func (r *WarmReport) String() string {
	return fmt.Sprintf("%d tensors copied, %d re-initialized, %d new; %d rows moved by string, %d new rows",
		len(r.Copied), len(r.Reinitialized), len(r.New), r.RowsMoved, r.RowsNew)
}

// WarmStart initializes dst (a fresh model for state cur) from src (the
// previous model, trained with state prev): the shared bias, every wide
// table, embedding table and tower layer with their optimizer state.
// Vocabulary-backed rows move by string through featurize.Remap, so a
// rebuilt vocabulary warm-starts correctly; rows whose string is new keep
// dst's initializer (zero for wide weights, the documented embedding
// initializer). Slots and fields are matched by name. A tensor whose shape
// the spec changed (embedding dim, hash buckets, quantiles, layer widths,
// mode) is an error naming it, unless opts allows re-initializing it.
func WarmStart(dst *Model, cur *featurize.State, src *Model, prev *featurize.State, opts WarmStartOptions) (*WarmReport, error) {
	r := &WarmReport{}
	dst.Bias, dst.BiasAcc = src.Bias, src.BiasAcc
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
			fail(name, fmt.Sprintf("was a %s slot, is now a %s slot", slotKind(o.Kind), slotKind(s.Kind)))
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
				fail(name, fmt.Sprintf("shape was %v, is now %v (embedding dims, dense columns or hidden sizes changed)", b, a))
				continue
			}
			copy(f32(dst.tower.w[l]), f32(src.tower.w[l]))
			copy(f32(dst.tower.b[l]), f32(src.tower.b[l]))
			copy(dst.tower.wAcc[l], src.tower.wAcc[l])
			copy(dst.tower.bAcc[l], src.tower.bAcc[l])
			r.Copied = append(r.Copied, name)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("warm start: the spec changed incompatibly:\n  %s", strings.Join(errs, "\n  "))
	}
	return r, nil
}
