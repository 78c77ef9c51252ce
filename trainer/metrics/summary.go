package metrics

import (
	"errors"
	"fmt"
)

// Summary holds the metrics of one evaluation set.
type Summary struct {
	Count       int     `json:"count"`       // examples
	Positives   int     `json:"positives"`   // examples with label 1
	MeanPred    float64 `json:"mean_pred"`   // mean prediction
	MeanLabel   float64 `json:"mean_label"`  // base rate
	AUC         float64 `json:"auc"`         // exact ROC AUC; 0 when one class is absent
	LogLoss     float64 `json:"logloss"`     // mean clipped cross-entropy
	Calibration float64 `json:"calibration"` // MeanPred / MeanLabel; 0 when no label is positive
}

// Evaluate computes every metric of Summary at once. A set with a single
// class is not an error here: AUC (and, without positives, Calibration)
// stay 0 and the counts tell why. Other input errors are returned.
func Evaluate[P, L Real](pred []P, label []L) (Summary, error) {
	pos, err := checkInput(pred, label, true)
	if err != nil {
		return Summary{}, fmt.Errorf("evaluate: %w", err)
	}
	s := Summary{Count: len(pred), Positives: pos}
	var sum float64
	for _, p := range pred {
		sum += float64(p)
	}
	s.MeanPred = sum / float64(s.Count)
	s.MeanLabel = float64(pos) / float64(s.Count)
	if s.LogLoss, err = LogLoss(pred, label); err != nil {
		return Summary{}, fmt.Errorf("evaluate: %w", err)
	}
	if pos > 0 {
		s.Calibration = s.MeanPred / s.MeanLabel
	}
	if s.AUC, err = AUC(pred, label); err != nil && !errors.Is(err, ErrOneClass) {
		return Summary{}, fmt.Errorf("evaluate: %w", err)
	}
	return s, nil
}
