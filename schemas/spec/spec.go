package spec

// UsesWide reports whether the mode trains the wide (linear) part.
func (m Mode) UsesWide() bool { return m == ModeWide || m == ModeWideDeep }

// UsesDeep reports whether the mode trains the deep part.
func (m Mode) UsesDeep() bool { return m == ModeDeep || m == ModeWideDeep }

// Feature returns the feature named name.
func (s *Spec) Feature(name string) (*Feature, bool) {
	for i := range s.Features {
		if s.Features[i].Name == name {
			return &s.Features[i], true
		}
	}
	return nil, false
}

// Cross returns the cross named name.
func (s *Spec) Cross(name string) (*Cross, bool) {
	for i := range s.Crosses {
		if s.Crosses[i].Name == name {
			return &s.Crosses[i], true
		}
	}
	return nil, false
}

// WideFeatures returns the features with wide: true, in spec order, whatever
// the mode. The pointers point into s.Features.
func (s *Spec) WideFeatures() []*Feature {
	return s.filter(func(f *Feature) bool { return f.Wide })
}

// DeepFeatures returns the features with deep: true, in spec order, whatever
// the mode. The pointers point into s.Features.
func (s *Spec) DeepFeatures() []*Feature {
	return s.filter(func(f *Feature) bool { return f.Deep })
}

// Columns returns the names of all features, in spec order: the columns an
// example must carry (besides label) to be featurized.
func (s *Spec) Columns() []string {
	out := make([]string, len(s.Features))
	for i := range s.Features {
		out[i] = s.Features[i].Name
	}
	return out
}

func (s *Spec) filter(keep func(*Feature) bool) []*Feature {
	var out []*Feature
	for i := range s.Features {
		if keep(&s.Features[i]) {
			out = append(out, &s.Features[i])
		}
	}
	return out
}

// CalibrationRange returns the calibration bounds [lo, hi] (0, 0 when the
// spec did not come from Load and has no range).
func (v *Validation) CalibrationRange() (lo, hi float64) {
	if len(v.Calibration) != 2 {
		return 0, 0
	}
	return v.Calibration[0], v.Calibration[1]
}
