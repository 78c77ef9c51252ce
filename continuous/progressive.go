package continuous

import (
	"github.com/wdstream/wdstream/trainer/metrics"
)

// progressive keeps the predictions made before training (progressive
// validation) of the last n examples, for the running AUC and log loss.
type progressive struct {
	preds, labels []float32
	next          int
	full          bool
}

func newProgressive(n int) *progressive {
	return &progressive{preds: make([]float32, n), labels: make([]float32, n)}
}

func (p *progressive) add(preds, labels []float32) {
	for i := range preds {
		p.preds[p.next], p.labels[p.next] = preds[i], labels[i]
		p.next++
		if p.next == len(p.preds) {
			p.next, p.full = 0, true
		}
	}
}

// summary computes the metrics over the window (zero Count when empty).
func (p *progressive) summary() metrics.Summary {
	n := p.next
	if p.full {
		n = len(p.preds)
	}
	if n == 0 {
		return metrics.Summary{}
	}
	s, err := metrics.Evaluate(p.preds[:n], p.labels[:n])
	if err != nil {
		return metrics.Summary{}
	}
	return s
}
