#!/usr/bin/env bash
# The join's differential chaos soak (issue 12): TestKafkaChaosBrokerRestart
# runs seeded schedules of the real wdstream binary against the real broker
# of the environment (scripts/services.sh start DIR; . DIR/env.sh): produce
# order and skew between the two topics, start on a backlog, on empty
# topics or in the middle, 5-6 SIGKILLs, a second instance joining and
# leaving, broker restarts (testenv.RestartKafka: it needs
# WDSTREAM_SERVICES_DIR, and nothing else may use the broker meanwhile).
# Each schedule's examples are compared impression by impression with the
# offline join of the same events; the table lists every schedule with its
# missing, doubled and wrong labels, and a failing one its seed.
#
# usage: bench/chaos.sh [DURATION]   (default 30m; WDSTREAM_CHAOS_SEED=S to
#        start from seed S, replaying a failure with WDSTREAM_CHAOS_SCHEDULES=1
#        and DURATION 0; WDSTREAM_CHAOS_MAX_STATE_BYTES=64KiB runs every
#        schedule with that join.max_state_bytes, so each instance spills)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${WDSTREAM_KAFKA_BROKERS:?start the services and source their env.sh first}"
: "${WDSTREAM_SERVICES_DIR:?the broker restarts need the services dir (scripts/services.sh start DIR)}"
duration="${1:-30m}"
if [ "$duration" != 0 ]; then
	export WDSTREAM_CHAOS_DURATION="$duration"
fi
echo "$(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; soak of $duration; join.max_state_bytes ${WDSTREAM_CHAOS_MAX_STATE_BYTES:-off}"
log="$(mktemp)"
rc=0
go test -count=1 -timeout 0 -v -run 'TestKafkaChaosBrokerRestart' ./ingest >"$log" 2>&1 || rc=$?
echo "| seed | partitions | order | skew | start | impressions | chaos | kills | rebalance | broker restart | positives | missing | doubled | wrong | extra | seconds |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
grep -o 'chaos-row .*' "$log" | sed 's/^chaos-row //'
grep -E 'chaos: [0-9]+ schedules|schedule seed|replay:|^(ok|FAIL|---)' "$log" || true
if [ "$rc" -ne 0 ]; then
	echo "failed: full log in $log"
fi
exit "$rc"
