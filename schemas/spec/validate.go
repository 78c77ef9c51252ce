package spec

import (
	"fmt"
	"strings"
)

// SupportedVersion is the only spec format version this package reads.
const SupportedVersion = 1

// validate checks the decoded spec, defaults applied, and records every
// impossible value with the path of its key; last, the size of the model
// against the per-key limits and the budget of opts.
func validate(s *Spec, r *reporter, opts LoadOptions) {
	switch {
	case !r.has("version"):
		r.errorf("version", "required: add \"version: %d\" at the top", SupportedVersion)
	case s.Version != SupportedVersion:
		r.errorf("version", "unsupported version %d: this build reads version %d", s.Version, SupportedVersion)
	}
	validateFeatures(s, r)
	validateCrosses(s, r)
	validateMode(s, r)
	validateJoin(&s.Join, r)
	validateModel(&s.Model, r)
	validateSampling(&s.Model, r)
	validateInteraction(s, r)
	validateValidation(&s.Validation, r)
	validateDrift(s, r)
	validatePublish(&s.Publish, r)
	validateHooks(&s.Hooks, r)
	validateSize(s, r, opts)
}

// reserved says why a column may not be a feature, or "".
func reserved(column string) string {
	switch column {
	case "label":
		return "it is the label"
	case "install_ts":
		return "it is only set on positive examples, so it leaks the label"
	}
	return ""
}

func validateFeatures(s *Spec, r *reporter) {
	if len(s.Features) == 0 {
		r.errorf("features", "at least one feature is required")
		return
	}
	inCross := map[string]bool{}
	for _, c := range s.Crosses {
		for _, col := range c.Columns {
			inCross[col] = true
		}
	}
	firstLine := map[string]int{}
	for i := range s.Features {
		f := &s.Features[i]
		p := indexPath("features", i)
		switch {
		case !r.has(p + ".name"):
			r.errorf(p+".name", "required: the column the feature reads")
		case f.Name == "":
			r.errorf(p+".name", "must not be empty")
		case reserved(f.Name) != "":
			r.errorf(p+".name", "column %q cannot be a feature: %s", f.Name, reserved(f.Name))
		default:
			if line, dup := firstLine[f.Name]; dup {
				r.errorf(p+".name", "duplicate feature %q (first at line %d)", f.Name, line)
			} else {
				firstLine[f.Name] = r.where(p + ".name").line
			}
		}
		validateFeature(f, p, inCross[f.Name], r)
	}
}

func validateFeature(f *Feature, p string, crossed bool, r *reporter) {
	// Keys that only one kind of feature may set.
	categoricalKeys := []string{"embedding_dim", "min_count", "oov_buckets", "max_size", "ttl"}
	listKeys := []string{"combiner", "max_length"}
	numericKeys := []string{"quantiles", "missing"}
	switch f.Type {
	case Categorical, CategoricalList:
		for _, k := range numericKeys {
			if r.has(p + "." + k) {
				r.errorf(p+"."+k, "applies only to numeric features, and %q is %s", f.Name, f.Type)
			}
		}
		positive(r, p+".embedding_dim", f.EmbeddingDim)
		if f.MinCount < 1 {
			r.errorf(p+".min_count", "must be >= 1, got %d", f.MinCount)
		}
		nonNegative(r, p+".oov_buckets", f.OOVBuckets)
		nonNegative(r, p+".max_size", f.MaxSize)
		nonNegative(r, p+".ttl", f.TTL)
		if f.Type == Categorical {
			for _, k := range listKeys {
				if r.has(p + "." + k) {
					r.errorf(p+"."+k, "applies only to categorical_list features, and %q is categorical", f.Name)
				}
			}
		} else {
			oneOf(r, p+".combiner", "combiner", f.Combiner, CombinerMean, CombinerSum, CombinerSqrtN)
			positive(r, p+".max_length", f.MaxLength)
		}
	case Numeric:
		for _, k := range categoricalKeys {
			if r.has(p + "." + k) {
				r.errorf(p+"."+k, "applies only to categorical features, and %q is numeric", f.Name)
			}
		}
		for _, k := range listKeys {
			if r.has(p + "." + k) {
				r.errorf(p+"."+k, "applies only to categorical_list features, and %q is numeric", f.Name)
			}
		}
		if f.Quantiles < 2 {
			r.errorf(p+".quantiles", "must be >= 2, got %d", f.Quantiles)
		}
		inUnit(r, p+".missing", f.Missing)
	default:
		if !r.has(p + ".type") {
			r.errorf(p+".type", "required: one of categorical, categorical_list, numeric")
		} else {
			oneOf(r, p+".type", "feature type", f.Type, Categorical, CategoricalList, Numeric)
		}
	}
	if !f.Wide && !f.Deep && !crossed {
		r.errorf(p, "feature %q is used by neither part: set wide or deep to true, or use it in a cross", f.Name)
	}
}

