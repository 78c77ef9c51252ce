package trainer

import (
	"encoding/json"
	"fmt"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer/safetensors"
)

// The weights file is a safetensors file (package safetensors) holding every
// parameter and its optimizer state, all F32, so that training continues
// exactly from it and tools outside Go can score with it:
//
//	bias                 [1]          the shared bias b
//	bias.acc             [1]          its AdaGrad accumulator
//	wide/SLOT/w          [rows]       FTRL weights of wide slot SLOT
//	wide/SLOT/z, /n      [rows]       FTRL state
//	emb/FIELD/w          [rows, dim]  embedding table of deep field FIELD
//	emb/FIELD/acc        [rows, dim]  AdaGrad accumulators
//	tower/L/w            [in, out]    layer L's weights (row-major, x·W)
//	tower/L/b            [out]        layer L's bias
//	tower/L/w.acc, /b.acc             AdaGrad accumulators
//	cross/L/w            [d, d]       cross layer L's weights (row-major, x·W)
//	cross/L/b            [d]          cross layer L's bias
//	cross/L/w.acc, /b.acc             AdaGrad accumulators
//
// Row r of a wide or embedding table is id r of the featurizer's slot or
// field (package featurize). x0 is the deep fields' pooled embeddings in
// Layout.Deep order, then the dense columns (d values). The tower's input
// is x0, except with an interaction (ModelMeta.Interaction, spec key
// model.interaction): with dot, x0 followed by the dot products of the
// fields' embeddings, pairs (0,1), (0,2) ... (0,F-1), (1,2) ... (F-2,F-1)
// but those of unequal embedding dims;
// with cross, x_L of the cross layers x_{l+1} = x0 ⊙ (x_l·W_l + b_l) + x_l
// from x_0 = x0 (⊙ element-wise). The tower's layers 0..L-2 are ReLU, the
// last is linear with one output. The probability is
// sigmoid(wide + tower + bias + logit_offset), where wide = sum of
// wide/SLOT/w[id] over the example's wide ids (absent in mode deep), tower
// is absent in mode wide, and logit_offset is ModelMeta.LogitOffset (log of
// the negative sampling rate the model was trained with; 0 when absent).
// The metadata key "wdstream.model" holds a JSON ModelMeta.

// ModelFormat is the version of the weights layout above for a model
// without an interaction: such files are byte for byte what format 1 has
// always been.
const ModelFormat = 1

// ModelFormatInteraction is the version of a model with an interaction (dot
// or cross): a reader of format 1 would score it wrongly (dot products it
// does not compute, cross layers it skips), so it must refuse it.
const ModelFormatInteraction = 2

// ModelFormatOffset is the version of a model with a logit offset
// (negative sampling), with or without an interaction: a reader of formats
// 1 and 2 would score it without the offset, uncalibrated, so it must
// refuse it.
const ModelFormatOffset = 3

// ModelMeta describes a weights file.
type ModelMeta struct {
	Format int         `json:"format"`
	Mode   spec.Mode   `json:"mode"`
	Hidden []int       `json:"hidden"`
	Wide   []SlotMeta  `json:"wide"`
	Deep   []FieldMeta `json:"deep"`
	Dense  []string    `json:"dense"`
	Params int         `json:"params"`

	// Interaction is dot or cross, absent for none; CrossLayers is the
	// number of cross layers, absent unless cross.
	Interaction spec.Interaction `json:"interaction,omitempty"`
	CrossLayers int              `json:"cross_layers,omitempty"`
	// LogitOffset is Model.LogitOffset, added to the logit when scoring;
	// absent when 0 (no negative sampling, and every file before it).
	LogitOffset float64 `json:"logit_offset,omitempty"`
}

// SlotMeta is one wide slot as written.
type SlotMeta struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Rows int    `json:"rows"`
}

// FieldMeta is one deep field as written.
type FieldMeta struct {
	Name     string        `json:"name"`
	Dim      int           `json:"dim"`
	Multi    bool          `json:"multi"`
	Combiner spec.Combiner `json:"combiner"`
	Rows     int           `json:"rows"`
}

