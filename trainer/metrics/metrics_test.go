package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestAUC(t *testing.T) {
	tests := []struct {
		name  string
		pred  []float64
		label []int32
		want  float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []int32{0, 0, 1, 1}, 1},
		{"inverted", []float64{0.9, 0.8, 0.2, 0.1}, []int32{0, 0, 1, 1}, 0},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []int32{0, 1, 0, 1}, 0.5},
		// sklearn's roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75
		{"sklearn example", []float64{0.1, 0.4, 0.35, 0.8}, []int32{0, 0, 1, 1}, 0.75},
		// one tie between a positive and a negative: 3 wins + 1 half of 4 pairs
		{"one tie", []float64{0.1, 0.5, 0.5, 0.9}, []int32{0, 0, 1, 1}, 0.875},
		{"unsorted input", []float64{0.9, 0.1, 0.7, 0.3, 0.5}, []int32{1, 0, 0, 1, 1}, 4.0 / 6},
		{"negative scores", []float64{-3, -1, 2}, []int32{0, 1, 1}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AUC(tc.pred, tc.label)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("AUC = %v, want %v", got, tc.want)
			}
		})
	}
}

// bruteAUC counts pairs: O(n²), the definition itself.
func bruteAUC(pred []float32, label []bool) float64 {
	var wins, pairs float64
	for i := range pred {
		if !label[i] {
			continue
		}
		for j := range pred {
			if label[j] {
				continue
			}
			pairs++
			switch {
			case pred[i] > pred[j]:
				wins++
			case pred[i] == pred[j]:
				wins += 0.5
			}
		}
	}
	return wins / pairs
}

func TestAUCMatchesPairCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 10, 101, 500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			pred := make([]float32, n)
			lab := make([]bool, n)
			y := make([]uint8, n)
			for i := range pred {
				pred[i] = float32(rng.IntN(7)) / 7 // many ties
				lab[i] = rng.Float64() < 0.3+0.4*float64(pred[i])
				if lab[i] {
					y[i] = 1
				}
			}
			lab[0], y[0], lab[1], y[1] = true, 1, false, 0
			got, err := AUC(pred, y)
			if err != nil {
				t.Fatal(err)
			}
			if want := bruteAUC(pred, lab); math.Abs(got-want) > 1e-12 {
				t.Errorf("AUC = %v, pair count gives %v", got, want)
			}
		})
	}
}

func TestInputErrors(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name    string
		pred    []float64
		label   []float64
		wantErr string
		oneCls  bool
	}{
		{"length mismatch", []float64{0.1}, []float64{0, 1}, "1 predictions but 2 labels", false},
		{"empty", nil, nil, "no examples", false},
		{"bad label", []float64{0.1, 0.2}, []float64{0, 2}, "label 1 is 2", false},
		{"nan prediction", []float64{nan, 0.2}, []float64{0, 1}, "prediction 0 is NaN", false},
		{"only positives", []float64{0.1, 0.2}, []float64{1, 1}, "2 positives and 0 negatives", true},
		{"only negatives", []float64{0.1, 0.2}, []float64{0, 0}, "0 positives and 2 negatives", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := AUC(tc.pred, tc.label)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("AUC error = %v, want one containing %q", err, tc.wantErr)
			}
			if got := errors.Is(err, ErrOneClass); got != tc.oneCls {
				t.Errorf("errors.Is(err, ErrOneClass) = %v, want %v", got, tc.oneCls)
			}
		})
	}
}

func TestLogLoss(t *testing.T) {
	tests := []struct {
		name  string
		pred  []float64
		label []int
		want  float64
	}{
		{"half", []float64{0.5, 0.5}, []int{0, 1}, math.Ln2},
		{"mixed", []float64{0.9, 0.2}, []int{1, 0}, -(math.Log(0.9) + math.Log(0.8)) / 2},
		{"perfect clipped", []float64{1, 0}, []int{1, 0}, -math.Log(1 - LogLossEpsilon)},
		{"confident mistake clipped", []float64{0}, []int{1}, -math.Log(LogLossEpsilon)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LogLoss(tc.pred, tc.label)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("LogLoss = %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := LogLoss([]float64{1.5}, []int{1}); err == nil || !strings.Contains(err.Error(), "prediction 0 is 1.5") {
		t.Errorf("LogLoss of 1.5: error %v, want one naming prediction 0", err)
	}
}

func TestCalibration(t *testing.T) {
	tests := []struct {
		name  string
		pred  []float32
		label []int32
		want  float64
	}{
		{"calibrated", []float32{0.25, 0.25, 0.25, 0.25}, []int32{1, 0, 0, 0}, 1},
		{"over-predicts", []float32{0.5, 0.5, 0.5, 0.5}, []int32{1, 0, 0, 0}, 2},
		{"under-predicts", []float32{0.1, 0.1}, []int32{1, 1}, 0.1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Calibration(tc.pred, tc.label)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("Calibration = %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := Calibration([]float64{0.1}, []int{0}); !errors.Is(err, ErrOneClass) {
		t.Errorf("Calibration without positives: error %v, want ErrOneClass", err)
	}
}

func TestEvaluate(t *testing.T) {
	s, err := Evaluate([]float64{0.1, 0.4, 0.35, 0.8}, []int{0, 0, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Count: 4, Positives: 2, MeanPred: 0.4125, MeanLabel: 0.5, AUC: 0.75, Calibration: 0.825}
	want.LogLoss = -(math.Log(0.9) + math.Log(0.6) + math.Log(0.35) + math.Log(0.8)) / 4
	if !summariesEqual(s, want) {
		t.Errorf("Evaluate = %+v, want %+v", s, want)
	}
	// A single class leaves AUC at 0 without failing.
	s, err = Evaluate([]float64{0.1, 0.2}, []int{0, 0})
	if err != nil {
		t.Fatalf("Evaluate of one class: %v", err)
	}
	if s.AUC != 0 || s.Calibration != 0 || s.Positives != 0 {
		t.Errorf("Evaluate of one class = %+v, want AUC, Calibration and Positives 0", s)
	}
	if _, err := Evaluate([]float64{0.1}, []int{3}); err == nil {
		t.Error("Evaluate with label 3: no error")
	}
}

func summariesEqual(a, b Summary) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	return a.Count == b.Count && a.Positives == b.Positives && eq(a.MeanPred, b.MeanPred) &&
		eq(a.MeanLabel, b.MeanLabel) && eq(a.AUC, b.AUC) && eq(a.LogLoss, b.LogLoss) &&
		eq(a.Calibration, b.Calibration)
}

func BenchmarkAUC(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			pred := make([]float32, n)
			label := make([]int32, n)
			for i := range pred {
				pred[i] = rng.Float32()
				if rng.Float32() < pred[i]*0.1 {
					label[i] = 1
				}
			}
			label[0], label[1] = 0, 1
			b.ResetTimer()
			for b.Loop() {
				if _, err := AUC(pred, label); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "examples/s")
		})
	}
}
