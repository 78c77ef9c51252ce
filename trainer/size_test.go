package trainer

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// allocated returns the parameters of m and the bytes its tables hold
// (capacity, not length: what the process pays for).
func allocated(m *Model) (params, bytes int64) {
	bytes = 8 // Bias and BiasAcc
	for k := range m.Wide {
		t := &m.Wide[k]
		bytes += 4 * int64(cap(t.W)+cap(t.Z)+cap(t.N))
	}
	for f := range m.Emb {
		e := &m.Emb[f]
		bytes += 4 * int64(cap(e.W)+cap(e.Acc))
	}
	if m.tower != nil {
		for l := range m.tower.w {
			bytes += 4 * int64(len(f32(m.tower.w[l]))+len(f32(m.tower.b[l]))+cap(m.tower.wAcc[l])+cap(m.tower.bAcc[l]))
		}
	}
	if c := m.cross; c != nil {
		for l := range c.w {
			bytes += 4 * int64(cap(c.w[l])+cap(c.b[l])+cap(c.wAcc[l])+cap(c.bAcc[l]))
		}
	}
	return int64(m.Params()), bytes
}

// sizeSpecs are specs of every shape the trainer allocates: each mode (the
// wide tables and the embeddings are allocated in every mode, the tower
// only with a deep part), lists, crosses of two and three columns, wide
// numerics, vocabularies with and without max_size.
var sizeSpecs = map[string]string{
	"wide_deep": `
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 3, max_size: 20, oov_buckets: 3}
  - {name: country, type: categorical, embedding_dim: 2, max_size: 5}
  - {name: installed_apps, type: categorical_list, wide: true, embedding_dim: 5, max_size: 30, oov_buckets: 2, max_length: 4}
  - {name: app_rating, type: numeric, wide: true, quantiles: 5}
  - {name: position, type: numeric, quantiles: 4}
crosses:
  - {columns: [installed_apps, app_id], hash_buckets: 64}
  - {columns: [app_id, country, installed_apps], hash_buckets: 32}
model: {mode: wide_deep, hidden: [7, 5], batch_size: 16}
`,
	"wide": `
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 4, max_size: 11}
  - {name: installed_apps, type: categorical_list, max_size: 13, oov_buckets: 5, combiner: sum}
  - {name: app_rating, type: numeric, wide: true, quantiles: 9}
crosses:
  - {columns: [installed_apps, app_id], hash_buckets: 100}
model: {mode: wide, hidden: [8], batch_size: 8}
`,
	"deep": `
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 6, max_size: 17, oov_buckets: 4}
  - {name: country, type: categorical, embedding_dim: 3, max_size: 3}
  - {name: installed_apps, type: categorical_list, embedding_dim: 2, max_size: 40, combiner: sqrtn, max_length: 2}
  - {name: position, type: numeric, quantiles: 4}
crosses:
  - {columns: [country, app_id], hash_buckets: 50}
model: {mode: deep, hidden: [9, 4, 3], batch_size: 32}
`,
	"one layer, no max_size": `
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 4, oov_buckets: 6}
  - {name: installed_apps, type: categorical_list, wide: true, embedding_dim: 3}
  - {name: app_rating, type: numeric, quantiles: 3}
model: {mode: wide_deep, hidden: [2], batch_size: 4}
`,
	"deep, interaction dot": `
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 4, max_size: 17, oov_buckets: 4}
  - {name: country, type: categorical, embedding_dim: 4, max_size: 3}
  - {name: installed_apps, type: categorical_list, embedding_dim: 4, max_size: 40, combiner: sqrtn, max_length: 2}
  - {name: position, type: numeric, quantiles: 4}
model: {mode: deep, hidden: [9, 4], batch_size: 32, interaction: dot}
`,
	"wide_deep, interaction cross": `
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 3, max_size: 20, oov_buckets: 3}
  - {name: country, type: categorical, embedding_dim: 2, max_size: 5}
  - {name: installed_apps, type: categorical_list, wide: true, embedding_dim: 5, max_size: 30, max_length: 4}
  - {name: app_rating, type: numeric, wide: true, quantiles: 5}
crosses:
  - {columns: [installed_apps, app_id], hash_buckets: 64}
model: {mode: wide_deep, hidden: [7, 5], batch_size: 16, interaction: cross, cross_layers: 3}
`,
	"wide, interaction cross (unused)": `
features:
  - {name: app_id, type: categorical, wide: true, embedding_dim: 4, max_size: 11}
  - {name: app_rating, type: numeric, wide: true, quantiles: 9}
model: {mode: wide, hidden: [8], batch_size: 8, interaction: cross}
`,
}

