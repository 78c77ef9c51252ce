package metrics

import (
	"cmp"
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
	type scored struct {
		s   float64
		pos bool
	}
	xs := make([]scored, len(pred))
	for i := range pred {
		xs[i] = scored{float64(pred[i]), label[i] == 1}
	}
	slices.SortFunc(xs, func(a, b scored) int { return cmp.Compare(a.s, b.s) })

	// Walk groups of equal scores in ascending order. A positive beats every
	// negative of a lower group and ties half of its own group's negatives.
	var wins float64 // sum over positives of (negatives below + ties/2)
	negBelow := 0
	for i := 0; i < len(xs); {
		j := i
		p, n := 0, 0
		for ; j < len(xs) && xs[j].s == xs[i].s; j++ {
			if xs[j].pos {
				p++
			} else {
				n++
			}
		}
		wins += float64(p) * (float64(negBelow) + float64(n)/2)
		negBelow += n
		i = j
	}
	return wins / (float64(pos) * float64(neg)), nil
}
