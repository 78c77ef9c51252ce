package featurize

// VocabStats are the counters of one categorical feature.
type VocabStats struct {
	Feature string
	// Size is OOV buckets plus admitted strings; Admitted the latter.
	Size, Admitted int
	// Observed counts the values seen by Fit; Missing the single-valued
	// ones that were absent or null (read as the empty string).
	Observed, Missing uint64
	// OOV counts the values Transform mapped to an OOV id.
	OOV uint64
	// FullRejects counts the values of unknown strings that Fit refused
	// because the vocabulary had reached max_size.
	FullRejects uint64
	// Truncated counts the list elements beyond max_length that Transform
	// and FitTransform cut (categorical_list only; the model reads the
	// first max_length of each list), TruncatedLists the lists they cut.
	// Fit reads the same first max_length elements and counts nothing.
	Truncated, TruncatedLists uint64
	// Evicted counts the strings the feature's ttl evicted; Free is the
	// ids they left, which new strings reuse (both 0 without a ttl).
	Evicted uint64
	Free    int
	// SketchBytes is the admission sketch's memory (0 with min_count 1);
	// SketchAgings counts its halvings.
	SketchBytes  int
	SketchAgings uint64
}

// NumericStats are the counters of one numeric feature.
type NumericStats struct {
	Feature string
	// Values fitted into the sketch; Missing the absent, null or NaN ones.
	Values, Missing uint64
	// Boundaries in force (0 until fixed) and whether they are fixed.
	Boundaries int
	Fixed      bool
}

// Stats are a State's counters, for export as metrics.
type Stats struct {
	Vocabs  []VocabStats
	Numeric []NumericStats
}

// Stats returns the current counters. Like Fit, it must not run
// concurrently with Fit (it may with Transform).
func (s *State) Stats() Stats {
	var st Stats
	for _, c := range s.cats {
		v := c.vocab
		vs := VocabStats{
			Feature: c.name, Size: v.Size(), Admitted: v.Len(),
			Observed: v.observed, Missing: c.missing,
			OOV: v.oovHits.Load(), FullRejects: v.fullRejects,
			Truncated: c.truncated.Load(), TruncatedLists: c.truncatedLists.Load(),
			Evicted: v.evicted, Free: len(v.free),
		}
		if v.admit != nil {
			vs.SketchBytes = v.admit.bytes()
			vs.SketchAgings = v.admit.ages
		}
		st.Vocabs = append(st.Vocabs, vs)
	}
	for _, n := range s.nums {
		st.Numeric = append(st.Numeric, NumericStats{
			Feature: n.name, Values: n.sketch.n, Missing: n.absent,
			Boundaries: len(n.bounds), Fixed: n.fixed,
		})
	}
	return st
}
