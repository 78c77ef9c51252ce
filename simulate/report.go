package simulate

import (
	"fmt"
	"io"
)

// Report summarizes a run: counts, realized labels and, per day, the
// oracle AUC (AUC of true_p against the realized labels). The last day
// also carries the ablations that show how much each part of the truth is
// worth.
type Report struct {
	Impressions  int // impressions delivered
	Installs     int // install events delivered, duplicates included
	Duplicates   int // duplicate install events
	Unattributed int // install events without impression_id (duplicates excluded)
	Late         int // installs arriving after the label window (duplicates excluded)
	Dropped      int // installs scheduled after the last day's end plus the window
	Positives    int // impressions with realized label 1
	Days         []DayReport
}

// DayReport covers the impressions of one day (and the installs that
// arrived on it).
type DayReport struct {
	Day         int
	Impressions int
	Installs    int     // install events whose ts falls on this day (the last day takes the tail)
	Positives   int     // realized labels 1
	BaseRate    float64 // Positives / Impressions
	MeanTrueP   float64 // mean of true_p
	PairShare   float64 // share of impressions where a strong pair applies
	OracleAUC   float64 // AUC of true_p against the realized labels
	Ablations   *Ablations
}

// Ablations are AUCs of the true logit with one part changed, against the
// realized labels of the last day: what a model that could not learn that
// part at all would reach at best.
type Ablations struct {
	NoPairAUC     float64 // without the strong-pair term (memorization)
	NoTasteAUC    float64 // without the user x category taste term (generalization): the ceiling of a model that cannot infer taste
	StaleTasteAUC float64 // with the first day's tastes (drift; with Truth.LatentTaste also the users' day-0 vectors)
}

// BaseRate returns the realized share of positive impressions.
func (r *Report) BaseRate() float64 {
	if r.Impressions == 0 {
		return 0
	}
	return float64(r.Positives) / float64(r.Impressions)
}

// Last returns the report of the last closed day, or nil.
func (r *Report) Last() *DayReport {
	if len(r.Days) == 0 {
		return nil
	}
	return &r.Days[len(r.Days)-1]
}

// WriteText writes the report as a few human-readable lines.
func (r *Report) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "events %d: impressions %d, installs %d (duplicates %d, unattributed %d, late %d, dropped after the end %d)\n",
		r.Impressions+r.Installs, r.Impressions, r.Installs, r.Duplicates, r.Unattributed, r.Late, r.Dropped)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "base rate (realized) %.4f\n", r.BaseRate())
	for _, d := range r.Days {
		fmt.Fprintf(w, "day %d: impressions %d, installs %d, base rate %.4f, mean true_p %.4f, pair share %.3f, oracle AUC %.4f\n",
			d.Day+1, d.Impressions, d.Installs, d.BaseRate, d.MeanTrueP, d.PairShare, d.OracleAUC)
	}
	if l := r.Last(); l != nil && l.Ablations != nil {
		a := l.Ablations
		_, err = fmt.Fprintf(w, "last day: oracle AUC %.4f; without pairs %.4f (-%.4f); without tastes %.4f (-%.4f); stale tastes %.4f (-%.4f)\n",
			l.OracleAUC, a.NoPairAUC, l.OracleAUC-a.NoPairAUC, a.NoTasteAUC, l.OracleAUC-a.NoTasteAUC, a.StaleTasteAUC, l.OracleAUC-a.StaleTasteAUC)
		if err == nil {
			_, err = fmt.Fprintf(w, "last day: no-taste AUC %.4f is the ceiling of a model that cannot infer taste; the oracle AUC %.4f needs the taste term\n",
				a.NoTasteAUC, l.OracleAUC)
		}
	}
	return err
}
