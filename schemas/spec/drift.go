package spec

// defaultDrift is the validation.drift section the `default` tags of Drift
// give (TestDriftDefaults keeps the two in step).
var defaultDrift = Drift{Action: DriftWarn, MaxLInf: 0.3, MaxJS: 0.1, MaxMissing: 0.1, MinExamples: 100}

// OrDefault returns d, or the defaults when its Action is unset (a
// Validation built in Go rather than loaded: the whole section then reads
// as the defaults).
func (d Drift) OrDefault() Drift {
	if d.Action == "" {
		return defaultDrift
	}
	return d
}

// IsZero reports whether d holds the defaults (or is unset): Marshal then
// leaves validation.drift out, so that a spec without drift settings is
// written byte for byte as before the section existed and builds that
// predate it still read the spec stored with a model.
func (d Drift) IsZero() bool {
	e := d.OrDefault()
	return len(e.Features) == 0 && e.Action == defaultDrift.Action && e.MaxLInf == defaultDrift.MaxLInf &&
		e.MaxJS == defaultDrift.MaxJS && e.MaxMissing == defaultDrift.MaxMissing && e.MinExamples == defaultDrift.MinExamples
}

// For returns the action and thresholds of the named feature: its
// override, else the section's (of OrDefault).
func (d Drift) For(feature string) DriftFeature {
	d = d.OrDefault()
	for _, f := range d.Features {
		if f.Name == feature {
			return f
		}
	}
	return DriftFeature{Name: feature, Action: d.Action, MaxLInf: d.MaxLInf, MaxJS: d.MaxJS, MaxMissing: d.MaxMissing}
}

// driftDefaults gives each key a feature override leaves out the
// section's value.
func driftDefaults(s *Spec, r *reporter) {
	d := &s.Validation.Drift
	for i := range d.Features {
		f := &d.Features[i]
		p := indexPath("validation.drift.features", i)
		setDefault(r, p+".action", &f.Action, d.Action)
		setDefault(r, p+".max_linf", &f.MaxLInf, d.MaxLInf)
		setDefault(r, p+".max_js", &f.MaxJS, d.MaxJS)
		setDefault(r, p+".max_missing", &f.MaxMissing, d.MaxMissing)
	}
}

func validateDrift(s *Spec, r *reporter) {
	const p = "validation.drift"
	d := &s.Validation.Drift
	driftLimits(r, p, d.Action, d.MaxLInf, d.MaxJS, d.MaxMissing)
	positive(r, p+".min_examples", d.MinExamples)
	types := make(map[string]FeatureType, len(s.Features))
	names := make([]string, 0, len(s.Features))
	for _, f := range s.Features {
		types[f.Name] = f.Type
		names = append(names, f.Name)
	}
	firstLine := map[string]int{}
	for i := range d.Features {
		f := &d.Features[i]
		fp := indexPath(p+".features", i)
		typ, declared := types[f.Name]
		switch {
		case !r.has(fp + ".name"):
			r.errorf(fp+".name", "required: the feature whose drift check this overrides")
		case !declared:
			r.errorf(fp+".name", "unknown feature %q: overrides name features declared under features%s", f.Name, didYouMean(f.Name, names))
		default:
			if line, dup := firstLine[f.Name]; dup {
				r.errorf(fp+".name", "duplicate override of feature %q (first at line %d)", f.Name, line)
			} else {
				firstLine[f.Name] = r.where(fp + ".name").line
			}
		}
		driftLimits(r, fp, f.Action, f.MaxLInf, f.MaxJS, f.MaxMissing)
		switch {
		case declared && typ == Numeric && r.has(fp+".max_linf"):
			r.errorf(fp+".max_linf", "applies only to categorical features, and %q is numeric (its values are compared with max_js)", f.Name)
		case declared && typ != Numeric && r.has(fp+".max_js"):
			r.errorf(fp+".max_js", "applies only to numeric features, and %q is %s (its values are compared with max_linf)", f.Name, typ)
		}
	}
}

// driftLimits checks the action and thresholds of the section or of an
// override at path p.
func driftLimits(r *reporter, p string, action DriftAction, linf, js, missing float64) {
	oneOf(r, p+".action", "drift action", action, DriftOff, DriftWarn, DriftFail)
	inUnit(r, p+".max_linf", linf)
	inUnit(r, p+".max_js", js)
	inUnit(r, p+".max_missing", missing)
}

// driftYAML is the written form of Drift: each override writes only the
// keys whose value differs from the section's, as they apply to the
// feature's type by then (Parse refuses max_linf on a numeric feature and
// max_js on the others, and gives the keys left out the section's value).
type driftYAML struct {
	Action      DriftAction        `yaml:"action"`
	MaxLInf     float64            `yaml:"max_linf"`
	MaxJS       float64            `yaml:"max_js"`
	MaxMissing  float64            `yaml:"max_missing"`
	MinExamples int                `yaml:"min_examples"`
	Features    []driftFeatureYAML `yaml:"features"`
}

type driftFeatureYAML struct {
	Name       string       `yaml:"name"`
	Action     *DriftAction `yaml:"action,omitempty"`
	MaxLInf    *float64     `yaml:"max_linf,omitempty"`
	MaxJS      *float64     `yaml:"max_js,omitempty"`
	MaxMissing *float64     `yaml:"max_missing,omitempty"`
}

// MarshalYAML writes the section so that it parses again to an equal Drift.
func (d Drift) MarshalYAML() (any, error) {
	out := driftYAML{Action: d.Action, MaxLInf: d.MaxLInf, MaxJS: d.MaxJS, MaxMissing: d.MaxMissing, MinExamples: d.MinExamples}
	for _, f := range d.Features {
		w := driftFeatureYAML{Name: f.Name}
		if f.Action != d.Action {
			w.Action = &f.Action
		}
		if f.MaxLInf != d.MaxLInf {
			w.MaxLInf = &f.MaxLInf
		}
		if f.MaxJS != d.MaxJS {
			w.MaxJS = &f.MaxJS
		}
		if f.MaxMissing != d.MaxMissing {
			w.MaxMissing = &f.MaxMissing
		}
		out.Features = append(out.Features, w)
	}
	return out, nil
}
