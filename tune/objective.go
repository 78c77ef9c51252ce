package tune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer"
	"github.com/wdstream/wdstream/trainer/metrics"
)

// fitCache fits the featurizer once per featurizer-relevant config and
// rung and hands every run a State of its own decoded from it (see the
// package doc, Featurizer reuse). It is the default Objective's.
type fitCache struct {
	mode      Mode
	bootstrap int

	mu sync.Mutex
	m  map[fitKey]*fitEntry
}

type fitKey struct {
	features string // featurizerKey of the spec
	rung     int
}

type fitEntry struct {
	once sync.Once
	enc  []byte // the fitted State, encoded (with its sketches in ModeStream)
	err  error
}

func newFitCache(mode Mode, bootstrap int) *fitCache {
	return &fitCache{mode: mode, bootstrap: bootstrap, m: map[fitKey]*fitEntry{}}
}

// featurizerKey returns what fitting a State depends on in sp: its
// features, without embedding_dim, and its crosses.
func featurizerKey(sp *spec.Spec) string {
	fs := make([]spec.Feature, len(sp.Features))
	for i, f := range sp.Features {
		f.EmbeddingDim = 0
		fs[i] = f
	}
	b, err := json.Marshal(struct {
		Features []spec.Feature
		Crosses  []spec.Cross
	}{fs, sp.Crosses})
	if err != nil {
		panic(fmt.Sprintf("tune: encoding the featurizer key: %v", err)) // plain data: cannot fail
	}
	return string(b)
}

// state returns a State for the job's spec, fitted on the job's examples
// (all of them in ModeBackfill, the first Bootstrap in ModeStream) with
// its boundaries fixed, and how many examples that fit covered.
func (c *fitCache) state(job Job) (*featurize.State, int, error) {
	n := len(job.Train)
	if c.mode == ModeStream {
		n = min(c.bootstrap, n)
	}
	key := fitKey{featurizerKey(job.Spec), job.Rung}
	c.mu.Lock()
	e := c.m[key]
	if e == nil {
		e = &fitEntry{}
		c.m[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		st, err := featurize.New(job.Spec, featurize.Options{})
		if err == nil {
			err = st.Fit(job.Train[:n])
		}
		if err != nil {
			e.err = &fatalError{fmt.Errorf("fitting the featurizer on the %d examples of rung %d: %w", n, job.Rung, err)}
			return
		}
		st.RefreshBoundaries()
		e.enc = st.AppendEncoded(nil, featurize.EncodeOptions{FitState: c.mode == ModeStream})
	})
	if e.err != nil {
		return nil, 0, e.err
	}
	st, err := featurize.DecodeBytes(e.enc, job.Spec, featurize.Options{})
	if err != nil {
		return nil, 0, &fatalError{fmt.Errorf("trial %d: %w", job.Trial, err)}
	}
	return st, n, nil
}

// drop forgets the states of rung r, which no run needs any more.
func (c *fitCache) drop(r int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.rung == r {
			delete(c.m, k)
		}
	}
}

// objective is the default Objective: a fresh model of the job's spec,
// trained and scored as the mode says.
func (c *fitCache) objective(ctx context.Context, job Job) (Score, error) {
	st, boot, err := c.state(job)
	if err != nil {
		return Score{}, err
	}
	model, err := trainer.NewModel(job.Spec, st.Layout())
	if err != nil {
		return Score{}, err
	}
	tr := trainer.NewTrainer(model, job.Workers)
	if c.mode == ModeStream {
		return streamRun(ctx, tr, st, job, boot)
	}
	return backfillRun(ctx, tr, st, job)
}

// backfillRun trains like the backfill: up to model.epochs passes in time
// order with early stopping on the validation split, keeping the best
// epoch, whose validation figures are the score.
func backfillRun(ctx context.Context, tr *trainer.Trainer, st *featurize.State, job Job) (Score, error) {
	m := &job.Spec.Model
	ts, err := tr.Train(ctx, st, job.Train, trainer.TrainOptions{
		Epochs: m.Epochs, BatchSize: m.BatchSize, Order: trainer.OrderTime, Seed: uint64(m.Seed),
		Validation: job.Validation, Patience: m.EarlyStopping.Patience, NegativeSampling: m.NegativeSampling.Rate(),
	})
	if err != nil {
		return Score{}, err
	}
	if ts.BestEpoch < 1 || ts.BestEpoch > len(ts.History) {
		return Score{}, fmt.Errorf("no epoch of %d had a finite validation log loss", ts.Epochs)
	}
	return Score{Metrics: ts.History[ts.BestEpoch-1].Validation, Trained: ts.Examples, Epochs: ts.Epochs, BestEpoch: ts.BestEpoch}, nil
}

// streamRun runs what the service does from a cold start: the bootstrap
// examples (already fitted) are transformed and trained, the rest of the
// rung and then the validation split go through FitTransform and one step
// per batch (trainer.SampledStep, with the spec's negative sampling, as the
// service runs it); the validation split's predictions, made before each
// step, are scored.
func streamRun(ctx context.Context, tr *trainer.Trainer, st *featurize.State, job Job, boot int) (Score, error) {
	bs := job.Spec.Model.BatchSize
	var b featurize.Batch
	var preds, scored, labels []float32
	pass := func(exs []schemas.Example, fit, score bool) error {
		for lo := 0; lo < len(exs); lo += bs {
			if err := ctx.Err(); err != nil {
				return err
			}
			chunk := exs[lo:min(lo+bs, len(exs))]
			var err error
			if fit {
				err = st.FitTransform(&b, chunk)
			} else {
				err = st.Transform(&b, chunk)
			}
			if err != nil {
				var ee *featurize.ExampleError
				if errors.As(err, &ee) {
					return &fatalError{err}
				}
				return err
			}
			preds, _ = tr.SampledStep(&b, job.Spec.Model.NegativeSampling.Rate(), preds)
			if score {
				scored = append(scored, preds...)
				labels = append(labels, b.Labels...)
			}
		}
		return nil
	}
	if err := pass(job.Train[:boot], false, false); err != nil {
		return Score{}, err
	}
	if err := pass(job.Train[boot:], true, false); err != nil {
		return Score{}, err
	}
	if err := pass(job.Validation, true, true); err != nil {
		return Score{}, err
	}
	m, err := metrics.Evaluate(scored, labels)
	if err != nil {
		return Score{}, fmt.Errorf("progressive validation: %w", err)
	}
	return Score{Metrics: m, Trained: int64(len(job.Train) + len(job.Validation))}, nil
}
