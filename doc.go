// Package wdstream is the root of the wdstream module: a continuous-training
// pipeline for Wide & Deep recommender models (Cheng et al., 2016).
//
// The packages, in data-flow order: schemas (events, examples, the feature
// spec), kafka (the one home of Kafka), ingest (the impression/install join,
// the archive), featurize (vocabularies, quantiles, crosses, batches),
// trainer (the model), publisher (the store, the validation gate, hooks),
// warmstart (the warm-start rule), continuous (the train stage) and status
// (the status page). cmd/wdstream wires them; README.md, "Code map", has
// the picture of their imports (scripts/imports.sh prints it).
package wdstream
