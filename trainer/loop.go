package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/trainer/metrics"
)

// Order is the order in which Train visits examples within an epoch.
type Order string

const (
	// OrderTime visits examples in the order given (by event time when the
	// caller sorted them): the order a stream would deliver them.
	OrderTime Order = "time"
	// OrderShuffle visits a seeded permutation, new for every epoch.
	OrderShuffle Order = "shuffle"
)

// TrainOptions tune Train.
type TrainOptions struct {
	Epochs    int   // default 1
	BatchSize int   // default 256
	Order     Order // default OrderTime
	Seed      uint64
	// Progress, when set, is called after every batch with the examples
	// trained so far (counting every epoch) and the total (Epochs passes
	// over the examples negative sampling keeps: a maximum when training
	// may stop early).
	Progress func(done, total int64)
	// NegativeSampling is the rate of spec model.negative_sampling: the
	// training steps see every positive and the negatives Keep keeps at
	// this rate (the same in every epoch). 0 or 1: every example.
	// Validation is never sampled.
	NegativeSampling float64

	// Validation, when set, turns on early stopping: after every epoch
	// the model is evaluated on these examples (newer than the training
	// examples, never trained on); training stops once Patience epochs in
	// a row (default 1) have not lowered the validation log loss, and the
	// model is left as it was after its best epoch. Epochs is then a
	// maximum.
	Validation []schemas.Example
	Patience   int
	// OnEpoch, when set, is called after every epoch with its figures.
	OnEpoch func(EpochReport)
}

// EpochReport is one epoch of a Train call.
type EpochReport struct {
	Epoch     int     // 1-based
	TrainLoss float64 // mean training log loss over the epoch
	// Validation is the model's figures on TrainOptions.Validation after
	// the epoch (zero without it); Best says it is the lowest validation
	// log loss so far.
	Validation Metrics
	Best       bool
}

// TrainStats summarize a Train call.
type TrainStats struct {
	Examples int64 // trained, counting every epoch
	Batches  int64
	// Dropped is the number of negatives negative sampling dropped from
	// the examples (once: the same ones in every epoch).
	Dropped  int64
	MeanLoss float64 // mean training log loss over the last epoch run
	// Epochs is the number of epochs run; with early stopping, BestEpoch
	// (1-based) is the epoch whose model Train kept, and History has every
	// epoch's figures.
	Epochs    int
	BestEpoch int
	History   []EpochReport
}

