package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas/spec"
)

// Model is a Wide & Deep model: the wide part's FTRL tables (one per wide
// slot of the featurizer's layout), the deep part's embedding tables (one
// per deep categorical field), interaction (spec model.interaction: none,
// dot products or cross layers; see interact.go) and ReLU tower, and the
// shared bias. Tables grow as the vocabularies do; new rows start as
// documented on Embedding.
type Model struct {
	Mode   spec.Mode
	Layout featurize.Layout

	Wide []FTRLTable // per Layout.Wide slot
	Emb  []Embedding // per Layout.Deep field
	// Bias is the shared bias b of sigmoid(wide + deep + b), trained with
	// AdaGrad in every mode.
	Bias    float32
	BiasAcc float32
	// LogitOffset is added to the logit when scoring, never in training:
	// log r for negative sampling at rate r (spec
	// model.negative_sampling; 0 without sampling), so that the scores of
	// a model trained on the sample are calibrated on all the data (see
	// Keep).
	LogitOffset float32

	tower    *mlp
	denseDim int
	inDim    int // x0's width: embedding dims then dense columns
	ftrl     FTRL
	ada      AdaGrad
	seed     uint64

	// The deep part's interaction (interact.go; none without a deep
	// part). xDim is the tower's input width: inDim, plus interaction
	// dot's pairs products.
	interaction spec.Interaction
	xDim        int
	pairs       int       // len(dot)
	dot         []dotPair // interaction dot's pairs
	cross       *crossNet // interaction cross's layers
}

// Embedding is one deep field's table: Rows x Dim weights with their
// AdaGrad accumulators. A row added when the vocabulary grows is initialized
// uniformly in ±sqrt(3/Dim) (variance 1/Dim, TensorFlow's embedding scale)
// from a hash of (model seed, field, row), so it does not depend on when or
// in which order rows were added; its accumulators start at the AdaGrad
// initial value.
type Embedding struct {
	Dim int
	W   []float32
	Acc []float32
}

// Rows is the number of rows.
func (e *Embedding) Rows() int { return len(e.W) / e.Dim }

// NewModel builds a model for a featurizer layout and the spec's model
// section, with fresh weights drawn from seed. The first model (or Trainer)
// of the process selects the build's BLAS (see BLAS).
func NewModel(sp *spec.Spec, layout featurize.Layout) (*Model, error) {
	useBuildBLAS()
	mc := sp.Model
	m := &Model{
		Mode:   mc.Mode,
		Layout: layout,
		ftrl: FTRL{Alpha: float32(mc.FTRL.Alpha), Beta: float32(mc.FTRL.Beta),
			L1: float32(mc.FTRL.L1), L2: float32(mc.FTRL.L2)},
		ada:         AdaGrad{LearningRate: float32(mc.AdaGrad.LearningRate), InitialAccumulator: float32(mc.AdaGrad.InitialAccumulator)},
		seed:        uint64(mc.Seed),
		BiasAcc:     float32(mc.AdaGrad.InitialAccumulator),
		LogitOffset: float32(math.Log(mc.NegativeSampling.Rate())),
	}
	if m.ada.LearningRate <= 0 || m.ada.InitialAccumulator <= 0 || m.ftrl.Alpha <= 0 {
		return nil, fmt.Errorf("model: optimizer settings must be positive (adagrad learning_rate %g, initial_accumulator %g, ftrl alpha %g)",
			m.ada.LearningRate, m.ada.InitialAccumulator, m.ftrl.Alpha)
	}
	switch m.Mode {
	case spec.ModeWide, spec.ModeDeep, spec.ModeWideDeep:
	default:
		return nil, fmt.Errorf("model: unknown mode %q (want wide, deep or wide_deep)", m.Mode)
	}
	m.Wide = make([]FTRLTable, len(layout.Wide))
	for _, d := range layout.Deep {
		if d.EmbeddingDim <= 0 {
			return nil, fmt.Errorf("model: field %q: embedding dim %d must be > 0", d.Name, d.EmbeddingDim)
		}
		m.Emb = append(m.Emb, Embedding{Dim: d.EmbeddingDim})
		m.inDim += d.EmbeddingDim
	}
	m.denseDim = len(layout.Dense)
	m.inDim += m.denseDim
	if m.usesDeep() {
		if m.inDim == 0 {
			return nil, fmt.Errorf("model: mode %s needs deep inputs, the spec has none", m.Mode)
		}
		xDim, err := m.setInteraction(&mc)
		if err != nil {
			return nil, err
		}
		m.xDim = xDim
		rng := rand.New(rand.NewPCG(m.seed, 0x746f776572)) // "tower"
		m.tower = newMLP(m.xDim, mc.Hidden, m.ada.InitialAccumulator, rng)
	} else {
		m.interaction = spec.InteractionNone
	}
	m.grow(layout)
	return m, nil
}

