package featurize

import (
	"fmt"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// SlotKind is what a wide slot's ids mean.
type SlotKind uint8

const (
	// SlotCategorical: ids are the feature's vocabulary ids (OOV ids first,
	// admitted strings after); the id space grows with the vocabulary.
	SlotCategorical SlotKind = iota + 1
	// SlotBucketized: id 0 is a missing value, id 1+b the b-th quantile
	// bucket; the id space is fixed at 1+quantiles.
	SlotBucketized
	// SlotCross: ids are hashed into [0, hash_buckets); fixed.
	SlotCross
)

// String returns the kind's name as the weights metadata writes it:
// categorical, bucketized or cross (kind-N for another value).
func (k SlotKind) String() string {
	switch k {
	case SlotCategorical:
		return "categorical"
	case SlotBucketized:
		return "bucketized"
	case SlotCross:
		return "cross"
	}
	return fmt.Sprintf("kind-%d", uint8(k))
}

// WideSlot describes one input of the wide part, with its own id space.
type WideSlot struct {
	Name  string
	Kind  SlotKind
	vocab *Vocab
	size  int
}

// Size is the current number of ids of the slot: a categorical slot grows
// as its vocabulary admits strings; the others are fixed.
func (w WideSlot) Size() int {
	if w.vocab != nil {
		return w.vocab.Size()
	}
	return w.size
}

// SizeLimit is the most ids the slot can ever have, or 0 when its
// vocabulary has no max_size: a table indexed by the slot's ids never needs
// more rows.
func (w WideSlot) SizeLimit() int {
	if w.vocab != nil {
		return w.vocab.SizeLimit()
	}
	return w.size
}

// DeepInput describes one categorical field of the deep part.
type DeepInput struct {
	Name         string
	Multi        bool // a categorical_list: offsets plus ids
	Combiner     spec.Combiner
	EmbeddingDim int
	vocab        *Vocab
}

// Size is the current number of ids (embedding rows) of the field.
func (d DeepInput) Size() int { return d.vocab.Size() }

// SizeLimit is the most ids the field can ever have, or 0 when its
// vocabulary has no max_size.
func (d DeepInput) SizeLimit() int { return d.vocab.SizeLimit() }

// Layout describes what the batches of a State hold, in order: the wide
// slots (Batch.WideSlots values index it), the deep categorical fields
// (Batch.Deep has one per entry) and the dense columns (Batch.Dense's
// columns). It is fixed for the life of a State; only the Sizes grow.
type Layout struct {
	Wide  []WideSlot
	Deep  []DeepInput
	Dense []string
}

// Layout returns the State's batch layout.
func (s *State) Layout() Layout {
	return Layout{
		Wide:  append([]WideSlot(nil), s.wide...),
		Deep:  append([]DeepInput(nil), s.deep...),
		Dense: append([]string(nil), s.dense...),
	}
}

// Batch is one mini-batch of model inputs in the layout of the package doc.
// A Batch is reused across Transform calls: Reset (which Transform calls)
// keeps the capacity of every slice, so the steady state allocates nothing.
// Strings in ImpressionIDs alias the examples' strings.
type Batch struct {
	N int // examples

	Labels        []float32 // N
	ImpressionIDs []string  // N
	TS            []int64   // N, Unix milliseconds

	// The wide part, CSR: example i's entries are
	// [WideOffsets[i], WideOffsets[i+1]) of WideSlots, WideIDs, WideValues.
	WideOffsets []int32 // N+1
	WideSlots   []int32 // index into Layout.Wide
	WideIDs     []int32 // id within the slot's own id space
	WideValues  []float32
	// WideSizes[k] is Layout.Wide[k].Size() at the end of the batch: every
	// id of slot k in this batch is below it.
	WideSizes []int32

	// Deep holds one field per Layout.Deep entry.
	Deep []DeepField

	// Dense is the N x DenseDim row-major matrix of normalized numeric
	// features, columns in Layout.Dense order, every value in [0,1].
	Dense    []float32
	DenseDim int

	vals      []schemas.Value // one example's feature values
	oovCounts []uint64        // per categorical feature, flushed to the Vocab after Transform
	cutCounts []uint64        // per categorical feature: elements and lists cut by max_length, flushed after Transform
	scratch   []uint64        // cross hashes
	crossOff  []int           // per cross column: start in scratch
	numBuf    [32]byte
}

// DeepField is one deep categorical field of a batch. A single-valued field
// has one id per example in IDs and nil Offsets. A multi-valued field has
// example i's ids in IDs[Offsets[i]:Offsets[i+1]]; an empty range (an empty
// or missing list) means the pooled embedding is the zero vector.
type DeepField struct {
	Offsets []int32
	IDs     []int32
	// Size is the field's vocabulary size at the end of the batch: every id
	// in IDs is below it.
	Size int32
}

// Reset empties the batch and keeps its capacity.
func (b *Batch) Reset() {
	b.N = 0
	b.Labels = b.Labels[:0]
	b.ImpressionIDs = b.ImpressionIDs[:0]
	b.TS = b.TS[:0]
	b.WideOffsets = append(b.WideOffsets[:0], 0)
	b.WideSlots = b.WideSlots[:0]
	b.WideIDs = b.WideIDs[:0]
	b.WideValues = b.WideValues[:0]
	b.WideSizes = b.WideSizes[:0]
	for i := range b.Deep {
		d := &b.Deep[i]
		d.IDs = d.IDs[:0]
		if d.Offsets != nil {
			d.Offsets = append(d.Offsets[:0], 0)
		}
		d.Size = 0
	}
	b.Dense = b.Dense[:0]
	clear(b.oovCounts)
	clear(b.cutCounts)
}

// SelectFrom sets b to the given rows of src, in that order (each in
// [0, src.N)), with src's sizes: the batch Transform would have given for
// those examples alone with the same vocabularies. The trainer uses it to
// train on the examples of a batch that negative sampling keeps after
// scoring them all.
func (b *Batch) SelectFrom(src *Batch, rows []int) {
	b.Reset()
	if len(b.Deep) != len(src.Deep) {
		b.Deep = make([]DeepField, len(src.Deep))
	}
	b.DenseDim = src.DenseDim
	for _, i := range rows {
		b.Labels = append(b.Labels, src.Labels[i])
		b.ImpressionIDs = append(b.ImpressionIDs, src.ImpressionIDs[i])
		b.TS = append(b.TS, src.TS[i])
		lo, hi := src.WideOffsets[i], src.WideOffsets[i+1]
		b.WideSlots = append(b.WideSlots, src.WideSlots[lo:hi]...)
		b.WideIDs = append(b.WideIDs, src.WideIDs[lo:hi]...)
		b.WideValues = append(b.WideValues, src.WideValues[lo:hi]...)
		b.WideOffsets = append(b.WideOffsets, int32(len(b.WideIDs)))
		b.Dense = append(b.Dense, src.Dense[i*src.DenseDim:(i+1)*src.DenseDim]...)
	}
	b.N = len(rows)
	b.WideSizes = append(b.WideSizes, src.WideSizes...)
	for f := range src.Deep {
		s, d := &src.Deep[f], &b.Deep[f]
		d.Size = s.Size
		if s.Offsets == nil {
			d.Offsets = nil
			for _, i := range rows {
				d.IDs = append(d.IDs, s.IDs[i])
			}
			continue
		}
		if d.Offsets == nil {
			d.Offsets = []int32{0}
		}
		for _, i := range rows {
			d.IDs = append(d.IDs, s.IDs[s.Offsets[i]:s.Offsets[i+1]]...)
			d.Offsets = append(d.Offsets, int32(len(d.IDs)))
		}
	}
}
