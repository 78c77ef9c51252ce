package metrics

import (
	"fmt"
	"slices"
)

// AUC returns the exact area under the ROC curve of scores pred against
// labels label: the probability that a random positive scores above a
// random negative, ties counting one half. It sorts a copy of the input,
// O(n log n); pred and label are not modified. Scores need not be
// probabilities. It fails on mismatched lengths, labels other than 0/1,
// NaN scores, and (with ErrOneClass) when either class is absent.
func AUC[P, L Real](pred []P, label []L) (float64, error) {
	pos, err := checkInput(pred, label, false)
	if err != nil {
		return 0, fmt.Errorf("auc: %w", err)
	}
	neg := len(label) - pos
	if pos == 0 || neg == 0 {
		return 0, fmt.Errorf("auc: %d positives and %d negatives: %w", pos, neg, ErrOneClass)
	}
	// Sort the two classes' scores apart (plain float64 sorts, no
	// comparator), then walk them together: a positive beats every
	// negative below it and ties half of those equal to it.
	ps := make([]float64, 0, pos)
	ns := make([]float64, 0, neg)
	for i, p := range pred {
		if label[i] == 1 {
			ps = append(ps, float64(p))
		} else {
			ns = append(ns, float64(p))
		}
	}
	slices.Sort(ps)
	slices.Sort(ns)
	var wins float64    // sum over positives of (negatives below + ties/2)
	below, upTo := 0, 0 // negatives < and <= the current positive score
	for i := 0; i < len(ps); {
		s := ps[i]
		j := i
		for j < len(ps) && ps[j] == s {
			j++
		}
		for below < len(ns) && ns[below] < s {
			below++
		}
		upTo = max(upTo, below)
		for upTo < len(ns) && ns[upTo] == s {
			upTo++
		}
		wins += float64(j-i) * (float64(below) + float64(upTo-below)/2)
		i = j
	}
	return wins / (float64(pos) * float64(neg)), nil
}
