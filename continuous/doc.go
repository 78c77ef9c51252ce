// Package continuous is the train stage of the always-on service: it
// trains the Wide & Deep model incrementally on the `examples` topic,
// checkpoints it to the store, and publishes a gated candidate on the
// spec's schedule, so that a model is never more than minutes behind the
// logs.
//
// # The loop
//
// Records of every partition of `examples` (read from explicit offsets,
// kafka.Source) are decoded and gathered into mini-batches of
// model.batch_size, or fewer after 1s without new records. Each batch goes
// through the featurizer's FitTransform (vocabularies and quantile sketches
// grow with the stream) and one training step; the step's predictions are
// made before the update, so they are progressive validation: the running
// AUC and log loss over the last ProgressiveWindow examples are exported.
// With negative sampling (spec model.negative_sampling below 1) every
// example is still fitted and scored (the progressive metrics see them
// all), and the step trains on those trainer.Keep keeps, the same ones the
// backfill keeps (trainer.SampledStep): wdstream_train_examples_total
// counts them, wdstream_train_negatives_dropped_total the others.
//
// On a cold start (no checkpoint, no published version) the first
// Bootstrap examples are fitted first and the quantile boundaries fixed
// from them; the boundaries then stay fixed for the life of the model (a
// trained model reads its normalized inputs through them), while the
// vocabularies keep growing.
//
// # Checkpoints and exactness
//
// Every CheckpointEvery (time) the stage writes a checkpoint to
// NAME/checkpoints/SEQ/ in the store: the bundle (spec, featurizer state
// with its sketches, weights with optimizer state), and progress.json
// with, per partition, the next offset not trained on; manifest.json last.
// Only then are the offsets committed to Kafka (consumer group
// TrainGroup, for lag monitoring). A restart resumes from the newest
// complete checkpoint and reads each partition from its recorded offset,
// so no example is trained twice or skipped: work after the last
// checkpoint is lost with the process and redone. With TrainedLog set,
// each checkpoint also holds trained.txt, the (impression_id, label) of
// every example it added, so a test can verify exactness from the
// checkpoints themselves.
//
// While a fresh set is held (see Publishing) a checkpoint records the
// offsets at which the fresh set began: everything before them was
// trained, nothing after. The first checkpoint is written before the first
// publish, so that a restart resumes from a checkpoint (and, with
// TrainedLog, the trained logs cover what every version was trained on).
// The examples topic may not exist yet when the stage starts (the join
// stage of the same process creates it): the stage waits for it, not
// ready meanwhile. When reading it fails (a broker outage, a moved
// partition leader), the stage trains what it has read, drops what the
// readers buffered and reopens the topic at the next offset it has not
// read, retrying until the brokers answer (not ready meanwhile;
// wdstream_train_source_restarts_total counts it).
//
// Without a checkpoint the stage starts from the published version LATEST
// names (warm start: its featurizer state and optimizer state), reading
// from the offsets its manifest records, or cold from StartDefault. A
// checkpoint or version trained with another spec is refused, by package
// warmstart's rule (the backfill moves a model to a new spec).
//
// # Publishing
//
// Every publish.every (time) or publish.every_examples (trained examples),
// the next validation.examples examples are held back as the fresh set:
// neither the candidate (the current model) nor the baseline (LATEST) has
// trained on them. The publisher's gate compares both on it and publishes
// or rejects the candidate (hooks fire either way); then the fresh
// examples are trained on like any others. A fresh set that does not fill
// within FreshWait (low traffic, the end of a stream) goes to the gate as
// it is when it holds at least a tenth of validation.examples (and 200);
// else it is trained on and that publish is skipped. The manifest names the data the
// version covers: the next offset of every partition and the event-time
// range of the examples trained on.
//
// Each candidate carries the statistics (package drift) of the examples
// trained since the last published version (a rejected candidate's
// examples count towards the next one), not of everything the model ever
// saw: the gate's drift check asks whether the fresh data differ from
// what LATEST learned last, and a window since the previous publish
// answers that with no decay to tune. They count a random tenth of those
// examples (counting is a fifth of the cost of training one), and are kept
// in memory only: after a restart they cover the examples trained since
// the restart.
//
// # When traffic stops
//
// A version is only published after the gate has compared it with LATEST
// on examples neither trained on, so the examples trained after the last
// publish decision of a stream that has gone quiet (at most publish.every
// of traffic, plus that decision's fresh set) wait, trained and
// checkpointed, for the next version: the first one built after traffic
// resumes (due at once; its fresh set is the examples that follow the
// first batch trained). Nothing is lost
// meanwhile; a publish is never made on examples the candidate has
// already trained on.
package continuous
