package spec

import (
	"fmt"
	"math"
	"math/bits"
)

// ModelSize is the memory the model of a spec takes, computed from the spec
// alone, as the trainer allocates it: one float32 weight per id of each wide
// slot with its FTRL z and n, one embedding row per id of each deep field
// with its AdaGrad accumulators, the tower's weights and biases with theirs
// (its input widened by interaction dot's products), the cross layers of
// interaction cross with theirs, and the shared bias. The trainer's tests
// check Params and ParamBytes against a built model's allocation, so the
// two cannot drift apart.
//
// Vocabularies grow while training. A table backed by a vocabulary counts
// OOV() + max_size rows, the most it can reach; without max_size it counts
// its OOV rows only, and Growth says what each admitted string adds.
//
// Every figure saturates at math.MaxInt64 instead of overflowing, so a
// spec of 2^40 hash buckets gets a huge size, never a small one.
type ModelSize struct {
	// Params is the number of trainable parameters (trainer.Model.Params).
	Params int64
	// ParamBytes is the parameters with their optimizer state: 12 bytes per
	// wide weight (w, z, n), 8 per embedding, tower and cross-layer weight
	// (w and its accumulator), 8 for the bias and its accumulator.
	ParamBytes int64
	// BatchBytes bounds the buffers of one training step of batch_size
	// examples whose lists are all max_length long (an estimate, on the
	// high side): two featurized batches (the trainer featurizes the next
	// while it trains the current), the examples' headers, the tower's
	// activations and gradients, and the sparse gradients of the rows the
	// batch touches. The examples' own strings and the featurizer's state
	// (vocabulary strings, admission sketches) are not counted.
	BatchBytes int64
	// Bytes is ParamBytes + BatchBytes: what LoadOptions.MaxModelBytes
	// bounds.
	Bytes int64
	// Parts are the shares of Bytes, each charged to the key that sets it,
	// in spec order.
	Parts []SizePart
	// Growth lists the vocabularies without max_size, whose tables grow
	// beyond what Bytes counts.
	Growth []VocabGrowth
}

// SizePart is one share of a ModelSize.
type SizePart struct {
	// Path is the key the share is charged to, such as
	// "crosses[0].hash_buckets" or "model.hidden[1]".
	Path string
	// What the bytes hold, for error messages.
	What string
	// Params is the share of ModelSize.Params (0 for buffers).
	Params int64
	// Bytes is the share of ModelSize.Bytes.
	Bytes int64
}

// VocabGrowth is a vocabulary without max_size: ModelSize counts its OOV
// rows only, and each string it admits adds BytesPerString (a wide weight
// with FTRL state when the feature is wide, an embedding row with its
// accumulators when it is deep).
type VocabGrowth struct {
	Feature        string
	BytesPerString int64
}

// Bytes per value of the trainer's tables, all float32.
const (
	wideValueBytes = 3 * 4 // w, FTRL z and n
	deepValueBytes = 2 * 4 // w and its AdaGrad accumulator
)

// Bytes per example of one training step (see ModelSize.BatchBytes).
const (
	// exampleHeaderBytes: the trainer copies each example of a batch (88
	// bytes on 64-bit platforms) into its buffer.
	exampleHeaderBytes = 96
	// batchRowBytes: a featurized batch's label, impression id (a string
	// header), ts and wide offset per example.
	batchRowBytes = 4 + 16 + 8 + 4
	// stepRowBytes: the trainer's logit, gradient and prediction.
	stepRowBytes = 3 * 4
	// wideEntryBytes: a wide entry's slot, id and value.
	wideEntryBytes = 3 * 4
	// sparseWideBytes: a touched wide row's gradient, its index and two
	// hash slots.
	sparseWideBytes = 4 + 4 + 2*4
	// sparseRowBytes: a touched embedding row's index and two hash slots,
	// besides its gradient of 4 bytes per dimension.
	sparseRowBytes = 4 + 2*4
)

