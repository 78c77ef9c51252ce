package tune

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Ranked returns the trials with at least one finished run, best first:
// by the highest rung reached (descending), then by validation log loss
// there, then by ID; then the trials that never finished a run, by ID.
func (r *Result) Ranked() []*Trial {
	out := slices.Clone(r.Trials)
	key := func(t *Trial) (int, float64) {
		run, ok := t.Last()
		if !ok {
			return -1, 0
		}
		return run.Rung, run.loss()
	}
	slices.SortStableFunc(out, func(a, b *Trial) int {
		ra, la := key(a)
		rb, lb := key(b)
		return cmp.Or(cmp.Compare(rb, ra), cmp.Compare(la, lb), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// WriteTable writes every trial as a Markdown table, in Ranked order: the
// rung it reached, its values, its validation AUC and log loss there, the
// run's time and the examples it trained on; then the errors of failed
// runs.
func (r *Result) WriteTable(w io.Writer) error {
	head := []string{"rung", "trial", "alpha", "beta", "l1", "l2", "lr", "acc", "epochs", "emb", "hidden", "buckets", "interaction", "AUC", "log loss", "time", "trained"}
	right := []bool{true, false, true, true, true, true, true, true, false, true, false, true, false, true, true, true, true}
	rows := [][]string{head}
	var failures []string
	for _, t := range r.Ranked() {
		v := t.Values
		name := strconv.Itoa(t.ID)
		switch {
		case t == r.Best && t.ID == 0:
			name += " (base, best)"
		case t == r.Best:
			name += " (best)"
		case t.ID == 0:
			name += " (base)"
		}
		row := []string{"-", name, g(v.Alpha), g(v.Beta), g(v.L1), g(v.L2), g(v.LearningRate), g(v.InitialAccumulator), "-",
			"x" + g(v.Embedding), hiddenText(v.Hidden), "x" + g(v.Buckets), string(v.Interaction.OrNone()), "-", "-", "-", "-"}
		if r.Mode == ModeBackfill {
			row[8] = strconv.Itoa(v.Epochs)
		}
		if run, ok := t.Last(); ok {
			row[0] = strconv.Itoa(run.Rung)
			row[15] = run.Duration.Round(10 * time.Millisecond).String()
			if run.Err != nil {
				row[14] = "failed"
				failures = append(failures, fmt.Sprintf("trial %d failed at rung %d: %v", t.ID, run.Rung, run.Err))
			} else {
				row[13] = fmt.Sprintf("%.4f", run.Metrics.AUC)
				row[14] = fmt.Sprintf("%.5f", run.Metrics.LogLoss)
				row[16] = strconv.FormatInt(run.Trained, 10)
				if r.Mode == ModeBackfill {
					row[8] = fmt.Sprintf("%d of %d", run.BestEpoch, v.Epochs)
				}
			}
		}
		rows = append(rows, row)
	}
	width := make([]int, len(head))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-len(c))
			if right[i] {
				c = pad + c
			} else {
				c += pad
			}
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	line(rows[0])
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i]-1)
		if right[i] {
			sep[i] += ":"
		} else {
			sep[i] += "-"
		}
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
	if len(failures) > 0 {
		b.WriteString("\n")
		for _, f := range failures {
			b.WriteString(f + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Describe says in one line how far the search went and why it stopped.
func (r *Result) Describe() string {
	shares := make([]string, len(r.Rungs))
	for i, g := range r.Rungs {
		shares[i] = shareText(g.Share)
	}
	s := fmt.Sprintf("%d trials, %d rungs (shares %s)", len(r.Trials), len(r.Rungs), strings.Join(shares, ", "))
	switch r.Stop {
	case StopDone:
		return s + ": every rung ran"
	case StopBudget, StopCancelled:
		why := "the budget ran out"
		if r.Stop == StopCancelled {
			why = "cancelled"
		}
		for _, g := range r.Rungs {
			if !g.Complete && r.Best == nil {
				return fmt.Sprintf("%s: %s during rung %d (%d of its %d runs finished): no run succeeded", s, why, g.Index, g.Finished, len(g.Runs))
			}
			if !g.Complete {
				return fmt.Sprintf("%s: %s during rung %d (%d of its %d runs finished); the best is the best of rung %d", s, why, g.Index, g.Finished, len(g.Runs), r.Reached)
			}
		}
		return s + ": " + why
	}
	return s
}

// shareText writes a rung's share as 1/k (or 1).
func shareText(f float64) string {
	if f >= 1 {
		return "1"
	}
	return "1/" + strconv.FormatFloat(1/f, 'f', 0, 64)
}
