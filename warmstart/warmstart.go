// Package warmstart is the one rule for where training starts: from a
// previous model as it is, from a rebuilt featurizer and model that inherit
// what still fits, or from nothing. The backfill (`wdstream backfill
// --warm-start`, a published version) and the train stage of `wdstream run`
// (its newest checkpoint, else the published version LATEST names) both
// decide through Decide, so a model is continued under the same conditions
// whichever of them trains it.
//
// # The rule
//
//   - No previous model: Cold. A new featurizer is fitted on the first
//     examples (the backfill's training set; the train stage's bootstrap
//     examples), the quantile boundaries are fixed from them, and a new
//     model is initialized from the spec's seed.
//   - A previous model trained with the same spec: Continue. Its featurizer
//     state and its weights, with their optimizer state (FTRL's z and n,
//     AdaGrad's accumulators), are reused as they are: vocabularies keep
//     every id and grow append-only as new values are admitted, and the
//     quantile boundaries stay those the model was trained with.
//   - A previous model trained with another spec: Rebuild when the caller
//     allows it (the backfill), else refused with an error wrapping
//     ErrSpecChanged (the train stage: it restores before it has read any
//     example to rebuild a featurizer on, and a stream must not lose its
//     vocabularies behind the operator's back; the error says to continue
//     with the model's spec or to move it with the backfill). A Rebuild
//     fits a new featurizer with the new spec on the examples (new
//     vocabularies, new boundaries), builds a new model, and copies into it
//     from the previous one, by trainer.WarmStart, every tensor whose shape
//     the change kept, with its optimizer state, vocabulary rows moved by
//     their string (values the examples do not admit again are dropped). A
//     tensor whose shape changed (embedding dim, hash buckets, quantiles,
//     layer widths, mode) is an error naming it unless Options.Reinit
//     allows re-initializing it. A changed model.negative_sampling is a
//     spec change too: the new model's logit offset is log of the new
//     rate, and its bias is moved so that it scores as the previous one
//     did (trainer.WarmStart).
//
// # What a spec change is
//
// Two specs are the same when their canonical YAML (spec.Marshal: every
// key, defaults written out) is byte for byte equal. Any difference counts,
// including keys that shape neither the featurizer nor the tensors (name,
// join, validation, publish, hooks, the optimizers' settings, batch size):
// a continued featurizer state and model keep the spec they were built
// with, so continuing them under another one would train and publish with
// settings the new spec does not state. A spec that cannot be marshaled is
// never the same as another.
package warmstart

import (
	"errors"
	"fmt"

	"github.com/wdstream/wdstream/featurize"
	"github.com/wdstream/wdstream/publisher"
	"github.com/wdstream/wdstream/schemas"
	"github.com/wdstream/wdstream/schemas/spec"
	"github.com/wdstream/wdstream/trainer"
)

// Kind is where training starts.
type Kind int

const (
	// Cold: no previous model; a new featurizer and model.
	Cold Kind = iota
	// Continue: the previous model's featurizer state and weights, as they
	// are.
	Continue
	// Rebuild: a new featurizer and model for a changed spec, warm-started
	// from the previous model's tensors that still fit.
	Rebuild
)

func (k Kind) String() string {
	switch k {
	case Cold:
		return "cold"
	case Continue:
		return "continue"
	case Rebuild:
		return "rebuild"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ErrSpecChanged is wrapped by Decide's refusal of a previous model trained
// with another spec when Options.AllowRebuild is false.
var ErrSpecChanged = errors.New("trained with another spec")

// Options tune Decide and Prepare.
type Options struct {
	// AllowRebuild lets a previous model trained with another spec be
	// moved to the new one (Rebuild); without it such a model is refused.
	AllowRebuild bool
	// Reinit names the tensors a Rebuild may re-initialize when the spec
	// changed their shape ("*": any), as trainer.WarmStartOptions.
	Reinit []string
	// From names the previous model in errors: "playstore@v20260101T...",
	// "checkpoint 12".
	From string
}

// Decide applies the rule of the package doc to a previous model (nil:
// none) and the spec to train with: Cold, Continue or Rebuild, or an error
// wrapping ErrSpecChanged when the specs differ and opts does not allow a
// Rebuild.
func Decide(prev *publisher.Bundle, sp *spec.Spec, opts Options) (Kind, error) {
	switch {
	case prev == nil:
		return Cold, nil
	case sameSpec(prev.Spec, sp):
		return Continue, nil
	case opts.AllowRebuild:
		return Rebuild, nil
	}
	return 0, fmt.Errorf("%s was %w than %s; continue it with that spec, or move it to the new one with `wdstream backfill --warm-start` (and --reinit for changed tensors)", opts.from(), ErrSpecChanged, sp.Name)
}

func (o Options) from() string {
	if o.From == "" {
		return "the previous model"
	}
	return o.From
}

// sameSpec reports whether two specs marshal to the same canonical YAML.
func sameSpec(a, b *spec.Spec) bool {
	if a == nil || b == nil {
		return false
	}
	x, err1 := a.Marshal()
	y, err2 := b.Marshal()
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// Start is where training starts, as Prepare built it.
type Start struct {
	Kind  Kind
	State *featurize.State
	Model *trainer.Model
	// Warm says what a Rebuild carried over (nil for Cold and Continue).
	Warm *trainer.WarmReport
	// Expired is what the vocabularies' ttls evicted once the examples
	// were fitted: the strings not seen for a ttl before the newest
	// example (spec features[].ttl). Their rows in Model are reset.
	Expired []featurize.Expired
}

// Prepare decides (Decide) and builds the featurizer state and model to
// train sp from, for a caller that has its training examples up front
// (the backfill): Continue fits exs into the previous state (vocabularies
// grow, boundaries stay) and keeps the previous model; Cold and Rebuild
// fit a new featurizer on exs, fix its boundaries and build a new model,
// which a Rebuild warm-starts from the previous one. Then the
// vocabularies with a ttl evict the strings not seen for a ttl before the
// newest example, and the model forgets their rows. On Continue the
// previous bundle's state and model are modified in place.
func Prepare(prev *publisher.Bundle, sp *spec.Spec, exs []schemas.Example, opts Options) (*Start, error) {
	kind, err := Decide(prev, sp, opts)
	if err != nil {
		return nil, err
	}
	if kind == Continue {
		if err := prev.State.Fit(exs); err != nil {
			return nil, err
		}
		return expire(&Start{Kind: kind, State: prev.State, Model: prev.Model}), nil
	}
	st, err := featurize.New(sp, featurize.Options{})
	if err != nil {
		return nil, err
	}
	if err := st.Fit(exs); err != nil {
		return nil, err
	}
	st.RefreshBoundaries()
	model, err := trainer.NewModel(sp, st.Layout())
	if err != nil {
		return nil, err
	}
	start := &Start{Kind: kind, State: st, Model: model}
	if kind == Rebuild {
		rep, err := trainer.WarmStart(model, st, prev.Model, prev.State, trainer.WarmStartOptions{Reinit: opts.Reinit})
		if err != nil {
			return nil, fmt.Errorf("warm start from %s: %w", opts.from(), err)
		}
		start.Warm = rep
	}
	return expire(start), nil
}

// expire runs the vocabularies' ttls over the fitted state and resets the
// model's rows of what they evicted.
func expire(s *Start) *Start {
	s.Expired = s.State.ExpireNow()
	s.Model.Forget(s.Expired)
	return s
}
