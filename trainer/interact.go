package trainer

import (
	"fmt"
	"math/rand/v2"

	"github.com/wdstream/wdstream/schemas/spec"
)

// The deep part's explicit interactions (spec model.interaction, beyond the
// paper). The tower's input row x0 is the deep fields' pooled embeddings in
// Layout.Deep order, then the dense columns: inDim values.
//
// Interaction dot appends the dot products of the pairs of fields whose
// embeddings e_f, e_g have the same dimension (all F(F-1)/2 pairs when
// every field has one dimension) to x0, in the order (0,1), (0,2), ...,
// (0,F-1), (1,2), ..., (F-2,F-1), skipping pairs of unequal dimensions:
//
//	p_fg = e_f · e_g = sum_j e_f[j] e_g[j]
//
// so the tower's input is inDim + len(dot) wide. With q_fg = dL/dp_fg (the
// tower's input gradient at that column), the gradients the embeddings
// receive besides their own columns' are
//
//	dL/de_f += q_fg e_g ;  dL/de_g += q_fg e_f
//
// Interaction cross runs x0 through the cross layers (see crossNet) and
// feeds their output, of the same width, to the tower.

// setInteraction sets up the interaction of the spec's model section for
// a model whose deep part exists (inDim set) and returns the width of the
// tower's input. With interaction none it changes nothing: the tower's
// input is x0, and no random numbers are drawn.
func (m *Model) setInteraction(mc *spec.Model) (int, error) {
	m.interaction = mc.Interaction.OrNone()
	switch m.interaction {
	case spec.InteractionNone:
		return m.inDim, nil
	case spec.InteractionDot:
		off := 0
		offs := make([]int, len(m.Emb))
		for f := range m.Emb {
			offs[f] = off
			off += m.Emb[f].Dim
		}
		m.dot = m.dot[:0]
		for a := range m.Emb {
			for b := a + 1; b < len(m.Emb); b++ {
				if m.Emb[a].Dim == m.Emb[b].Dim {
					m.dot = append(m.dot, dotPair{a: offs[a], b: offs[b], dim: m.Emb[a].Dim})
				}
			}
		}
		if len(m.dot) == 0 {
			return 0, fmt.Errorf("model: interaction dot needs two deep categorical fields of the same embedding dim, the layout has none (%d fields)", len(m.Emb))
		}
		m.pairs = len(m.dot)
		return m.inDim + m.pairs, nil
	case spec.InteractionCross:
		n := mc.CrossLayerCount()
		if n < 1 || n > spec.MaxCrossLayers {
			return 0, fmt.Errorf("model: cross_layers %d out of [1, %d]", n, spec.MaxCrossLayers)
		}
		rng := rand.New(rand.NewPCG(m.seed, 0x63726f7373)) // "cross"
		m.cross = newCrossNet(m.inDim, n, m.ada.InitialAccumulator, rng)
		return m.inDim, nil
	}
	return 0, fmt.Errorf("model: unknown interaction %q (want none, dot or cross)", mc.Interaction)
}

// Interaction is the model's interaction: none, dot or cross (none when the
// model has no deep part).
func (m *Model) Interaction() spec.Interaction { return m.interaction }

// dotPair is one dot product of interaction dot: the embeddings at
// columns a and b of x0, dim values each.
type dotPair struct{ a, b, dim int }

// dotForward writes the dot products of the fields' embeddings of every row
// of x (rows of m.xDim values, the embeddings already gathered) into the
// row's last m.pairs columns.
func (m *Model) dotForward(x []float32) {
	for r := 0; r+m.xDim <= len(x); r += m.xDim {
		row := x[r : r+m.xDim]
		p := row[m.inDim:]
		for i, d := range m.dot {
			ea, eb := row[d.a:d.a+d.dim], row[d.b:d.b+d.dim]
			eb = eb[:len(ea)]
			var s float32
			for j, v := range ea {
				s += v * eb[j]
			}
			p[i] = s
		}
	}
}

// dotBackward adds the dot products' share of the gradient to the
// embeddings' columns of dx (the gradient w.r.t. the tower's input, rows of
// m.xDim values), given x, the input of the last forward pass.
func (m *Model) dotBackward(x, dx []float32) {
	for r := 0; r+m.xDim <= len(dx); r += m.xDim {
		row, drow := x[r:r+m.xDim], dx[r:r+m.xDim]
		q := drow[m.inDim:]
		for i, d := range m.dot {
			g := q[i]
			if g == 0 {
				continue
			}
			ea, da := row[d.a:d.a+d.dim], drow[d.a:d.a+d.dim]
			eb, db := row[d.b:d.b+d.dim], drow[d.b:d.b+d.dim]
			eb, db, da = eb[:len(ea)], db[:len(ea)], da[:len(ea)]
			for j, v := range ea {
				da[j] += g * eb[j]
				db[j] += g * v
			}
		}
	}
}

// dotFLOPs is the FLOPs of one example's dot products.
func (m *Model) dotFLOPs() float64 {
	var n float64
	for _, d := range m.dot {
		n += 2 * float64(d.dim)
	}
	return n
}
