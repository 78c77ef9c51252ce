// Package drift keeps per-feature statistics of a set of examples (a
// Profile: what a model version trained on, or a gate's fresh examples)
// and measures how far two of them are apart. The publisher records a
// version's profile beside its weights, and its gate compares the fresh
// examples' profile with LATEST's (schemas/spec.Drift holds the
// thresholds).
//
// # Statistics
//
// For every feature of the spec, over the examples added:
//
//   - Missing: the share of examples whose column is absent, null, the
//     empty string, an empty list or NaN (a value of a kind the feature
//     cannot read counts as missing too; the featurizer refuses such
//     examples before training).
//   - categorical and categorical_list: the TopValues most frequent values
//     with their shares and the share of every other value, so that
//     Missing + the top shares + Other = 1. A single value is read as the
//     featurizer reads it (featurize.CategoricalText: a number as its
//     decimal text, a bool as true or false). The elements of a list split
//     its example's share: value v's share is (1 - Missing) times v's
//     count over all elements counted.
//   - numeric: the 0, 1/100, ..., 1 quantiles (Quantiles+1 numbers) of the
//     present values.
//
// # Sketches, and why these
//
// A Profiler takes one pass with memory bounded per feature, whatever the
// number of examples. Categorical values go through a Misra-Gries summary
// of Counters counters: each counter underestimates its value's count by at
// most n/(Counters+1) of the n values counted (a share error of at most 1%),
// never overestimates, and the counts never sum above n, so Other is never
// negative; the TopValues largest are kept. Space-saving has the same
// bound but overestimates, which can push the top shares above 1; a
// count-min sketch answers counts of values named in advance, not which
// values are frequent. Numeric values go through a uniform reservoir of
// SampleSize (Vitter's algorithm R, seeded per feature so that a profile is
// reproducible): a quantile read from it is off by about
// sqrt(q(1-q)/SampleSize) in rank, under 0.8 percentage points, far below
// the drift worth reporting, with no dependency and no tuning; a t-digest
// is more precise in the tails, which the decile bins the distance uses
// do not need. A Profiler may count a random sample of the examples it is
// given (Options.Sample: the train stage counts a tenth).
//
// # Distances
//
// LInf is the L-infinity distance between two categorical distributions
// over the union of both top lists, "other" and missing: a value one side
// does not list counts 0 there (its share is part of that side's Other).
// Identical profiles are 0 apart, disjoint ones 1. JS is the
// Jensen-Shannon divergence of two numeric features' present values, in
// bits (log base 2, so it lies in [0,1]: 0 for identical profiles, 1 for
// disjoint ones; ln 2 = 0.693 in nats), over common bins: the union of
// both sides' deciles cut the line, and each side's mass in a bin is read
// from its quantiles (the share of its quantile points inside). Missing
// shares are compared apart, by their absolute difference, for every type.
package drift
