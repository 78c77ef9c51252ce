// Package featurize turns examples into model inputs, the same code for the
// always-on service and the backfill job: vocabularies with frequency
// admission and hashed OOV ids, quantile boundaries and the paper's
// normalization, hashed cross-product features, and the mini-batch layout
// the trainer reads (Cheng et al. 2016, "The system around the model",
// points 2 and 3). It does no I/O beyond reading and writing its own state.
//
// # Lifecycle
//
// A State is built from a spec by New (empty) or Decode (persisted). Fit
// counts categorical strings and sketches numeric values; Transform turns
// examples into a Batch; FitTransform does both in one pass, the streaming
// trainer's step: each example is counted, then transformed with the
// vocabularies as they stand after counting it, so its ids do not depend on
// the batch boundaries. Both phases are incremental: call them on each mini-batch of a
// stream. Fit, FitTransform and RefreshBoundaries need exclusive access;
// Transform (each call with its own Batch) and Stats may run concurrently
// with each other.
//
// # Vocabularies
//
// One per categorical or categorical_list feature. Ids 0..oov-1 are the
// hashed out-of-vocabulary ids (oov = max(oov_buckets, 1)); admitted strings
// get oov, oov+1, ... in order of admission. Ids are stable, so tables
// indexed by them grow by appending rows and a model trained yesterday reads
// today's vocabulary. A string is admitted by Fit once seen min_count times,
// unless the vocabulary holds max_size strings; then it goes to OOV and
// Stats counts it in FullRejects. Counting uses bounded memory: a
// TinyLFU-style doorkeeper plus a count-min sketch with aging (admit.go
// states the structure and its error), so min_count is counted over a
// decaying window of about SketchBytes/12 not-yet-admitted occurrences.
// max_size keeps the first strings admitted (ids never move), unlike TF
// Transform's top_k, which ranks a whole pass by frequency.
//
// With a ttl (spec features[].ttl, expire.go), each admitted string keeps
// the event time (the examples' ts) it was last fitted; Expire, given the
// caller's event-time clock, evicts the strings older than the ttl and
// returns their ids. An evicted string's id becomes a hole: Lookup maps the
// string to OOV again, and the next string admitted takes the hole (last
// freed, first reused) rather than a new id, after the caller reset the
// model's rows of the id (trainer.Model.Forget). The tables then stop
// growing once strings leave as fast as they come. The live strings keep
// their ids. min_count still applies to a string coming back: it is new.
// The admission sketch's aging already makes min_count a frequency floor
// over a sliding (decaying) window, so the ttl adds no other admission
// rule. Lookups are exact: the index compares the token's bytes, not
// only its hash. A single-valued categorical column reads a string as is, a bool as "true"/"false", a
// number as its shortest decimal text ("3", "2.5"), and absent or null as
// the empty string (a token like any other). An absent or null list is an
// empty list. Remap maps the ids of one vocabulary version onto another by
// string, for warm start after a rebuild.
//
// # Numeric features
//
// Fit adds every present value to a KLL sketch (rank error about 1.7% of n
// at k = 200). Boundaries are fixed only by RefreshBoundaries: it takes
// quantiles = n_q buckets, computes the n_q-1 values at ranks j/n_q,
// removes duplicates, and Transform then uses them unchanged until the next
// refresh (they are persisted; a decoded State transforms exactly as the
// encoded one). Transform fails with ErrNoBoundaries for a numeric feature
// never refreshed. With m boundaries, a value x falls in bucket b = the
// number of boundaries strictly below x (buckets (b[i-1], b[i]]), and its
// normalized value is b/m, the paper's (i-1)/(n_q-1) with i = b+1; with no
// boundaries (no values fitted) it is 0. Absent, null and NaN values are
// missing: normalized to the spec's missing value (default 0) and wide id
// 0; +-Inf are ordinary values (top and bottom bucket). Bools read as 0 and
// 1. Nothing downstream is ever NaN.
//
// # Lists
//
// A categorical_list value is read up to the feature's max_length (spec
// default 256; a Spec built in Go with 0 gets the default): Fit, Transform
// and FitTransform keep the first max_length elements in input order and
// drop the rest, so the deep part's combiner (mean, sum, sqrtn over the
// kept elements), the wide part's per-element entries and every cross of
// the list see the same capped list, and a transformed row equals that of
// the row truncated by hand. Transform and FitTransform count the elements
// they cut, and the lists, in Stats (Truncated, TruncatedLists); Fit counts
// nothing. Without the cap one row of 100,000 installed apps crossed with
// the impressed app gave 100,000 wide entries, enough for the wide sum to
// saturate the prediction at 1.
//
// # Crosses
//
// A cross of columns c1..ck yields one feature per element of the Cartesian
// product of their values (a list times a single value gives one per list
// element, at most max_length; an empty list gives none). Its id is
// computed from the raw strings, not vocabulary ids: h = seed;
// h = fmix64(rotl(h, 27) xor XXH64(v_j)) for each column in order; id =
// high word of h * hash_buckets. XXH64 has seed 0, fmix64 is MurmurHash3's
// finalizer, seed is 0x9e3779b97f4a7c15. OOV ids use the same hash:
// fmix64(XXH64(s)) reduced to [0, oov). hash_test.go pins known values.
//
// # Batch layout
//
// A Batch holds N examples; its slices keep their capacity across calls, so
// steady-state Transform allocates nothing. Layout() names every part:
//
//   - Labels (float32), ImpressionIDs, TS: N each.
//   - Wide part, CSR: example i owns entries WideOffsets[i] to
//     WideOffsets[i+1] of WideSlots, WideIDs and WideValues (all 1 today).
//     A slot is one wide input with its own id space, in this order: each
//     feature marked wide in spec order (a categorical feature: its
//     vocabulary ids, one entry per value, so a list gives one per element;
//     a numeric feature: 0 for missing, 1+b for bucket b, size 1+quantiles),
//     then each cross (ids in [0, hash_buckets)). WideSizes[k] is slot k's
//     id-space size at the end of the batch: every id is below it.
//   - Deep part: Deep[j] for the j-th categorical feature marked deep, in
//     spec order. Single-valued: IDs has one id per example, Offsets is nil.
//     Multi-valued: example i's ids are IDs[Offsets[i]:Offsets[i+1]]; an
//     empty range (empty or missing list) pools to the zero vector whatever
//     the combiner. Size is the vocabulary size at the end of the batch.
//   - Dense: N x DenseDim float32, row-major, the normalized numeric
//     features marked deep, in spec order, each in [0,1].
//
// What the trainer must do: keep one weight table per wide slot and one
// embedding table per deep field; before using a batch, grow each
// vocabulary-backed table to WideSizes[k] / Deep[j].Size rows by appending
// freshly initialized rows (ids never move, so existing rows keep their
// meaning); treat bucketized and cross slots as fixed-size. Boundaries
// change only when someone calls RefreshBoundaries, which changes what a
// trained model's dense inputs and bucket ids mean: refresh before training
// a new model, not under a trained one. When a vocabulary was rebuilt rather
// than grown, move rows with Remap.
//
// # Persisted format (version 1)
//
// Encode writes, all integers little-endian:
//
//	offset 0   4 bytes  magic "WDFZ"
//	offset 4   uint16   format version (1)
//	offset 6   uint16   flags: bit 0 = fit state present; bit 1 = expiry
//	                    sections present (set when a vocabulary has a ttl
//	                    or holes); others must be 0
//	offset 8   uint64   body length L
//	offset 16  L bytes  body
//	offset 16+L uint32  CRC-32C (Castagnoli) of bytes [0, 16+L)
//
// The body uses uvarints (u) for counts and sizes and length-prefixed
// strings (u length, bytes):
//
//	u features; per feature: string name, byte type (1 categorical,
//	  2 categorical_list, 3 numeric), then
//	  categorical: u oov, u tokens, tokens in id order ("" at a hole);
//	    with expiry: u holes, their token indices, the next reused first;
//	    byte has-times (0/1); if 1: u clock (Unix ms, the newest ts
//	    fitted), u next scan minus clock, per token u (0: unknown or a
//	    hole, else clock - last seen + 1);
//	    with fit state: byte has-sketch (0/1); if 1: u width, u added,
//	    u agings, 4*width uint16 counters, width rounded up to a multiple
//	    of 4 uint32 doorkeeper fingerprints
//	  numeric: u quantiles, byte fixed (0/1), u m, m float64 boundaries
//	    (strictly increasing); with fit state: u k, u n, uint64 rng state,
//	    float64 min, float64 max, u levels, per level u items + float64s
//	u crosses; per cross: string name, u hash_buckets, u columns, strings
//
// Features are written categorical first, then numeric, each in spec order.
// Decoding checks the magic, version, length (truncation) and checksum
// before parsing, bounds every count by the bytes left, and rejects any
// malformed field with an error wrapping ErrFormat: a corrupted or
// truncated state never yields a silently wrong vocabulary. Encoding is
// deterministic, so a decoded state re-encodes bit for bit. Decode binds
// the state to a spec: see its doc for what may change between the two
// (ErrIncompatible otherwise). WriteFile writes a local file atomically
// (temporary file, fsync, rename, fsync of the directory); an object-store
// publisher writes the bytes of Encode/AppendEncoded its own way.
//
// # Metrics
//
// Stats returns per-feature counters (values observed, missing, OOV lookups,
// full-vocabulary rejections, list elements cut by max_length, sketch size
// and agings; numeric values and missing) for the service to export; the
// package has no metrics dependency.
package featurize
