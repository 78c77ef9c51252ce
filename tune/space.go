package tune

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/wdstream/wdstream/schemas/spec"
)

// Range is a log-uniform range [Lo, Hi] with 0 < Lo <= Hi. The zero Range
// means the key is not searched: every trial keeps the base spec's value.
type Range struct{ Lo, Hi float64 }

func (r Range) searched() bool { return r != Range{} }

// Space is the search space. A zero field is not searched (the base spec's
// value is kept); DefaultSpace gives the documented defaults.
type Space struct {
	// Alpha and Beta: model.ftrl.alpha and beta, log-uniform.
	Alpha, Beta Range
	// L1: model.ftrl.l1, 0 with probability L1Zero, else log-uniform.
	L1     Range
	L1Zero float64
	// L2: model.ftrl.l2, 0 with probability L2Zero, else log-uniform.
	L2     Range
	L2Zero float64
	// LearningRate and InitialAccumulator: model.adagrad's, log-uniform.
	LearningRate, InitialAccumulator Range
	// Epochs: the choices of model.epochs, the most passes with early
	// stopping on the validation split (ModeBackfill only).
	Epochs []int
	// Embedding: the choices of a factor applied to every categorical
	// feature's embedding_dim (rounded, at least 1).
	Embedding []float64
	// Hidden: the choices of model.hidden.
	Hidden [][]int
	// Buckets: the choices of a factor applied to every cross's
	// hash_buckets (rounded, in [1, 2^31-1]).
	Buckets []float64
	// Interaction: the choices of model.interaction. A draw the spec
	// cannot take (dot without two embeddings of one size) is drawn again.
	Interaction []spec.Interaction
}

// DefaultSpace returns the default search space: ftrl.alpha in [0.01, 1],
// beta in [1e-4, 1], l1 0 one time in 5 else in [1e-4, 0.3], l2 0 one time
// in 2 else in [1e-4, 1], adagrad.learning_rate in [0.01, 0.5] and
// initial_accumulator in [1e-5, 0.1] (all log-uniform); at most 1 to 5
// epochs; embedding factor 0.5, 1 or 2; hidden [32], [64, 32], [128, 64]
// or [256, 128]; hash_buckets factor 0.25, 1 or 4; interaction none, dot
// or cross.
func DefaultSpace() Space {
	return Space{
		Alpha:              Range{0.01, 1},
		Beta:               Range{1e-4, 1},
		L1:                 Range{1e-4, 0.3},
		L1Zero:             0.2,
		L2:                 Range{1e-4, 1},
		L2Zero:             0.5,
		LearningRate:       Range{0.01, 0.5},
		InitialAccumulator: Range{1e-5, 0.1},
		Epochs:             []int{1, 2, 3, 4, 5},
		Embedding:          []float64{0.5, 1, 2},
		Hidden:             [][]int{{32}, {64, 32}, {128, 64}, {256, 128}},
		Buckets:            []float64{0.25, 1, 4},
		Interaction:        []spec.Interaction{spec.InteractionNone, spec.InteractionDot, spec.InteractionCross},
	}
}

func (s *Space) validate() error {
	var errs []error
	for _, r := range []struct {
		name string
		r    Range
	}{{"Alpha", s.Alpha}, {"Beta", s.Beta}, {"L1", s.L1}, {"L2", s.L2}, {"LearningRate", s.LearningRate}, {"InitialAccumulator", s.InitialAccumulator}} {
		if r.r.searched() && !(r.r.Lo > 0 && r.r.Lo <= r.r.Hi && !math.IsInf(r.r.Hi, 0)) {
			errs = append(errs, fmt.Errorf("space: %s [%g, %g]: want 0 < lo <= hi, finite", r.name, r.r.Lo, r.r.Hi))
		}
	}
	for _, p := range []struct {
		name string
		p    float64
	}{{"L1Zero", s.L1Zero}, {"L2Zero", s.L2Zero}} {
		if !(p.p >= 0 && p.p <= 1) {
			errs = append(errs, fmt.Errorf("space: %s %g: want a probability in [0, 1]", p.name, p.p))
		}
	}
	for _, e := range s.Epochs {
		if e < 1 {
			errs = append(errs, fmt.Errorf("space: Epochs %v: each must be >= 1", s.Epochs))
			break
		}
	}
	for _, fs := range []struct {
		name string
		f    []float64
	}{{"Embedding", s.Embedding}, {"Buckets", s.Buckets}} {
		for _, f := range fs.f {
			if !(f > 0) || math.IsInf(f, 0) {
				errs = append(errs, fmt.Errorf("space: %s %v: each factor must be > 0, finite", fs.name, fs.f))
				break
			}
		}
	}
	for _, h := range s.Hidden {
		if len(h) == 0 || slices.Min(h) < 1 {
			errs = append(errs, fmt.Errorf("space: Hidden %v: each shape needs at least one layer, each >= 1", s.Hidden))
			break
		}
	}
	return errors.Join(errs...)
}

// Values are the searched settings of one trial, as applied to the base
// spec.
type Values struct {
	Alpha, Beta, L1, L2              float64 // model.ftrl
	LearningRate, InitialAccumulator float64 // model.adagrad
	// Epochs is model.epochs (the base spec's in ModeStream, where it is
	// not used).
	Epochs int
	// Embedding multiplies every embedding_dim, Buckets every
	// hash_buckets (1 in trial 0).
	Embedding   float64
	Hidden      []int
	Buckets     float64
	Interaction spec.Interaction // model.interaction (none when unset)
}

