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
// input is answered 4xx naming the field at fault. A JSON body is decoded
// in one pass (github.com/valyala/fastjson: 200 candidates in about 0.5
// ms, where encoding/json took 3.4, more than the model's own 3.1 ms;
// BenchmarkRequest200). A version that passed its dry run yet gives some
// candidate a NaN or an infinite score is answered 500 naming the
// candidate, before any byte of an answer is written, and counted
// (wdstream_serve_nonfinite_answers_total). Stats is a snapshot of the
// counts and of the latency quantiles of the last 1,024 requests, for the
// status page (`wdstream demo` runs a Server on the HTTP port of its
// stages and shows it there).
//
// Batch clients may send the candidates as an Arrow IPC stream instead
// (Content-Type ArrowStream, application/vnd.apache.arrow.stream; pyarrow's
// pyarrow.ipc.new_stream) and are answered in Arrow. The stream holds one
// or more record batches, one row per candidate, uncompressed or LZ4 (ZSTD
// is refused), with schemas.ExampleArrowSchema's conventions: user_id and
// app_id (utf8, required, neither null nor empty), ts (int64, optional:
// absent or 0 is the server's clock), and the feature columns (utf8,
// float64, bool or list<utf8>; null is absent, a null list element or a
// non-finite number is refused). Each row carries all its columns: there is
// no shared part. impression_id (utf8), label (int32) and install_ts
// (int64) may be present with those types and are ignored, so a table of
// impressions or examples can be posted as it is. All the rows of a request
// are scored and ranked together, split over the workers as JSON
// candidates are, and --max-candidates bounds the rows. The answer is an
// Arrow IPC stream of one record batch: score (float32, the request's row
// order), rank (int32, the row's position in the ranking, 0 for the highest
// score) and, when the server logs what it serves, impression_id (utf8),
// with the model and version in the schema's metadata (wdstream.model,
// wdstream.version). Errors are JSON, as for a JSON request: a body that is
// not an Arrow stream, a missing user_id or app_id or a column of another
// type is answered 400 naming the column (or "body", or "rows"). The body
// is bounded by MaxBody and held in memory; the lengths the stream declares
// are checked against it before anything is allocated, and decompression
// may use at most 16 times MaxBody (arrow_guard.go).
//
// The server follows LATEST: it reads it every Poll (and at once on
// Reload), loads a new version through publisher.Load (every checksum
// verified), scores one batch with it off the request path, and swaps it
// in atomically; requests in flight finish on the version they started
// with. A version that fails its checksums, does not decode or fails its
// dry-run batch is refused and logged (wdstream_serve_refused_versions_total)
// until LATEST moves, and the served one stays; a load that fails because
// the store cannot be read is logged and tried again at the next poll. A
// rollback moves LATEST like a publish and is followed the same way.
//
// The publisher's hooks make a publish served at once rather than at the
// next poll (events.go). An event heard only nudges Reload: what is loaded
// is still what LATEST names, through the same checks, so a stale, forged
// or repeated event costs at most one more read of LATEST, and a lost one
// delays the version by Poll at most.
//   - FollowEvents (`wdstream serve --brokers B`, topic --model-events,
//     default model-events as the spec's kafka hooks; empty turns it off)
//     reads every partition of the topic from its end (only events
//     produced from then on; LATEST is read once more when positioned),
//     without a consumer group, and reloads on a publish of the served
//     model: a record keyed by another model, another model's event or a
//     rejection is ignored. Brokers that do not answer and a topic that
//     does not exist yet are retried with backoff and logged; serving
//     never waits for them.
//   - WebhookHandler (`--webhook-secret-env VAR`, the variable holding the
//     secret the publisher's webhook signs with, its secret_env; mounted
//     at POST /v1/hooks/publish on the --http port) checks
//     X-Wdstream-Signature, "sha256=" + the hex HMAC-SHA256 of the body,
//     with publisher.VerifySignature (constant time): a missing or wrong
//     signature is answered 401 and logged, and nothing is read; a body
//     that is not an event 400 (413 past MaxEventBytes, 1 MiB); a publish
//     of the served model 202; another model's event or a rejection 200.
//
// wdstream_serve_model_events_total{source,result} counts the events
// heard: source kafka or webhook, result reload, ignored, malformed or
// unauthorized.
//
// With Config.Impressions set (`wdstream serve --log-impressions --brokers
// B`, sink KafkaImpressions), the server logs what it served, which closes
// the loop: every candidate answered gets an impression id, returned in
// Response.ImpressionIDs (the request's order), and is written to the
// impressions topic (--topic-impressions, default `impressions`) in the
// join's format, so that installs that carry the id join exactly (package
// ingest): keyed by user_id in its murmur2 partition, the JSON of
// schemas.AppendImpressionJSON with the id, the request's ts, user_id,
// app_id and exactly the feature columns the candidate was scored with,
// but one: the position column (--position-column, default `position`,
// '-' for none) is set to the position the candidate was ranked at, 1 for
// the highest score, replacing any value the request gave it. A model that
// reads the position (configs/playstore.yaml does: the simulator's slot on
// the page, 1 at the top) is scored with a placeholder, since the real one
// is known only once ranked, and must learn from the position shown; a
// spec that does not name the column ignores it (featurize reads only the
// spec's columns). A client that shows only the top K of a ranking sets
// --log-shown K (KafkaImpressionsConfig.Shown): the candidates ranked
// below K were never seen, so they are not logged (they would join as
// negatives). Ids are a random 80-bit prefix drawn once per process
// and a counter, unique across restarts and replicas without coordination.
//
// Logging never makes a request wait. Log appends a request's impressions
// to a bounded in-memory queue (--impressions-queue, default 100,000) or,
// when they do not fit, drops them all; one background producer takes the
// queue every 100 ms (at once past 10,000) and produces it with acks=all,
// zstd, the partitions in parallel, each batch in ts order, one attempt of
// at most 5 s. A batch that fails (brokers down or unreachable, the topic
// missing: the server does not create it) is dropped, and the next waits
// 250 ms doubling up to 5 s while the queue fills. Drops are counted by
// reason in wdstream_serve_impressions_dropped_total (queue_full, kafka,
// invalid: an id over 256 bytes or a message over 1 MiB that the join
// would dead-letter, stopped) and logged at most once every 10 s;
// wdstream_serve_impressions_logged_total counts what the broker
// acknowledged and wdstream_serve_impressions_queued what waits. Delivery
// is at most once: a batch whose answer was lost may also be in the topic
// while counted as dropped. At shutdown the queue is produced once the
// HTTP port has drained. Requests finish in any order, so records of
// concurrent requests can be out of ts order across batches by at most a
// request's duration (--timeout): installs that carry the impression_id
// are matched by it, whatever that order (an impression read after its
// install within the label window still gets it). A client that gives ts
// itself should give the current time, or the join treats the impressions
// as a replay rather than live (ingest's rule).
package serve