// sizeExamples draws from 100 apps and 10 countries, enough to fill every
// max_size above.
func sizeExamples(rng *rand.Rand, n int) []schemas.Example {
	exs := make([]schemas.Example, n)
	for i := range exs {
		inst := make([]string, rng.IntN(7))
		for j := range inst {
			inst[j] = fmt.Sprint("app", rng.IntN(100))
		}
		exs[i] = schemas.Example{
			Impression: schemas.Impression{
				ImpressionID: fmt.Sprint("i", i), TS: int64(i), UserID: "u", AppID: fmt.Sprint("app", rng.IntN(100)),
				Features: map[string]schemas.Value{
					"country":        schemas.String(fmt.Sprint("c", rng.IntN(10))),
					"installed_apps": schemas.Strings(inst),
					"app_rating":     schemas.Number(1 + 4*rng.Float64()),
					"position":       schemas.Number(float64(1 + rng.IntN(10))),
				},
			},
			Label: int32(rng.IntN(2)),
		}
	}
	return exs
}

// spec.ModelSize counts the parameters and bytes the trainer allocates:
// exactly for a fresh model (every vocabulary at its OOV rows), exactly
// again once training has filled every max_size (tables grown batch by
// batch reserve no capacity beyond their ceiling), and by Growth's bytes
// per admitted string for a vocabulary without max_size.
func TestModelSizeMatchesAllocation(t *testing.T) {
	for name, y := range sizeSpecs {
		t.Run(name, func(t *testing.T) {
			sp, err := spec.Parse("size.yaml", []byte("version: 1\n"+y))
			if err != nil {
				t.Fatal(err)
			}
			z := sp.ModelSize()
			st, err := featurize.New(sp, featurize.Options{})
			if err != nil {
				t.Fatal(err)
			}
			st.RefreshBoundaries()
			m, err := NewModel(sp, st.Layout())
			if err != nil {
				t.Fatal(err)
			}
			// A fresh model holds the OOV rows of every vocabulary: what
			// ModelSize counts for the spec without max_size.
			noMax := *sp
			noMax.Features = slices.Clone(sp.Features)
			for i := range noMax.Features {
				noMax.Features[i].MaxSize = 0
			}
			zf := noMax.ModelSize()
			if params, bytes := allocated(m); params != zf.Params || bytes != zf.ParamBytes {
				t.Errorf("fresh model: %d params, %d bytes; ModelSize says %d and %d", params, bytes, zf.Params, zf.ParamBytes)
			}

			// Train batch by batch until every vocabulary with max_size is
			// full.
			tr := NewTrainer(m, 2)
			rng := rand.New(rand.NewPCG(7, 7))
			var b featurize.Batch
			for range 50 {
				if err := st.FitTransform(&b, sizeExamples(rng, sp.Model.BatchSize)); err != nil {
					t.Fatal(err)
				}
				tr.Step(&b, nil)
			}
			var extra int64 // bytes of strings admitted beyond ModelSize's rows
			for _, g := range z.Growth {
				extra += int64(st.Vocab(g.Feature).Len()) * g.BytesPerString
			}
			for _, f := range sp.Features {
				if v := st.Vocab(f.Name); v != nil && f.MaxSize > 0 && v.Len() != f.MaxSize {
					t.Fatalf("%s: %d strings admitted, want max_size %d (the test data must fill it)", f.Name, v.Len(), f.MaxSize)
				}
			}
			if extra == 0 {
				params, bytes := allocated(m)
				if params != z.Params || bytes != z.ParamBytes {
					t.Errorf("trained model: %d params, %d bytes; ModelSize says %d and %d", params, bytes, z.Params, z.ParamBytes)
				}
			} else {
				// Capacity may run ahead of the rows of a vocabulary
				// without max_size; lengths may not.
				if got, want := lenBytes(m), z.ParamBytes+extra; got != want {
					t.Errorf("trained model: %d bytes in use; ModelSize's %d plus growth %d = %d", got, z.ParamBytes, extra, want)
				}
			}

			// The tower's gradients are the share ModelSize says, and one
			// batch's tower buffers, featurized batch and gradients fit in
			// BatchBytes.
			var grads int64
			for _, p := range z.Parts {
				if p.What == "the tower's gradients" {
					grads = p.Bytes
				}
			}
			var wk *mlpWork
			if m.tower != nil {
				wk = tr.workers[0].wk
				if wk == nil {
					wk = tr.whole
				}
				var n int64
				for l := range wk.dW {
					n += 4 * int64(len(wk.dW[l])+len(wk.dB[l]))
				}
				if n != grads {
					t.Errorf("tower gradients: %d bytes, ModelSize says %d", n, grads)
				}
			} else if grads != 0 {
				t.Errorf("no tower, but ModelSize counts %d bytes of its gradients", grads)
			}
			// The cross layers' gradients likewise.
			var crossGrads int64
			for _, p := range z.Parts {
				if p.What == "the cross layers' gradients" {
					crossGrads = p.Bytes
				}
			}
			var cw *crossWork
			if m.cross != nil {
				cw = tr.crossGrads(tr.workers[0])
				var n int64
				for l := range cw.dW {
					n += 4 * int64(len(cw.dW[l])+len(cw.dB[l]))
				}
				if n != crossGrads {
					t.Errorf("cross layers' gradients: %d bytes, ModelSize says %d", n, crossGrads)
				}
			} else if crossGrads != 0 {
				t.Errorf("no cross layers, but ModelSize counts %d bytes of their gradients", crossGrads)
			}
			if got := batchBytes(&b, wk) + crossBytes(cw); got > z.BatchBytes {
				t.Errorf("one batch's buffers take %d bytes, above ModelSize's bound %d", got, z.BatchBytes)
			}
		})
	}
}

