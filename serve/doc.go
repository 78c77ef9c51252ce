// Package serve is `wdstream serve`: it scores candidate apps online with
// the model version LATEST names, the paper's serving system (section 4.3).
//
// A request (POST /v1/models/NAME/score, see Request) gives the user's and
// the context's columns once and a list of candidates; each candidate
// becomes an impression with the shared columns and its own, goes through
// the featurizer and the model the trainer trained (the same code as
// `wdstream predict`, so the scores are the same), and the answer ranks the
// candidates by score. A request's candidates are cut into Split chunks
// scored by parallel workers (the paper's Table 2 splits a batch of 200
// over threads to hold latency); chunks wait in a bounded queue, and a
// request whose chunks do not fit, or that runs past its deadline, is
// answered 503 with Retry-After rather than queued behind long ones. Bad
// input is answered 4xx naming the field at fault.
//
// The server follows LATEST: it reads it every Poll (and at once on
// Reload), loads a new version through publisher.Load (every checksum
// verified), scores one batch with it off the request path, and swaps it
// in atomically; requests in flight finish on the version they started
// with. A version that fails any of that is refused and logged
// (wdstream_serve_refused_versions_total) and the served one stays. A
// rollback moves LATEST like a publish and is followed the same way.
package serve