// ModelSize computes the size of the spec's model (see ModelSize). It reads
// invalid values (negative sizes) as 0 and never fails.
func (s *Spec) ModelSize() ModelSize {
	var z ModelSize
	add := func(path, what string, params, bytes int64, isParam bool) {
		z.Parts = append(z.Parts, SizePart{Path: path, What: what, Params: params, Bytes: bytes})
		z.Params = satAdd(z.Params, params)
		if isParam {
			z.ParamBytes = satAdd(z.ParamBytes, bytes)
		} else {
			z.BatchBytes = satAdd(z.BatchBytes, bytes)
		}
	}
	usesWide, usesDeep := s.Model.Mode.UsesWide(), s.Model.Mode.UsesDeep()

	// The wide slots, in the featurizer's order: wide features, then
	// crosses. The trainer allocates them in every mode.
	for i := range s.Features {
		f := &s.Features[i]
		p := indexPath("features", i)
		if !f.Wide {
			continue
		}
		switch f.Type {
		case Categorical, CategoricalList:
			rows := vocabRows(f)
			add(vocabKey(p, f), fmt.Sprintf("wide table of %d ids with FTRL state", rows), rows, satMul(rows, wideValueBytes), true)
		case Numeric:
			rows := satAdd(1, nonNeg(f.Quantiles))
			add(p+".quantiles", fmt.Sprintf("wide table of %d bucket ids with FTRL state", rows), rows, satMul(rows, wideValueBytes), true)
		}
	}
	for j := range s.Crosses {
		c := &s.Crosses[j]
		rows := nonNeg(c.HashBuckets)
		add(indexPath("crosses", j)+".hash_buckets", fmt.Sprintf("wide table of %d hashed ids with FTRL state", rows), rows, satMul(rows, wideValueBytes), true)
	}

	// The deep fields' embeddings (allocated in every mode) and the
	// tower's input width.
	var inDim int64
	for i := range s.Features {
		f := &s.Features[i]
		p := indexPath("features", i)
		if !f.Deep {
			continue
		}
		switch f.Type {
		case Categorical, CategoricalList:
			// Charged to the larger of the row count and the width.
			rows, dim := vocabRows(f), nonNeg(f.EmbeddingDim)
			n := satMul(rows, dim)
			key := vocabKey(p, f)
			if dim >= rows {
				key = p + ".embedding_dim"
			}
			add(key, fmt.Sprintf("embedding of %d rows x %d with AdaGrad state", rows, dim), n, satMul(n, deepValueBytes), true)
			inDim = satAdd(inDim, dim)
		case Numeric:
			inDim = satAdd(inDim, 1)
		}
	}
	for i := range s.Features {
		f := &s.Features[i]
		if f.MaxSize > 0 || f.Type == Numeric || f.Type == "" || (!f.Wide && !f.Deep) {
			continue
		}
		var per int64
		if f.Wide {
			per = wideValueBytes
		}
		if f.Deep {
			per = satAdd(per, satMul(nonNeg(f.EmbeddingDim), deepValueBytes))
		}
		z.Growth = append(z.Growth, VocabGrowth{Feature: f.Name, BytesPerString: per})
	}

	// The tower: in, hidden..., 1, each layer's weights and biases. Its
	// input is the embeddings and dense columns (inDim), plus the dot
	// products of interaction dot.
	tower := usesDeep && inDim > 0
	interaction := s.Model.Interaction.OrNone()
	towerIn := inDim
	if interaction == InteractionDot {
		towerIn = satAdd(towerIn, int64(DotPairs(s.embeddedDims())))
	}
	var towerParams, towerWidths int64
	if tower {
		sizes := make([]int64, 1, len(s.Model.Hidden)+2)
		sizes[0] = towerIn
		for _, h := range s.Model.Hidden {
			sizes = append(sizes, nonNeg(h))
		}
		sizes = append(sizes, 1)
		for l := 0; l+1 < len(sizes); l++ {
			n := satAdd(satMul(sizes[l], sizes[l+1]), sizes[l+1])
			towerParams = satAdd(towerParams, n)
			towerWidths = satAdd(towerWidths, sizes[l])
			key := indexPath("model.hidden", min(l, len(s.Model.Hidden)-1))
			if len(s.Model.Hidden) == 0 {
				key = "model.hidden"
			}
			add(key, fmt.Sprintf("tower layer %d: %d x %d with AdaGrad state", l, sizes[l], sizes[l+1]), n, satMul(n, deepValueBytes), true)
		}
		towerWidths = satAdd(towerWidths, 1)
		// The tower's gradients: one copy of dW and dB.
		add("model.hidden", "the tower's gradients", 0, satMul(towerParams, 4), false)
	}
	// The cross layers of interaction cross: each a d x d weight and a
	// bias of d, d = inDim, with AdaGrad state and one copy of their
	// gradients.
	var crossLayers int64
	if tower && interaction == InteractionCross {
		crossLayers = nonNeg(s.Model.CrossLayerCount())
		n := satMul(crossLayers, satAdd(satMul(inDim, inDim), inDim))
		add("model.cross_layers", fmt.Sprintf("%d cross layers of %d x %d with AdaGrad state", crossLayers, inDim, inDim), n, satMul(n, deepValueBytes), true)
		add("model.cross_layers", "the cross layers' gradients", 0, satMul(n, 4), false)
	}
	add("model", "the shared bias", 1, deepValueBytes, true)

	// One training step's buffers, per example: the fixed part, then what
	// lists and crosses of lists fan out to.
	batch := nonNeg(s.Model.BatchSize)
	fixed := int64(exampleHeaderBytes + 2*batchRowBytes + stepRowBytes)
	if tower {
		fixed = satAdd(fixed, satMul(towerWidths, 2*4)) // activations and their gradients
	}
	if crossLayers > 0 {
		// Each layer's input and product, and two gradients, of d each.
		fixed = satAdd(fixed, satMul(satMul(satAdd(satMul(2, crossLayers), 2), inDim), 4))
	}
	for i := range s.Features {
		f := &s.Features[i]
		p := indexPath("features", i)
		if f.Type == Numeric {
			if f.Wide {
				fixed = satAdd(fixed, 2*wideEntryBytes+2*sparseWideBytes)
			}
			if f.Deep {
				fixed = satAdd(fixed, 2*4) // a dense column
			}
			continue
		}
		n := int64(1) // values per example
		var per int64
		if f.Type == CategoricalList {
			n = nonNeg(f.MaxListLength())
			if f.Deep {
				per = 2 * 4 // the list's offset in two batches
			}
		}
		if f.Wide {
			per = satAdd(per, 2*wideEntryBytes)
			if usesWide {
				per = satAdd(per, 2*sparseWideBytes)
			}
		}
		if f.Deep {
			per = satAdd(per, 2*4) // the ids in two batches
			if usesDeep {
				per = satAdd(per, satMul(2, satAdd(satMul(nonNeg(f.EmbeddingDim), 4), sparseRowBytes)))
			}
		}
		if f.Type != CategoricalList {
			fixed = satAdd(fixed, per)
			continue
		}
		bytes := satMul(batch, satMul(n, per))
		add(p+".max_length", fmt.Sprintf("one batch's %d lists of up to %d elements", batch, n), 0, bytes, false)
	}
	for j := range s.Crosses {
		c := &s.Crosses[j]
		entries, lists := crossEntries(s, c)
		per := int64(2 * wideEntryBytes)
		if usesWide {
			per += 2 * sparseWideBytes
		}
		if lists == 0 {
			fixed = satAdd(fixed, per)
			continue
		}
		bytes := satMul(batch, satMul(entries, per))
		add(indexPath("crosses", j)+".columns", fmt.Sprintf("one batch's %d x %d cross entries", batch, entries), 0, bytes, false)
	}
	add("model.batch_size", fmt.Sprintf("one batch's buffers: %d examples x %d bytes", batch, fixed), 0, satMul(batch, fixed), false)

	z.Bytes = satAdd(z.ParamBytes, z.BatchBytes)
	return z
}