func validateCrosses(s *Spec, r *reporter) {
	features := make(map[string]*Feature, len(s.Features))
	names := make([]string, 0, len(s.Features))
	for i := range s.Features {
		features[s.Features[i].Name] = &s.Features[i]
		names = append(names, s.Features[i].Name)
	}
	firstLine := map[string]int{}
	for i := range s.Crosses {
		c := &s.Crosses[i]
		p := indexPath("crosses", i)
		switch {
		case !r.has(p + ".columns"):
			r.errorf(p+".columns", "required: the features to cross (at least 2)")
		case len(c.Columns) < 2:
			r.errorf(p+".columns", "a cross needs at least 2 columns, got %d", len(c.Columns))
		}
		seen := map[string]bool{}
		for j, col := range c.Columns {
			cp := indexPath(p+".columns", j)
			f, ok := features[col]
			switch {
			case col == "":
				r.errorf(cp, "must not be empty")
			case seen[col]:
				r.errorf(cp, "column %q appears twice in the cross", col)
			case !ok:
				r.errorf(cp, "unknown feature %q: cross columns must be declared under features%s", col, didYouMean(col, names))
			case f.Type == Numeric:
				r.errorf(cp, "feature %q is numeric: only categorical and categorical_list features can be crossed", col)
			}
			seen[col] = true
		}
		switch {
		case c.Name == "":
			r.errorf(p+".name", "must not be empty")
		case features[c.Name] != nil:
			r.errorf(p+".name", "cross name %q is also a feature name: wide inputs need distinct names", c.Name)
		default:
			if line, dup := firstLine[c.Name]; dup {
				r.errorf(p+".name", "duplicate cross %q (first at line %d)", c.Name, line)
			} else {
				firstLine[c.Name] = r.where(p).line
			}
		}
		positive(r, p+".hash_buckets", c.HashBuckets)
	}
}

func validateMode(s *Spec, r *reporter) {
	m := s.Model.Mode
	if !oneOf(r, "model.mode", "mode", m, ModeWide, ModeDeep, ModeWideDeep) || len(s.Features) == 0 {
		return
	}
	if m.UsesWide() && len(s.WideFeatures()) == 0 && len(s.Crosses) == 0 {
		r.errorf("model.mode", "mode %s needs a wide input: a feature with wide: true or a cross", m)
	}
	if m.UsesDeep() && len(s.DeepFeatures()) == 0 {
		r.errorf("model.mode", "mode %s needs a deep input: a feature with deep: true", m)
	}
}

// oneOf checks an enumerated value and reports whether it is valid.
func oneOf[T ~string](r *reporter, path, what string, v T, allowed ...T) bool {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if v == a {
			return true
		}
		names[i] = string(a)
	}
	r.errorf(path, "unknown %s %q: want one of %s%s", what, v, strings.Join(names, ", "), didYouMean(string(v), names))
	return false
}

func positive[T int | int64 | float64 | Duration](r *reporter, path string, v T) {
	if v <= 0 {
		r.errorf(path, "must be > 0, got %v", v)
	}
}

func nonNegative[T int | int64 | float64 | Duration](r *reporter, path string, v T) {
	if v < 0 {
		r.errorf(path, "must be >= 0, got %v", v)
	}
}

func inUnit(r *reporter, path string, v float64) {
	if v < 0 || v > 1 {
		r.errorf(path, "must be in [0,1], got %v", v)
	}
}

// fmtFloats prints a list of numbers as YAML would.
func fmtFloats(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprint(f)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
