// Package metrics computes the offline quality metrics of a binary
// classifier that the trainer, the simulator's oracle report and the
// publisher's validation gate share: exact ROC AUC (ties count one half),
// clipped log loss and calibration (mean prediction over mean label).
//
// Conventions: predictions are probabilities in [0,1] (AUC accepts any
// real scores, e.g. logits, since it only uses their order); labels are 0
// or 1 in any numeric type. Every function checks its input and returns an
// error naming the offending index instead of panicking. The package
// imports only the standard library.
package metrics
