package spec

import (
	"path/filepath"
	"strings"
)

// Defaults that depend on a feature's type; the others are `default` tags
// in types.go.
const (
	defaultEmbeddingDim = 8
	defaultMinCount     = 1
	defaultOOVBuckets   = 1
	defaultQuantiles    = 20
	defaultCombiner     = CombinerMean
)

// DefaultMaxLength is the default max_length of a categorical_list feature:
// the elements of one list value that the model reads. Real lists (a
// user's installed apps) are tens to a few hundred long; a cross of a list
// with a single value gives one wide entry per element, so the cap also
// bounds the wide part's work per example.
const DefaultMaxLength = 256

// CrossNameSep joins the column names of a cross into its default name.
const CrossNameSep = "_x_"

// applyDefaults fills in the defaults that depend on context: the spec name
// from the file name, the per-type defaults of each feature, and the name of
// each cross from its columns. Keys written in the file are kept as written.
func applyDefaults(s *Spec, r *reporter, file string) {
	if !r.has("name") {
		s.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	for i := range s.Features {
		f := &s.Features[i]
		p := indexPath("features", i)
		switch f.Type {
		case Categorical, CategoricalList:
			setDefault(r, p+".embedding_dim", &f.EmbeddingDim, defaultEmbeddingDim)
			setDefault(r, p+".min_count", &f.MinCount, defaultMinCount)
			setDefault(r, p+".oov_buckets", &f.OOVBuckets, defaultOOVBuckets)
			if f.Type == CategoricalList {
				setDefault(r, p+".combiner", &f.Combiner, defaultCombiner)
				setDefault(r, p+".max_length", &f.MaxLength, DefaultMaxLength)
			}
		case Numeric:
			setDefault(r, p+".quantiles", &f.Quantiles, defaultQuantiles)
		}
	}
	for i := range s.Crosses {
		c := &s.Crosses[i]
		setDefault(r, indexPath("crosses", i)+".name", &c.Name, strings.Join(c.Columns, CrossNameSep))
	}
	interactionDefaults(s, r)
	driftDefaults(s, r)
}

// setDefault sets *dst to v when the key path is absent from the file.
func setDefault[T any](r *reporter, path string, dst *T, v T) {
	if !r.has(path) {
		*dst = v
	}
}