// Meta describes the model as EncodeWeights writes it.
func (m *Model) Meta() ModelMeta {
	meta := ModelMeta{Format: ModelFormat, Mode: m.Mode, Dense: m.Layout.Dense, Params: m.Params()}
	if m.tower != nil {
		meta.Hidden = m.tower.sizes[1 : len(m.tower.sizes)-1]
	}
	if m.interaction != spec.InteractionNone {
		meta.Format, meta.Interaction = ModelFormatInteraction, m.interaction
	}
	if m.cross != nil {
		meta.CrossLayers = len(m.cross.w)
	}
	if m.LogitOffset != 0 {
		meta.Format, meta.LogitOffset = ModelFormatOffset, float64(m.LogitOffset)
	}
	for k, s := range m.Layout.Wide {
		meta.Wide = append(meta.Wide, SlotMeta{Name: s.Name, Kind: s.Kind.String(), Rows: m.Wide[k].Len()})
	}
	for f, d := range m.Layout.Deep {
		meta.Deep = append(meta.Deep, FieldMeta{Name: d.Name, Dim: d.EmbeddingDim, Multi: d.Multi, Combiner: d.Combiner, Rows: m.Emb[f].Rows()})
	}
	return meta
}

// EncodeWeights writes the model in the safetensors layout above.
func (m *Model) EncodeWeights() ([]byte, error) {
	meta, err := json.Marshal(m.Meta())
	if err != nil {
		return nil, err
	}
	ts := []safetensors.Tensor{
		safetensors.F32Tensor("bias", []float32{m.Bias}, 1),
		safetensors.F32Tensor("bias.acc", []float32{m.BiasAcc}, 1),
	}
	for k, s := range m.Layout.Wide {
		t := &m.Wide[k]
		p := "wide/" + s.Name
		ts = append(ts,
			safetensors.F32Tensor(p+"/w", t.W, len(t.W)),
			safetensors.F32Tensor(p+"/z", t.Z, len(t.Z)),
			safetensors.F32Tensor(p+"/n", t.N, len(t.N)))
	}
	for f, d := range m.Layout.Deep {
		e := &m.Emb[f]
		p := "emb/" + d.Name
		ts = append(ts,
			safetensors.F32Tensor(p+"/w", e.W, e.Rows(), e.Dim),
			safetensors.F32Tensor(p+"/acc", e.Acc, e.Rows(), e.Dim))
	}
	if m.tower != nil {
		for l := range m.tower.w {
			in, out := m.tower.sizes[l], m.tower.sizes[l+1]
			p := fmt.Sprintf("tower/%d", l)
			ts = append(ts,
				safetensors.F32Tensor(p+"/w", f32(m.tower.w[l]), in, out),
				safetensors.F32Tensor(p+"/b", f32(m.tower.b[l]), out),
				safetensors.F32Tensor(p+"/w.acc", m.tower.wAcc[l], in, out),
				safetensors.F32Tensor(p+"/b.acc", m.tower.bAcc[l], out))
		}
	}
	if c := m.cross; c != nil {
		for l := range c.w {
			p := fmt.Sprintf("cross/%d", l)
			ts = append(ts,
				safetensors.F32Tensor(p+"/w", c.w[l], c.d, c.d),
				safetensors.F32Tensor(p+"/b", c.b[l], c.d),
				safetensors.F32Tensor(p+"/w.acc", c.wAcc[l], c.d, c.d),
				safetensors.F32Tensor(p+"/b.acc", c.bAcc[l], c.d))
		}
	}
	return safetensors.Encode(ts, map[string]string{"wdstream.model": string(meta), "format": "wdstream"})
}

