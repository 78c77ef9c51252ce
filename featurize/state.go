package featurize

import (
	"sync/atomic"

	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
)

// State bundles the spec, the vocabularies and the quantile boundaries: all
// that turns examples into batches. Fit, FitTransform and RefreshBoundaries need
// exclusive access; Transform calls may run concurrently with each other.
type State struct {
	spec     *spec.Spec
	opts     Options
	cats     []*catFeature // categorical and categorical_list, spec order
	nums     []*numFeature // numeric, spec order
	crosses  []*crossFeature
	wide     []WideSlot
	deep     []DeepInput
	dense    []string
	fitVals  []schemas.Value // Fit's scratch: one example's values
	expiring []*expiry       // the ttls of the vocabularies that have one
}

// tick tells the vocabularies with a ttl the event time of the example
// about to be fitted.
func (s *State) tick(ts int64) {
	for _, e := range s.expiring {
		e.setNow(ts)
	}
}

type catFeature struct {
	name      string
	col       column
	list      bool
	vocab     *Vocab
	wideSlot  int // -1 when not wide
	deepField int // -1 when not deep
	index     int // position in State.cats
	inCross   bool
	missing   uint64
	// maxLen caps the elements of a list read (categorical_list only):
	// the first maxLen in input order. truncated counts the elements cut
	// by Transform and FitTransform, truncatedLists the lists cut.
	maxLen         int
	truncated      atomic.Uint64
	truncatedLists atomic.Uint64
}

type numFeature struct {
	name     string
	col      column
	nq       int
	missing  float32
	sketch   *kll
	bounds   []float64
	fixed    bool
	wideSlot int
	denseCol int
	absent   uint64 // missing or NaN values seen by Fit
}

type crossFeature struct {
	name    string
	cols    []*catFeature
	buckets int
	slot    int
}

// Spec returns the spec the State was built for.
func (s *State) Spec() *spec.Spec { return s.spec }

// Vocab returns the vocabulary of a categorical feature, or nil.
func (s *State) Vocab(feature string) *Vocab {
	for _, c := range s.cats {
		if c.name == feature {
			return c.vocab
		}
	}
	return nil
}

// Boundaries returns a copy of a numeric feature's fixed quantile
// boundaries (strictly increasing) and whether they have been fixed.
func (s *State) Boundaries(feature string) ([]float64, bool) {
	for _, n := range s.nums {
		if n.name == feature {
			return append([]float64(nil), n.bounds...), n.fixed
		}
	}
	return nil, false
}