// lenBytes is allocated by length rather than capacity.
func lenBytes(m *Model) int64 {
	n := int64(8)
	for k := range m.Wide {
		n += 12 * int64(m.Wide[k].Len())
	}
	for f := range m.Emb {
		n += 8 * int64(len(m.Emb[f].W))
	}
	if m.tower != nil {
		for l := range m.tower.w {
			n += 8 * int64(len(f32(m.tower.w[l]))+len(f32(m.tower.b[l])))
		}
	}
	if m.cross != nil {
		n += 8 * int64(m.cross.params())
	}
	return n
}

// crossBytes is what the cross layers' buffers hold (0 for nil).
func crossBytes(cw *crossWork) int64 {
	if cw == nil {
		return 0
	}
	n := 4 * int64(cap(cw.du)+cap(cw.dx0)+cap(cw.ones))
	for l := range cw.x {
		n += 4 * int64(cap(cw.x[l])+cap(cw.u[l]))
	}
	for l := range cw.dW {
		n += 4 * int64(len(cw.dW[l])+len(cw.dB[l]))
	}
	return n
}

// batchBytes is what a featurized batch and the tower's buffers hold.
func batchBytes(b *featurize.Batch, wk *mlpWork) int64 {
	n := 4*int64(cap(b.Labels)+cap(b.WideOffsets)+cap(b.WideSlots)+cap(b.WideIDs)+cap(b.WideValues)+cap(b.Dense)) +
		16*int64(cap(b.ImpressionIDs)) + 8*int64(cap(b.TS))
	for _, d := range b.Deep {
		n += 4 * int64(cap(d.IDs)+cap(d.Offsets))
	}
	if wk != nil {
		for l := range wk.act {
			n += 4 * int64(cap(wk.act[l])+cap(wk.dAct[l]))
		}
		for l := range wk.dW {
			n += 4 * int64(len(wk.dW[l])+len(wk.dB[l]))
		}
	}
	return n
}
