package metrics

import (
	"fmt"
	"math"
)

// LogLossEpsilon clips predictions to [LogLossEpsilon, 1-LogLossEpsilon]
// before the logarithm, so that a confident mistake costs a large but finite
// amount (-ln 1e-7 ≈ 16.1). It is TensorFlow's default clip.
const LogLossEpsilon = 1e-7

// LogLoss returns the mean binary cross-entropy
//
//	-1/n Σ y ln p + (1-y) ln(1-p)
//
// with p clipped to [LogLossEpsilon, 1-LogLossEpsilon]. Predictions must be
// probabilities in [0,1].
func LogLoss[P, L Real](pred []P, label []L) (float64, error) {
	if _, err := checkInput(pred, label, true); err != nil {
		return 0, fmt.Errorf("log loss: %w", err)
	}
	var sum float64
	for i, p := range pred {
		q := min(max(float64(p), LogLossEpsilon), 1-LogLossEpsilon)
		if label[i] == 1 {
			sum -= math.Log(q)
		} else {
			sum -= math.Log1p(-q)
		}
	}
	return sum / float64(len(pred)), nil
}

// Calibration returns mean prediction / mean label: 1 for a calibrated
// model, above 1 when it over-predicts. It fails with ErrOneClass when no
// label is positive.
func Calibration[P, L Real](pred []P, label []L) (float64, error) {
	pos, err := checkInput(pred, label, true)
	if err != nil {
		return 0, fmt.Errorf("calibration: %w", err)
	}
	if pos == 0 {
		return 0, fmt.Errorf("calibration: no positive label: %w", ErrOneClass)
	}
	var sum float64
	for _, p := range pred {
		sum += float64(p)
	}
	return sum / float64(pos), nil
}
