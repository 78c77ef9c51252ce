#!/usr/bin/env bash
# wdstream's join against the same labeling join written with Kafka Streams
# (issue 17), on the real broker of the environment (scripts/services.sh
# start DIR; . DIR/env.sh). TestKafkaJoinVsKafkaStreams produces one
# simulated event set into fresh topics, runs the reference
# (bench/reference/kstreams, Kafka Streams of the broker's version) and
# then `wdstream run --stages join` over them, each as its own process, and
# prints a Markdown table: events/s, CPU per event of the process and of
# the broker, events per CPU-second, peak RSS (VmHWM), and the labels of
# every impression against the offline join (missing, doubled, wrong).
# Then wdstream a second time with join.max_state_bytes a tenth of the peak
# join state of its first run (its spill counted; WDSTREAM_BENCH_BUDGET=off
# skips it).
#
# The reference's jar is built here on demand with Maven (never by the
# test command) in a copy of its folder, and kept under
# ${WDSTREAM_CACHE:-$HOME/.cache/wdstream}/kstreams-HASH, HASH of its
# pom.xml and sources.
#
# usage: bench/join-kstreams.sh          build if needed, then run
#        bench/join-kstreams.sh build    build if needed, print the jar's path
# environment: WDSTREAM_BENCH_IMPRESSIONS=N (default 1,000,000);
#   WDSTREAM_KSTREAMS_GRACE (the join's grace, default 25h: on a backlog
#   the re-keying tasks write the repartition topics up to the whole
#   simulated day out of event-time order, and a shorter grace drops and
#   mislabels; see the reference's README); WDSTREAM_KSTREAMS_ARGS (more
#   flags for the jar, e.g. "--threads 1 --changelog false" or
#   "--config max.task.idle.ms=1000"); WDSTREAM_KSTREAMS_JAVA_OPTS (JVM
#   flags, e.g. -Xmx1g); WDSTREAM_KSTREAMS_TIMEOUT (default 15m).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
src=bench/reference/kstreams

# kstreams_jar: prints the cached jar's path, building it first when absent.
kstreams_jar() {
	local hash dir tmp
	hash="$(cd "$src" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
	dir="${WDSTREAM_CACHE:-$HOME/.cache/wdstream}/kstreams-$hash"
	if [ ! -f "$dir/wdstream-kstreams-ref.jar" ]; then
		command -v mvn >/dev/null || { echo "join-kstreams.sh: mvn is needed to build $src" >&2; exit 1; }
		echo "building $src into $dir (Maven)" >&2
		tmp="$(mktemp -d)"
		cp -r "$src/pom.xml" "$src/src" "$tmp/"
		if ! mvn -B -q -Dstyle.color=never -f "$tmp/pom.xml" package >"$tmp/build.log" 2>&1; then
			cat "$tmp/build.log" >&2
			echo "join-kstreams.sh: building $src failed" >&2
			exit 1
		fi
		mkdir -p "$dir"
		cp "$tmp/target/wdstream-kstreams-ref.jar" "$dir/wdstream-kstreams-ref.jar.tmp"
		mv "$dir/wdstream-kstreams-ref.jar.tmp" "$dir/wdstream-kstreams-ref.jar"
		rm -rf "$tmp"
	fi
	echo "$dir/wdstream-kstreams-ref.jar"
}

if [ "${1:-}" = build ]; then
	kstreams_jar
	exit 0
fi
: "${WDSTREAM_KAFKA_BROKERS:?start the services and source their env.sh first}"
WDSTREAM_KSTREAMS_JAR="$(kstreams_jar)"
export WDSTREAM_KSTREAMS_JAR WDSTREAM_BENCH=1
echo "$(date -u +%FT%TZ) load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
log="$(mktemp)"
rc=0
go test -count=1 -timeout 90m -v -run '^TestKafkaJoinVsKafkaStreams$' ./ingest >"$log" 2>&1 || rc=$?
echo "$(date -u +%FT%TZ) load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -E '^(\||[0-9]+ impressions|wdstream (within its budget )?/ Kafka Streams)' "$log" || true
echo
grep -E 'kstreams_bench_test|^(ok|FAIL|---)' "$log" || true
if [ "$rc" -ne 0 ]; then
	echo "failed: full log in $log"
	tail -n 40 "$log"
fi
exit "$rc"