func (m *Model) usesWide() bool { return m.Mode != spec.ModeDeep }
func (m *Model) usesDeep() bool { return m.Mode != spec.ModeWide }

// grow makes every table hold the current sizes of the layout.
func (m *Model) grow(layout featurize.Layout) {
	for k, s := range layout.Wide {
		m.Wide[k].grow(s.Size(), s.SizeLimit())
	}
	for f, d := range layout.Deep {
		m.growEmb(f, d.Size())
	}
}

// growTo makes the tables hold the ids of batch b.
func (m *Model) growTo(b *featurize.Batch) {
	for k, n := range b.WideSizes {
		m.Wide[k].grow(int(n), m.Layout.Wide[k].SizeLimit())
	}
	for f := range b.Deep {
		m.growEmb(f, int(b.Deep[f].Size))
	}
}

func (m *Model) growEmb(f, rows int) {
	e := &m.Emb[f]
	old := e.Rows()
	if rows <= old {
		return
	}
	ceil := m.Layout.Deep[f].SizeLimit() * e.Dim
	e.W = growZero(e.W, rows*e.Dim, ceil)
	e.Acc = growZero(e.Acc, rows*e.Dim, ceil)
	for r := old; r < rows; r++ {
		m.resetRow(f, r)
	}
}

// resetRow puts row r of deep field f at its initial values: the weights
// from the row's seed, the accumulators at AdaGrad's initial value.
func (m *Model) resetRow(f, r int) {
	e := &m.Emb[f]
	m.initRow(e.W[r*e.Dim:(r+1)*e.Dim], f, r, math.Sqrt(3/float64(e.Dim)))
	acc := e.Acc[r*e.Dim : (r+1)*e.Dim]
	for i := range acc {
		acc[i] = m.ada.InitialAccumulator
	}
}

// initRow fills one embedding row from a counter-based generator keyed by
// (seed, field, row), uniform in ±limit.
func (m *Model) initRow(dst []float32, field, row int, limit float64) {
	rng := rand.New(rand.NewPCG(m.seed^uint64(field+1)*0x9e3779b97f4a7c15, uint64(row)))
	for i := range dst {
		dst[i] = float32((rng.Float64()*2 - 1) * limit)
	}
}

// Params is the number of trainable parameters (weights, not optimizer
// state).
func (m *Model) Params() int {
	n := 1
	for k := range m.Wide {
		n += m.Wide[k].Len()
	}
	for f := range m.Emb {
		n += len(m.Emb[f].W)
	}
	if m.tower != nil {
		for l := range m.tower.w {
			n += len(f32(m.tower.w[l])) + len(f32(m.tower.b[l]))
		}
	}
	if m.cross != nil {
		n += m.cross.params()
	}
	return n
}

// TowerFLOPs is the FLOPs of one example's forward pass through the deep
// part's dense layers: the tower, and the interaction's products.
func (m *Model) TowerFLOPs() float64 {
	if m.tower == nil {
		return 0
	}
	return m.tower.flops() + m.interactionFLOPs()
}

// interactionFLOPs is the FLOPs of one example's interaction (0 for none).
func (m *Model) interactionFLOPs() float64 {
	if m.cross != nil {
		return m.cross.flops()
	}
	return m.dotFLOPs()
}
