package metrics

import (
	"errors"
	"fmt"
	"math"
)

// ErrOneClass is returned (wrapped) when the labels hold only positives or
// only negatives, so that AUC or calibration is undefined. Callers that
// evaluate small or fresh batches branch on it with errors.Is.
var ErrOneClass = errors.New("labels hold a single class")

// ErrEmpty is returned (wrapped) when there are no examples.
var ErrEmpty = errors.New("no examples")

// Real is a numeric type usable as a prediction or a label.
type Real interface {
	~float32 | ~float64 | ~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8
}

// checkInput verifies that pred and label have the same non-zero length,
// that every label is 0 or 1 and every prediction is a number (not NaN).
// When probs is set, predictions must also lie in [0,1]. It returns the
// number of positive labels.
func checkInput[P, L Real](pred []P, label []L, probs bool) (pos int, err error) {
	if len(pred) != len(label) {
		return 0, fmt.Errorf("%d predictions but %d labels", len(pred), len(label))
	}
	if len(pred) == 0 {
		return 0, ErrEmpty
	}
	for i, y := range label {
		switch y {
		case 1:
			pos++
		case 0:
		default:
			return 0, fmt.Errorf("label %d is %v, want 0 or 1", i, y)
		}
	}
	for i, p := range pred {
		f := float64(p)
		if math.IsNaN(f) {
			return 0, fmt.Errorf("prediction %d is NaN", i)
		}
		if probs && (f < 0 || f > 1) {
			return 0, fmt.Errorf("prediction %d is %v, want a probability in [0,1]", i, f)
		}
	}
	return pos, nil
}