// vocabRows is the most rows a table of a vocabulary-backed feature can
// reach: its OOV ids plus max_size admitted strings (OOV ids only without
// max_size).
func vocabRows(f *Feature) int64 {
	return satAdd(nonNeg(f.OOV()), nonNeg(f.MaxSize))
}

// vocabKey charges a vocabulary's rows to max_size or oov_buckets, whichever
// gives more of them.
func vocabKey(p string, f *Feature) string {
	if f.MaxSize > f.OOV() {
		return p + ".max_size"
	}
	return p + ".oov_buckets"
}

// crossEntries is the number of wide entries a cross yields per example at
// most (the product of its columns' list lengths) and how many of its
// columns are lists.
func crossEntries(s *Spec, c *Cross) (entries int64, lists int) {
	entries = 1
	for _, col := range c.Columns {
		if f, ok := s.Feature(col); ok && f.Type == CategoricalList {
			entries = satMul(entries, nonNeg(f.MaxListLength()))
			lists++
		}
	}
	return entries, lists
}

// The per-key hard limits, whatever the budget (see doc.go).
const (
	// Cross ids, vocabulary ids and slot sizes are int32.
	maxHashBuckets = math.MaxInt32
	maxVocabIDs    = math.MaxInt32
	// Half the id space of a vocabulary for hashed OOV ids at most.
	maxOOVBuckets   = 1 << 30
	maxEmbeddingDim = 4096
	maxHiddenWidth  = 1 << 16
	maxHiddenLayers = 64
	maxQuantiles    = 1 << 16
	maxBatchSize    = 1 << 20
	maxListLength   = 1 << 16
)

func nonNeg(v int) int64 { return int64(max(v, 0)) }

// satAdd is a+b for a, b >= 0, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// satMul is a*b for a, b >= 0, saturating at math.MaxInt64.
func satMul(a, b int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(lo)
}
