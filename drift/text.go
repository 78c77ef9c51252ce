package drift

import (
	"fmt"
	"io"
	"strings"

	"github.com/wdstream/wdstream/schemas/spec"
)

// shownValues is how many top values WriteText prints per feature.
const shownValues = 5

// WriteText writes one line per feature: its type, missing share and
// either its most frequent values with their shares and the share of
// the rest, or its deciles with the smallest and largest value.
func (p *Profile) WriteText(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "statistics of %d examples:\n  %-20s %-17s %7s  %s\n", p.Examples, "feature", "type", "missing", "values"); err != nil {
		return err
	}
	for i := range p.Features {
		f := &p.Features[i]
		var vals []string
		switch {
		case f.Type != spec.Numeric:
			for _, s := range f.Top[:min(len(f.Top), shownValues)] {
				vals = append(vals, fmt.Sprintf("%q %.3f", s.Value, s.Share))
			}
			rest := f.Other
			for _, s := range f.Top[min(len(f.Top), shownValues):] {
				rest += s.Share
			}
			vals = append(vals, fmt.Sprintf("other %.3f", rest))
		case len(f.Quantiles) > 0:
			vals = append(vals, "deciles")
			for i := decile; i < Quantiles; i += decile {
				vals = append(vals, fmt.Sprintf("%.4g", f.Quantiles[i]))
			}
			vals = append(vals, fmt.Sprintf("(min %.4g, max %.4g)", f.Quantiles[0], f.Quantiles[Quantiles]))
		default:
			vals = append(vals, "no value")
		}
		sep := ", "
		if f.Type == spec.Numeric {
			sep = " "
		}
		if _, err := fmt.Fprintf(w, "  %-20s %-17s %7.3f  %s\n", f.Name, f.Type, f.Missing, strings.Join(vals, sep)); err != nil {
			return err
		}
	}
	return nil
}

// WriteDistances writes one line per distance: feature, statistic, value,
// threshold, and whether (and with which action) it drifted.
func WriteDistances(w io.Writer, ds []Distance) error {
	if _, err := fmt.Fprintf(w, "  %-20s %-9s %7s %9s\n", "feature", "statistic", "value", "threshold"); err != nil {
		return err
	}
	for _, d := range ds {
		mark := ""
		if d.Drifted {
			mark = fmt.Sprintf("  DRIFTED (%s)", d.Action)
		}
		if _, err := fmt.Fprintf(w, "  %-20s %-9s %7.3f %9.3f%s\n", d.Feature, d.Statistic, d.Value, d.Threshold, mark); err != nil {
			return err
		}
	}
	return nil
}
