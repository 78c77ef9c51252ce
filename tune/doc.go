// Package tune searches the model section of a feature spec for the
// settings that predict a time-ordered validation split best: successive
// halving (Jamieson and Talwalkar 2016, the inner loop of Hyperband) over
// randomly sampled trials, each trained by the same featurizer and trainer
// as the backfill or the always-on service. It has no CLI or I/O of its
// own: `wdstream tune` reads the examples, calls Search and writes the best
// spec.
//
// # Data
//
// The caller splits its examples, sorted by event time, into train and
// validation, validation being the newest share: settings are chosen on
// data later than all the data they were trained on, as a model in service
// is always scored on the next minutes. Nothing of validation is fitted
// (vocabularies, quantiles) or trained on before it is scored.
//
// # Search space
//
// Space lists the searched keys: model.ftrl alpha, beta, l1, l2,
// model.adagrad learning_rate, initial_accumulator (log-uniform ranges, l1
// and l2 zero with a given probability), model.epochs (a maximum, with early
// stopping on the validation split; backfill mode only), a factor applied
// to every feature's embedding_dim, model.hidden from a list of shapes, and
// a factor applied to every cross's hash_buckets. Sampled reals are rounded
// to 3 significant digits, so the written spec reads well. Trial 0 is the
// base spec itself. Every trial's spec is marshaled and parsed again with
// the caller's spec.LoadOptions, so it passes the same validation (and
// model-size budget) as a spec file; one that fails is drawn again.
//
// # Successive halving
//
// With n0 trials and rate eta there are R rungs, the fewest after which
// ceil(...ceil(n0/eta).../eta) is 1 (27 trials, eta 3: 27, 9, 3, then the
// winner). Rung r trains on the newest eta^-(R-1-r) share of the training
// examples (1/9, 1/3, 1), so every rung is as close in time to the
// validation split as the data allows, then scores the validation split.
// The ceil(n/eta) trials with the lowest validation log loss (ties to the
// lower trial id) go on to the next rung: log loss is what the trainer
// minimizes, is defined on every split (AUC is not with a single class) and
// separates close trials better than AUC; AUC is reported too. A trial
// whose run fails (a model that diverged to NaN, say) ranks last and is
// not promoted.
//
// Trial 0 runs at every rung, promoted or not, so that the best trial is
// always compared with the base spec on the same data. The best trial is
// the one with the lowest validation log loss among the runs of the
// highest rung reached, trial 0 included: when no sampled trial beats the
// base spec there, the base spec is the best.
//
// # Modes
//
// ModeBackfill trains like `wdstream backfill`: the featurizer is fitted
// on the rung's examples (boundaries fixed from them), then up to
// model.epochs passes in time order, each followed by an evaluation on the
// validation split (which plays the part of the backfill's
// model.early_stopping.validation share); training stops after
// model.early_stopping.patience epochs without a lower log loss and keeps
// the best epoch, whose validation figures are the run's.
//
// ModeStream runs what the always-on service does (package continuous)
// from a cold start: the first Bootstrap examples are fitted and the
// boundaries fixed, then one pass in time order over the rung's examples and
// on through the validation split, each batch through FitTransform and one
// training step; the predictions on the validation split are made before
// the step that trains on them (progressive validation), and the run's
// figures are computed on them. model.epochs is not searched.
//
// # Featurizer reuse
//
// Fitting depends on the features and crosses of a spec (vocabulary
// settings, quantiles, hash_buckets) and on the rung's examples, not on
// the model section nor on embedding_dim. Search fits one state per
// distinct pair, encodes it, and decodes a State per run bound to the run's
// own spec. Transform only updates atomic counters, so a fitted State could
// be shared read-only; a per-run State is decoded anyway because
// trainer.Train rebuilds the best epoch's model from the State's spec
// (st.Spec()), which must be the run's spec, and because stream mode fits
// as it goes.
//
// # Parallelism and determinism
//
// The runs of a rung go Parallel at a time, each with Workers/Parallel
// training threads (at least 1). A run's result depends only on its spec,
// its rung's examples, the validation split and its thread count (the
// trainer is deterministic for a fixed worker count), and promotions only
// on results and trial ids, so a given seed, Parallel and Workers give the
// same trials, in the same order, with the same results, whatever the
// order in which parallel runs finish. Only durations differ, and a search
// cut short by its Budget stops wherever the clock says.
//
// # Budget and cancellation
//
// Budget bounds the search's wall clock: when it runs out, the runs in
// flight are cancelled and dropped, and the result says which rung was
// reached and how much of it. The runs of a rung start in the order of the
// previous rung's ranking (trial 0 first when it runs as the baseline), so
// a cut rung holds the most promising trials and the comparison with the
// base spec. A cancelled ctx stops the search the same way.
package tune