// Train trains on exs with the featurizer state st (which must already be
// fitted and have its boundaries set) for the given epochs, on the
// examples opts.NegativeSampling keeps. Featurizing the next batch
// overlaps with training the current one.
func (t *Trainer) Train(ctx context.Context, st *featurize.State, exs []schemas.Example, opts TrainOptions) (TrainStats, error) {
	if opts.Epochs <= 0 {
		opts.Epochs = 1
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	var stats TrainStats
	if len(exs) == 0 {
		return stats, errors.New("train: no examples")
	}
	if opts.NegativeSampling > 0 {
		kept, dropped, err := SampleNegatives(exs, opts.NegativeSampling)
		if err != nil {
			return stats, fmt.Errorf("train: %w", err)
		}
		if len(kept) == 0 {
			return stats, fmt.Errorf("train: negative sampling at rate %g kept none of %d examples", opts.NegativeSampling, len(exs))
		}
		exs, stats.Dropped = kept, int64(dropped)
	}
	if opts.Patience <= 0 {
		opts.Patience = 1
	}
	total := int64(len(exs)) * int64(opts.Epochs)
	order := make([]int, len(exs))
	buf := make([]schemas.Example, 0, opts.BatchSize)
	var best []byte // the weights after the best epoch, when not the last
	for epoch := range opts.Epochs {
		for i := range order {
			order[i] = i
		}
		if opts.Order == OrderShuffle {
			rng := rand.New(rand.NewPCG(opts.Seed, uint64(epoch)))
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		batches := make(chan *featurize.Batch, 1)
		free := make(chan *featurize.Batch, 2)
		free <- new(featurize.Batch)
		free <- new(featurize.Batch)
		errc := make(chan error, 1)
		go func() { // featurize ahead of the trainer
			defer close(batches)
			for lo := 0; lo < len(order); lo += opts.BatchSize {
				hi := min(lo+opts.BatchSize, len(order))
				buf = buf[:0]
				for _, i := range order[lo:hi] {
					buf = append(buf, exs[i])
				}
				var b *featurize.Batch
				select {
				case b = <-free:
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
				if err := st.Transform(b, buf); err != nil {
					errc <- fmt.Errorf("train: featurizing examples %d-%d: %w", lo, hi, err)
					return
				}
				batches <- b
			}
			errc <- nil
		}()
		var lossSum float64
		var n int64
		for b := range batches {
			loss, _ := t.Step(b, nil)
			lossSum += loss * float64(b.N)
			n += int64(b.N)
			stats.Batches++
			stats.Examples += int64(b.N)
			free <- b
			if opts.Progress != nil {
				opts.Progress(stats.Examples, total)
			}
		}
		if err := <-errc; err != nil {
			return stats, err
		}
		stats.MeanLoss = lossSum / float64(n)
		stats.Epochs = epoch + 1
		rep := EpochReport{Epoch: epoch + 1, TrainLoss: stats.MeanLoss}
		stop := false
		if len(opts.Validation) > 0 {
			var err error
			if rep.Validation, _, err = t.Evaluate(st, opts.Validation); err != nil {
				return stats, fmt.Errorf("train: early stopping: evaluating epoch %d on %d validation examples: %w", epoch+1, len(opts.Validation), err)
			}
			bestLoss := math.Inf(1)
			if stats.BestEpoch > 0 {
				bestLoss = stats.History[stats.BestEpoch-1].Validation.LogLoss
			}
			if rep.Best = rep.Validation.LogLoss < bestLoss; rep.Best {
				stats.BestEpoch, best = epoch+1, nil
			} else if epoch+1-stats.BestEpoch >= opts.Patience {
				stop = true
			}
			// The weights of a best epoch are kept only when another
			// epoch follows that may not beat it.
			if rep.Best && epoch+1 < opts.Epochs {
				if best, err = t.M.EncodeWeights(); err != nil {
					return stats, fmt.Errorf("train: early stopping: keeping epoch %d: %w", epoch+1, err)
				}
			}
		}
		stats.History = append(stats.History, rep)
		if opts.OnEpoch != nil {
			opts.OnEpoch(rep)
		}
		if stop {
			break
		}
	}
	if stats.BestEpoch > 0 && stats.BestEpoch < stats.Epochs {
		m, err := DecodeWeights(best, st.Spec(), t.M.Layout)
		if err != nil {
			return stats, fmt.Errorf("train: early stopping: restoring epoch %d: %w", stats.BestEpoch, err)
		}
		*t.M = *m
	}
	return stats, nil
}

// Metrics are the evaluation figures of a model on a set of examples.
type Metrics = metrics.Summary

// Score predicts every example's probability with state st, in batches.
func (t *Trainer) Score(st *featurize.State, exs []schemas.Example, batchSize int) ([]float32, error) {
	if batchSize <= 0 {
		batchSize = 1024
	}
	out := make([]float32, 0, len(exs))
	var b featurize.Batch
	var p []float32
	for lo := 0; lo < len(exs); lo += batchSize {
		hi := min(lo+batchSize, len(exs))
		if err := st.Transform(&b, exs[lo:hi]); err != nil {
			return nil, fmt.Errorf("scoring examples %d-%d: %w", lo, hi, err)
		}
		p = t.Predict(p, &b)
		out = append(out, p...)
	}
	return out, nil
}

// Evaluate scores exs and computes AUC, log loss and calibration.
func (t *Trainer) Evaluate(st *featurize.State, exs []schemas.Example) (Metrics, []float32, error) {
	preds, err := t.Score(st, exs, 0)
	if err != nil {
		return Metrics{}, nil, err
	}
	labels := make([]float32, len(exs))
	for i := range exs {
		labels[i] = float32(exs[i].Label)
	}
	m, err := metrics.Evaluate(preds, labels)
	return m, preds, err
}