// DecodeWeights rebuilds a model saved by EncodeWeights for the spec and
// featurizer layout it was trained with. Every tensor must be present with
// the shape the layout implies; an error names the tensor at fault. The
// logit offset is the file's (0 when it has none).
func DecodeWeights(b []byte, sp *spec.Spec, layout featurize.Layout) (*Model, error) {
	f, err := safetensors.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	m, err := NewModel(sp, layout)
	if err != nil {
		return nil, err
	}
	var meta ModelMeta
	if err := json.Unmarshal([]byte(f.Metadata["wdstream.model"]), &meta); err != nil {
		return nil, fmt.Errorf("weights: metadata wdstream.model: %w", err)
	}
	if meta.Format < ModelFormat || meta.Format > ModelFormatOffset {
		return nil, fmt.Errorf("weights: format %d, this build reads %d to %d", meta.Format, ModelFormat, ModelFormatOffset)
	}
	if meta.Mode != m.Mode {
		return nil, fmt.Errorf("weights: trained in mode %s, the spec says %s", meta.Mode, m.Mode)
	}
	if got := meta.Interaction.OrNone(); got != m.interaction {
		return nil, fmt.Errorf("weights: trained with interaction %s, the spec's model.interaction gives %s", got, m.interaction)
	}
	m.LogitOffset = float32(meta.LogitOffset)
	ld := loader{f: f}
	bias := ld.vec("bias", 1)
	biasAcc := ld.vec("bias.acc", 1)
	if ld.err == nil {
		m.Bias, m.BiasAcc = bias[0], biasAcc[0]
	}
	for k, s := range layout.Wide {
		p := "wide/" + s.Name
		w := ld.vec(p+"/w", -1)
		t := FTRLTable{W: w, Z: ld.vec(p+"/z", len(w)), N: ld.vec(p+"/n", len(w))}
		if ld.err == nil && len(w) < s.Size() {
			t.grow(s.Size(), s.SizeLimit())
		}
		m.Wide[k] = t
	}
	for j, d := range layout.Deep {
		p := "emb/" + d.Name
		w := ld.mat(p+"/w", -1, d.EmbeddingDim)
		acc := ld.mat(p+"/acc", len(w)/max(d.EmbeddingDim, 1), d.EmbeddingDim)
		if ld.err == nil {
			m.Emb[j].W, m.Emb[j].Acc = w, acc
			m.growEmb(j, d.Size())
		}
	}
	if m.tower != nil {
		for l := range m.tower.w {
			in, out := m.tower.sizes[l], m.tower.sizes[l+1]
			p := fmt.Sprintf("tower/%d", l)
			copy(f32(m.tower.w[l]), ld.mat(p+"/w", in, out))
			copy(f32(m.tower.b[l]), ld.vec(p+"/b", out))
			copy(m.tower.wAcc[l], ld.mat(p+"/w.acc", in, out))
			copy(m.tower.bAcc[l], ld.vec(p+"/b.acc", out))
		}
		if n := len(m.tower.w); ld.err == nil && f.Tensors[fmt.Sprintf("tower/%d/w", n)] != nil {
			return nil, fmt.Errorf("weights: tensor tower/%d/w: the file has more layers than the spec's hidden %v", n, sp.Model.Hidden)
		}
	}
	var crossLayers int
	if c := m.cross; c != nil {
		crossLayers = len(c.w)
		for l := range c.w {
			p := fmt.Sprintf("cross/%d", l)
			copy(c.w[l], ld.mat(p+"/w", c.d, c.d))
			copy(c.b[l], ld.vec(p+"/b", c.d))
			copy(c.wAcc[l], ld.mat(p+"/w.acc", c.d, c.d))
			copy(c.bAcc[l], ld.vec(p+"/b.acc", c.d))
		}
	}
	if ld.err == nil && f.Tensors[fmt.Sprintf("cross/%d/w", crossLayers)] != nil {
		return nil, fmt.Errorf("weights: tensor cross/%d/w: the file has more cross layers than the spec's %d", crossLayers, crossLayers)
	}
	if ld.err != nil {
		return nil, fmt.Errorf("weights: %w", ld.err)
	}
	return m, nil
}

// loader reads tensors, keeping the first error.
type loader struct {
	f   *safetensors.File
	err error
}

// vec reads a 1-D F32 tensor of n elements (any length when n < 0).
func (l *loader) vec(name string, n int) []float32 {
	v := l.get(name, 1)
	if v == nil {
		return nil
	}
	if n >= 0 && len(v) != n {
		l.err = fmt.Errorf("tensor %s: %d values, want %d", name, len(v), n)
		return nil
	}
	return v
}

// mat reads a 2-D F32 tensor of rows x cols (any rows when rows < 0).
func (l *loader) mat(name string, rows, cols int) []float32 {
	if l.err != nil {
		return nil
	}
	t, ok := l.f.Tensors[name]
	if !ok {
		l.err = fmt.Errorf("tensor %s: missing", name)
		return nil
	}
	if len(t.Shape) != 2 || t.Shape[1] != cols || (rows >= 0 && t.Shape[0] != rows) {
		l.err = fmt.Errorf("tensor %s: shape %v, want [%s, %d]", name, t.Shape, rowsText(rows), cols)
		return nil
	}
	return l.get(name, 2)
}

func rowsText(rows int) string {
	if rows < 0 {
		return "rows"
	}
	return fmt.Sprint(rows)
}

func (l *loader) get(name string, dims int) []float32 {
	if l.err != nil {
		return nil
	}
	t, ok := l.f.Tensors[name]
	if !ok {
		l.err = fmt.Errorf("tensor %s: missing", name)
		return nil
	}
	if len(t.Shape) != dims {
		l.err = fmt.Errorf("tensor %s: %d dimensions, want %d", name, len(t.Shape), dims)
		return nil
	}
	v, err := t.Float32s()
	if err != nil {
		l.err = err
		return nil
	}
	return v
}
