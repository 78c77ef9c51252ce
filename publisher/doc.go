// Package publisher stores model versions in object storage and decides
// which of them serve: the version layout with its manifest written last
// and the LATEST pointer (Store), the bundle of spec, featurizer state and
// weights that every consumer loads through one loader (Load), and the
// validation gate and publish hooks.
package publisher
