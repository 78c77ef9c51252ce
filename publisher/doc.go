// Package publisher stores model versions in object storage and decides
// which of them serve: the version layout with its manifest written last
// and the LATEST pointer (Store), the bundle of spec, featurizer state and
// weights that every consumer loads through one loader (Load), and the
// validation gate and publish hooks.
//
// # The drift check
//
// A version's files include StatsFile when its bundle carries a Profile:
// the statistics of the examples it trained on (package drift). The gate
// computes the same statistics of its fresh examples and compares them
// with those of the baseline (the check "drift", spec validation.drift):
// it fails the candidate only for a drifted feature whose action is fail,
// warns otherwise, and is skipped, saying why, without a baseline, against
// a baseline that recorded no statistics, or with too few examples.
//
// # What the store must do
//
// Stores are gocloud.dev buckets: file:// and s3:// (AWS S3 or an
// S3-compatible server). Besides reads, writes, lists and deletes, the
// publisher needs one exclusive operation: create an object only if its key
// is absent, such that of any number of writers, in any number of
// processes and machines, exactly one succeeds. It takes NAME/LOCK with it
// and writes a version's files and manifest with it (a version is never
// overwritten).
//
//   - file://: the OS decides. The bytes are written to a temporary file
//     next to the key's file, synced, and hard-linked to the key's name
//     (link(2) fails when the name exists). gocloud's fileblob IfNotExist
//     is not used: it checks with stat and then renames, and two processes
//     creating the same 3,000 keys both "created" 20 to 137 of them
//     (TestExclusiveAcrossProcesses). On a filesystem without hard links,
//     the key's file is created with O_CREATE|O_EXCL, then written.
//     For a store on another filesystem than the system's temp dir,
//     OpenStore sets fileblob's no_tmp_dir, so that temporary files go
//     next to their destination and the rename into place works (on the
//     same filesystem they stay in the temp dir: a listing that meets one
//     as it is renamed fails).
//   - s3://: a conditional write, If-None-Match: * (gocloud's
//     WriterOptions.IfNotExist), decided by the server (the lock retries
//     on a 409 ConditionalRequestConflict). Before its first lock, a Store
//     checks that the server refuses a second create of a probe key, and
//     refuses to move LATEST on a server that does not (an error wrapping
//     errNoConditionalWrites). versitygw (the tests' server) and AWS S3
//     honour it: with two processes creating the same 1,500 keys, each key
//     had exactly one creator.
//
// # NAME/LOCK
//
// Moves of LATEST and appends to history.jsonl are read-modify-writes, so
// they happen under NAME/LOCK: an object created exclusively (above)
// holding a random owner, the time and the holding process (host, and a
// procid: boot id, pid namespace, pid, start time), deleted by its owner
// when done. Waiters poll with a jittered, doubling backoff and give up
// after 45 s. A lock is broken when its holder is dead:
//
//   - at once, when a waiter on the holder's machine and pid namespace
//     sees that no process with the holder's pid and start time runs (a
//     publisher killed with -9 and restarted by systemd or a loop);
//   - otherwise once a waiter has seen it unchanged for 30 s, by the
//     waiter's own monotonic clock: no holder's clock matters, so a holder
//     with a clock behind is not broken early and one with a clock ahead
//     does not leave a lock nobody breaks.
//
// Of several waiters breaking one dead lock, only the one that creates
// NAME/LOCK.broken/SHA256(lock) (exclusively, like the lock) deletes it,
// so none deletes a lock another has just taken; those tokens are removed
// after an hour. What is left: a holder on another machine stalled for
// 30 s loses the lock while it runs.
//
// # Leftovers of a kill
//
// A publisher killed mid-write leaves temporary files: on file://, next to
// the key (KEY.HEX.tmp), which Clean removes once older than CleanGrace
// (every publish runs it); and gocloud's, in the temp dir, which the
// wdstream command confines to a directory of its process
// (TMPDIR=TMP/wdstream-UID/PROCID, package internal/tmpdir) that the next
// wdstream on the machine removes when it sees the process gone.
//
// # The only-forward rule
//
// A gated publish (Publisher.Publish) moves LATEST to its version only
// forward: a slower publisher whose candidate was cut before the version
// LATEST names leaves LATEST there (Result.Latest false, and
// Result.LatestNote says "LATEST stays on ..."). The rule defers only to a
// version that exists and is complete:
//
//   - LATEST naming a version whose manifest is missing or unreadable, or
//     holding no version name, is repaired: LATEST moves to the new
//     version whatever the names, Result.LatestNote and the history
//     entry's Note start with "repaired:", and the publisher logs it.
//   - Versions rank by the time in their name, the publisher's clock when
//     it cut the candidate, but no later than one minute (clockAhead) after
//     the store wrote the version's manifest by the store's own clock (the
//     S3 server's, the file system's). An honest name is older than its
//     manifest; a version named by a clock running ahead (up to a name in
//     2099) ranks as of a minute after its upload, so it holds LATEST
//     against versions cut in that minute and no longer: the next one
//     passes it, noted as such ("... ran ahead ...").
//
// Store.PublishUngated and Rollback move LATEST to the version they are given,
// and repair an unreadable LATEST on the way. Retention ranks versions the
// same way (a name later than the present by its manifest's time), so a
// version named ahead does not hold one of its places for good. Version
// names alone still order Versions (and the `models` listing) and the
// default rollback target, so a version named ahead sorts last there.
package publisher
