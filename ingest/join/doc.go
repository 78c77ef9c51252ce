// Package join labels impressions with installs: the pure join logic of
// wdstream, free of Kafka and of any I/O, shared by the streaming join stage
// and the offline backfill so that both label the same events the same way.
//
// # Semantics
//
// An impression (id, ts, user, app) gets label 1 when a matching install
// arrives with ts <= install.ts <= ts + window, else label 0. An install
// matches by impression_id when it carries one; otherwise it is attributed to
// the latest impression of the same user and app whose window contains the
// install's ts. Each impression is emitted exactly once, when the event-time
// watermark passes ts + window; a second install for an impression already
// matched is a duplicate and never yields a second positive.
//
// The watermark is supplied by the caller (Advance): the streaming stage
// derives it from the event times it has read from both topics of a
// partition (see Watermark), the backfill from its sorted input, and Flush
// closes everything at end of input. Impressions are emitted in (ts, id)
// order among those closed by one Advance call, so the output is a function
// of the input order only.
//
// Installs that arrive before their impression are held until the watermark
// passes their ts + window: an impression that could match one has ts <=
// the install's ts and is accepted (not late) until the watermark passes
// its own ts + window, so an impression read after its install, within
// that bound, still gets it. Held installs are counted (Stats.Held) and
// bounded by the installs of one window. Installs that
// arrive after their impression was emitted are counted as Late; installs
// that match nothing are counted as Orphans; duplicates as Duplicates.
// Nothing is dropped silently: every install ends in exactly one counter
// (Matched, Duplicates, Late, Orphans, OutOfWindow).
//
// # Bounded state
//
// Pending impressions are bounded by MaxPending: when full, the oldest
// pending impression is closed early (emitted with the label known so far)
// and counted in Forced, so memory stays bounded instead of growing without
// limit when the watermark stalls. Remembered emitted ids (to tell late
// installs from orphans) are kept for one window past their close. The
// joiner keeps each impression's keys in one allocation of its own (never
// aliasing the caller's strings) and at most one matched install;
// IndexBytes estimates the heap of its state besides the payloads, which
// the streaming stage weighs against its memory budget (package ingest,
// "Bounded state").
package join
