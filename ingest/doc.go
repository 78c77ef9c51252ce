// Package ingest runs the Kafka side of wdstream's always-on service: the
// join stage, which labels the impressions of the `impressions` topic with
// the installs of the `installs` topic and writes labeled examples to the
// `examples` topic, and the archive stage, which writes the `examples` topic
// to Parquet files in object storage. The labeling itself is package
// ingest/join, shared with the offline backfill; this package only feeds it
// from Kafka, in a deterministic order, and makes its output durable.
//
// # Topics and partitioning
//
// Producers key impressions and installs by user_id with the same
// partitioner, so that a user's events land in the same partition number of
// both topics. The two topics must have the same partition count (checked at
// start). One consumer group (JoinConfig.Group) reads both; its balancer,
// CoPartitionBalancer, gives partition p of both topics to the same member.
// The examples topic and the dead-letter topic are created with the same
// partition count when missing; examples of input partition p go to
// partition p of `examples`.
//
// # Encoding of `examples`
//
// One message per labeled impression: the value is one JSON object, the
// impression's message as read (its members in their order and spelling,
// trailing white space dropped) with `label` and `install_ts` (null when
// label is 0) appended as its last members; it decodes (schemas.Decoder.Example)
// to the example schemas.AppendExampleJSON would write, the impression
// decoder having rejected those two keys and duplicates in the impression.
// The key is the user_id; the headers are `impression_id` and `src_offset`
// (the impression's offset in partition p of `impressions`). The producer
// compresses batches with zstd at its fastest level (JoinConfig.Compression).
// Readers decode values with schemas.Decoder.Example.
//
// # Dead letters
//
// A record that fails to decode or validate (schemas.Decoder) goes to the
// dead-letter topic (default `examples-dlq`) with its original key and
// bytes and the headers `source_topic`, `source_partition`, `source_offset`
// and `reason` (the *schemas.FieldError text); the stage keeps running.
//
// # Order and watermark: the labeling rule
//
// Per partition p the stage merges impressions[p] and installs[p] by event
// time (ts; the impression first on equal ts; within a topic, offset order)
// and feeds the merged stream to one join.Joiner, advancing its watermark to
// the largest ts merged so far minus JoinConfig.AllowedLateness. This is the
// offline join's order (join.Offline, `wdstream join`, the backfill), so
// each impression's label and install_ts equal the offline join's on the
// same events, whatever the order in which the two topics were produced, as
// long as each topic partition is in ts order (or out of it by at most the
// allowed lateness) and the rule below is not broken. The rule, exactly:
//
//   - The merge takes a record when both inputs have one buffered (the
//     least ts first). An input whose next records are not fetched yet is
//     waited for; the fetches run ahead of the merge (up to 4 responses per
//     input) so that this costs no round trip.
//   - An input with nothing buffered counts as empty up to wall clock minus
//     JoinConfig.IdleAdvance, letting the other input's records past it,
//     only when it is quiet: every fetch answered for IdleAdvance found the
//     partition at its high watermark with nothing new, the latest answer at
//     most 5 s old (a broker restart or a lost connection stops the answers,
//     and with them the quiet). And quiet is not enough: the input must also
//     be live (its last record's Kafka timestamp, the time it was produced,
//     is within IdleAdvance after its ts: its producer logs in real time,
//     so what it has yet to send is newer than wall clock minus
//     IdleAdvance), or no record may have been appended to the other input
//     for IdleAdvance either, read or not (the end of the data: a replay
//     that finished, traffic that stopped; the fetcher keeps asking for
//     the partition's end while the merge is not ready for its records). When both inputs are quiet the watermark moves
//     to wall clock minus IdleAdvance minus the allowed lateness, which
//     closes the windows of the last impressions.
//     The Kafka timestamp is taken as the time of production: Kafka
//     clients set it when they send (CreateTime), or the broker when it
//     appends (LogAppendTime); a producer that copies the event time into
//     it makes a replay look live.
//   - So a replay (old event times) may produce its topics in any order and
//     at any speed, before or while the stage runs: an input that is behind
//     or not yet produced is waited for, because it is not live. What
//     breaks the rule is a pause of IdleAdvance or more in which neither
//     topic gets a record while one of them still has records to come with
//     event times the other has passed; and, for a live producer, records
//     produced more than IdleAdvance after their ts.
//   - An install read before its impression (one topic ahead of the other
//     within the allowed lateness, or a topic out of ts order) is held,
//     counted in the joiner's Held, until the watermark passes its ts plus
//     the label window; an impression read in that time still gets it.
//   - Committed offsets never pass a record whose work is unfinished: an
//     install is finished only when the impression it labels was emitted,
//     or when it was found late, duplicate, outside its window, or an orphan
//     after its hold. A restart from the committed offsets replays every
//     record a pending impression can need, in event-time order again, so
//     the labels of the impressions not yet emitted come out the same; what
//     was already emitted is not emitted again (below).
//
// TestKafkaChaosBrokerRestart checks the rule differentially: seeded
// schedules of produce order, skew between the topics, start on a backlog,
// on empty topics or in the middle, SIGKILLs, a second instance joining and
// leaving, and broker restarts, compared impression by impression with the
// offline join (bench/chaos.sh runs it for a long soak).
//
// # Delivery guarantee: effectively exactly once
//
// The stage gives each impression of the input exactly one example in the
// `examples` topic, through crashes, restarts, broker restarts and
// rebalances, without Kafka transactions:
//
//   - Offsets of impressions[p] and installs[p] are committed (with the
//     group's generation) only after every example and dead letter emitted
//     before them has been acknowledged by the broker with acks=all. The
//     merge cuts its output into batches (JoinConfig.FlushRecords,
//     FlushBytes, FlushInterval, or when it has nothing to merge); one
//     producer per partition writes them in order, each after the previous
//     one was acknowledged, while the merge goes on, and commits the offsets
//     recorded at each batch's cut once the batch is acknowledged. The committed
//     offsets are join.Joiner.Committed(): the first record whose work is not
//     finished; replay from them rebuilds the join state and reproduces
//     every example not yet emitted.
//   - Replay may re-emit examples of impressions at or after the committed
//     impression offset that were emitted before the crash. Each commit
//     carries, in the commit's metadata, an offset of `examples` partition p
//     below every example emitted after the committed impression was read.
//     When a member takes partition p (start, crash restart, rebalance, or
//     after any produce or commit error, which restarts the partition from
//     its committed offsets), it reads `examples` partition p from that
//     offset to its end, collects the impression ids there and suppresses
//     their re-emission.
//
// Caveats, all outside the tested setting: a duplicated impression_id
// across a restart whose first copy's example lies before the recorded
// offset is emitted twice; installs without impression_id that arrive out
// of ts order may be attributed differently after a replay; forced closes
// (MaxPending reached) depend on the state size and may differ after a
// replay; a member that lost its partition but still has a produce request
// on the wire can race the new owner's scan. Dead letters are at least once
// (a bad record may be dead-lettered again after a crash).
//
// # Bounded state
//
// What the stage keeps of a pending impression is its message as read
// (one allocation of its length: 515 bytes of heap for the simulator's
// 472-byte messages) and its index: its three keys in one
// allocation, the joiner's record of it, its slots in two maps, in the
// order of closing and in the offset queue, 200 to 250 bytes with the
// simulator's ids (join.Joiner.IndexBytes estimates them; the benchmark
// BenchmarkStateBytes measures them). An emitted impression is remembered
// for one more window, to tell a late install from an orphan and a
// duplicate impression from a new one: 165 to 195 bytes with its keys.
//
// JoinConfig.MaxPending (spec join.max_pending) caps the count of pending
// impressions, split evenly over the partitions, hence the index; at the
// cap the joiner closes the oldest impression early, which counts in
// JoinStats.Forced and logs a line at most every 10 s.
//
// JoinConfig.MaxStateBytes (spec join.max_state_bytes, default off)
// bounds the memory without closing anything early. The stage adds up,
// over the partitions it runs, the bytes of the messages kept in memory,
// the joiners' IndexBytes and 40 bytes per spilled message
// (JoinStats.StateBytes); while that is over
// the budget, the message of each new pending impression goes to the
// partition's spill on local disk instead, and is read back when the
// impression is emitted, so labels and examples are exactly those without
// a budget. Spilling stops when the state is back under 7/8 of the budget
// (it does not flap at the edge); a line is logged when it starts and
// when it stops, and JoinStats counts what it does (Spilling, Spilled,
// SpillReads, SpillLive, SpillDiskBytes). With every message on disk the
// memory is the index, which max_pending bounds.
//
// The spill of a partition is a series of append-only segment files of
// JoinConfig.SpillSegmentBytes (64 MiB), in a directory of the stage's
// own under JoinConfig.SpillDir (spec join.spill_dir; the OS temp dir by
// default). Of a spilled message the state keeps where it is (segment,
// position, length and CRC-32C, in a map by offset: about 40 bytes).
// Writes go through a 256 KiB buffer (a message still in it is read from
// it); each segment counts its messages not yet read, and is deleted when
// that count reaches 0 and it is no longer written, while the one being
// written starts over from its beginning. Writing and reading back a
// 470-byte message costs about 0.6 µs (BenchmarkSpill, page cache). A message that is never read (a duplicate impression, an
// example suppressed after a restart) is dropped from the count. The
// files are deleted when the partition stops (revoked, restarted, or the
// stage stopping), and the directory when the stage stops. Nothing is
// fsynced: after a crash the join replays from the committed offsets
// (the rule above), which rebuilds the spill with the rest of the state.
// The directory's lock file holds an flock for as long as the stage runs;
// the kernel releases it when the process dies, however it dies, so a
// stage starting on the same SpillDir deletes the directories whose lock
// is free: those of killed processes. An I/O error of the spill (disk
// full, a file shortened or changed under it, caught by its checksum)
// fails the partition with an error that names the file, and the
// partition restarts from its committed offsets after a backoff (logged,
// counted in JoinStats.Restarts), as after a broker error: no example is
// written from a message that was not read back whole. A SpillDir where
// the stage cannot make its directory fails the stage at its start.
//
// Why not an embedded LSM store such as Pebble: a spilled message is
// written once, read once in about arrival order, then dropped, and needs
// no durability. An LSM store would add a write-ahead log, a memtable in
// the very memory the budget bounds, and compactions that rewrite data
// for reads that never come; segments with live counts cost one write and
// one read per message. Their disk use is what is pending plus the read
// part of the segments that still hold a pending message: messages are
// read in about the order they were written (both follow event time), so
// that is about a segment per partition.
//
// # Archive
//
// The archive stage (ArchiveStage) reads `examples` in its own consumer
// group and writes Parquet files (schemas.ExampleWriter) to
// PREFIX/date=YYYY-MM-DD/hour=HH/part-PPPPP-OOOOOOOOOOOOOOOOOOOO.parquet,
// where P is the partition and O the offset of the file's first example, by
// the example's event time (UTC). One file per partition is open at a time;
// it is cut when the next example belongs to another hour, when it reaches
// ArchiveConfig.FileBytes, or after ArchiveConfig.FlushInterval. A file
// becomes visible only when its upload completes (object storage writes are
// atomic), and the offset after its last example is committed only then, so
// a crash re-writes at most the file that was being written, under the same
// name. The stage waits for `examples` to exist before it joins its group:
// started beside the join stage, which creates the topic, it would
// otherwise be assigned no partitions until the next rebalance.
package ingest
