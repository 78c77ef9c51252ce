// Package status is the status page of `wdstream run`: the HTTP port's /,
// server-rendered (html/template and inline SVG, no script). It shows each
// stage's throughput and consumer lag, the model versions with their gate
// verdicts (in the words of publisher.Manifest.GateVerdict, as `wdstream
// models` shows them), the largest drifts the gate measured for the
// version LATEST names, and charts of AUC and log loss across versions and
// of the progressive metrics over time. cmd/wdstream wires its Sources to
// the running stages.
package status
