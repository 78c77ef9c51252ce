package trainer

import "github.com/wdstream/wdstream/featurize"

// Forget puts the rows of ids a vocabulary evicted (featurize.State.Expire)
// back to their initial values, so that a string admitted later into a
// reused id starts as a string new to the model: its wide weights and their
// FTRL state at zero, its embedding row drawn again from the row's seed
// (the same values as when the row was first added) with its AdaGrad
// accumulators at the initial value. Rows the tables have not grown to yet
// are skipped (they start fresh when added). It returns the rows reset.
// Like a training step, it needs exclusive access to the model.
func (m *Model) Forget(ev []featurize.Expired) int {
	n := 0
	for _, e := range ev {
		if k := e.WideSlot; k >= 0 && k < len(m.Wide) {
			t := &m.Wide[k]
			for _, id := range e.IDs {
				if i := int(id); i >= 0 && i < len(t.W) {
					t.W[i], t.Z[i], t.N[i] = 0, 0, 0
					n++
				}
			}
		}
		if f := e.DeepField; f >= 0 && f < len(m.Emb) {
			rows := m.Emb[f].Rows()
			for _, id := range e.IDs {
				if r := int(id); r >= 0 && r < rows {
					m.resetRow(f, r)
					n++
				}
			}
		}
	}
	return n
}