// baseValues returns the values of the base spec itself.
func baseValues(sp *spec.Spec) Values {
	m := &sp.Model
	return Values{
		Alpha: m.FTRL.Alpha, Beta: m.FTRL.Beta, L1: m.FTRL.L1, L2: m.FTRL.L2,
		LearningRate: m.AdaGrad.LearningRate, InitialAccumulator: m.AdaGrad.InitialAccumulator,
		Epochs: m.Epochs, Embedding: 1, Hidden: slices.Clone(m.Hidden), Buckets: 1,
		Interaction: m.Interaction.OrNone(),
	}
}

// String writes the values on one line, as the table and the progress
// lines show them.
func (v Values) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "alpha=%s beta=%s l1=%s l2=%s lr=%s acc=%s epochs=%d emb=x%s hidden=%s buckets=x%s interaction=%s",
		g(v.Alpha), g(v.Beta), g(v.L1), g(v.L2), g(v.LearningRate), g(v.InitialAccumulator), v.Epochs, g(v.Embedding), hiddenText(v.Hidden), g(v.Buckets), v.Interaction.OrNone())
	return b.String()
}

func g(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func hiddenText(h []int) string {
	parts := make([]string, len(h))
	for i, n := range h {
		parts[i] = strconv.Itoa(n)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// sample draws the values of one trial from rng, starting from the base
// values for the keys the space does not search. The draws are made in a
// fixed order, so a seed gives the same values.
func (s *Space) sample(rng *rand.Rand, base Values, mode Mode) Values {
	v := base
	v.Hidden = slices.Clone(base.Hidden)
	logUniform := func(dst *float64, r Range) {
		if r.searched() {
			*dst = round3(math.Exp(math.Log(r.Lo)+rng.Float64()*(math.Log(r.Hi)-math.Log(r.Lo))), r)
		}
	}
	orZero := func(dst *float64, r Range, p float64) {
		if !r.searched() {
			return
		}
		if rng.Float64() < p {
			*dst = 0
			return
		}
		logUniform(dst, r)
	}
	logUniform(&v.Alpha, s.Alpha)
	logUniform(&v.Beta, s.Beta)
	orZero(&v.L1, s.L1, s.L1Zero)
	orZero(&v.L2, s.L2, s.L2Zero)
	logUniform(&v.LearningRate, s.LearningRate)
	logUniform(&v.InitialAccumulator, s.InitialAccumulator)
	if len(s.Epochs) > 0 && mode == ModeBackfill {
		v.Epochs = s.Epochs[rng.IntN(len(s.Epochs))]
	}
	if len(s.Embedding) > 0 {
		v.Embedding = s.Embedding[rng.IntN(len(s.Embedding))]
	}
	if len(s.Hidden) > 0 {
		v.Hidden = slices.Clone(s.Hidden[rng.IntN(len(s.Hidden))])
	}
	if len(s.Buckets) > 0 {
		v.Buckets = s.Buckets[rng.IntN(len(s.Buckets))]
	}
	if len(s.Interaction) > 0 {
		v.Interaction = s.Interaction[rng.IntN(len(s.Interaction))]
	}
	return v
}

// round3 rounds x to 3 significant digits, kept inside r.
func round3(x float64, r Range) float64 {
	y, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 3, 64), 64)
	return min(max(y, r.Lo), r.Hi)
}

// apply returns a copy of base with the values set, marshaled and parsed
// again with opts: the spec a file with these values would give, checked
// by the same validation (and model-size budget).
func apply(base *spec.Spec, v Values, opts spec.LoadOptions) (*spec.Spec, error) {
	s := *base
	s.Features = slices.Clone(base.Features)
	s.Crosses = slices.Clone(base.Crosses)
	m := &s.Model
	m.FTRL = spec.FTRL{Alpha: v.Alpha, Beta: v.Beta, L1: v.L1, L2: v.L2}
	m.AdaGrad = spec.AdaGrad{LearningRate: v.LearningRate, InitialAccumulator: v.InitialAccumulator}
	m.Epochs = v.Epochs
	m.Hidden = slices.Clone(v.Hidden)
	if ix := v.Interaction.OrNone(); ix != m.Interaction.OrNone() {
		// cross_layers belongs to cross: the base's count when it has
		// one, else the default (set on parsing).
		m.Interaction, m.CrossLayers = ix, 0
		if ix == spec.InteractionCross {
			m.CrossLayers = spec.DefaultCrossLayers
		}
	}
	for i := range s.Features {
		f := &s.Features[i]
		if f.Type == spec.Categorical || f.Type == spec.CategoricalList {
			f.EmbeddingDim = scale(f.EmbeddingDim, v.Embedding)
		}
	}
	for i := range s.Crosses {
		s.Crosses[i].HashBuckets = scale(s.Crosses[i].HashBuckets, v.Buckets)
	}
	data, err := s.Marshal()
	if err != nil {
		return nil, err
	}
	return spec.ParseWith(base.Name+" with "+v.String(), data, opts)
}

// scale returns n times f, rounded, in [1, 2^31-1].
func scale(n int, f float64) int {
	return int(min(max(math.Round(float64(n)*f), 1), math.MaxInt32))
}
