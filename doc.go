// Package wdstream is the root of the wdstream module: a continuous-training
// pipeline for Wide & Deep recommender models (Cheng et al., 2016).
//
// The packages, in data-flow order: schemas (events, examples, the feature
// spec), ingest (the impression/install join, Kafka), featurize
// (vocabularies, quantiles, crosses, batches), trainer (the model), publisher
// (the validation gate, versioned artifacts, hooks). cmd/wdstream wires them.
package wdstream
