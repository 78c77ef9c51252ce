#!/usr/bin/env bash
# Join stage benchmarks (issue 6), on the real broker of the environment
# (scripts/services.sh start DIR; . DIR/env.sh) or of scripts/test.sh:
#   - join throughput in events/s next to bare kafka-go Readers reading the
#     same topics in the same run (TestKafkaJoinThroughput): the bare phase
#     ends at the last record read, the join phase when every impression's
#     example is acknowledged; each phase with the cores busy and the CPU
#     per event of this process and of the broker (WDSTREAM_SERVICES_DIR),
#     and the machine's busy cores (other jobs included); repeated
#     WDSTREAM_BENCH_RUNS times (default 3), each run on fresh topics, since
#     a shared machine makes single figures noisy;
#   - heap bytes per pending impression (BenchmarkPendingBytes) and the
#     process's resident memory with 1,000,000 pending impressions
#     (TestPendingMillionRSS).
#   - then (issue 17) the same join written with Kafka Streams next to
#     wdstream's, on one event set, each as its own process
#     (bench/join-kstreams.sh, which builds the reference with Maven on
#     first use): a Markdown table with both and the ratio of their events
#     per CPU-second; REFS=none skips it.
# usage: bench/join.sh   (WDSTREAM_BENCH_IMPRESSIONS=N to change the size, 1,000,000 by default;
#        WDSTREAM_BENCH_CPUPROFILE=FILE for a CPU profile of the join phase,
#        WDSTREAM_BENCH_TRACE=FILE for its execution trace, go tool trace FILE;
#        WDSTREAM_BENCH_HEAPPROFILE=FILE for its heap half way through,
#        go tool pprof -sample_index=inuse_space -top FILE;
#        WDSTREAM_BENCH_COMPRESSION=lz4 (snappy, gzip) to compare codecs;
#        REFS=kstreams (default) or none; the reference's settings are
#        bench/join-kstreams.sh's)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${WDSTREAM_KAFKA_BROKERS:?start the services and source their env.sh first}"
export WDSTREAM_BENCH=1
refs="${REFS:-kstreams}"
case "$refs" in kstreams | none) ;; *) echo "join.sh: REFS=$refs: want kstreams or none" >&2; exit 2 ;; esac
echo "$(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
go test -count="${WDSTREAM_BENCH_RUNS:-3}" -timeout 20m -v -run 'TestKafkaJoinThroughput' ./ingest | grep -E 'bench_test|^(ok|FAIL)'
go test -count=1 -timeout 20m -v -run 'TestPendingMillionRSS' ./ingest | grep -E 'bench_test|^(ok|FAIL)'
go test -count=1 -run XXX -bench BenchmarkPendingBytes -benchtime 1x ./ingest | grep -E 'bytes/pending|^(ok|FAIL)'
echo "$(date -u +%FT%TZ) load average after the join benchmarks: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$refs" = kstreams ]; then
	bash bench/join-kstreams.sh
fi
