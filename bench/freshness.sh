#!/usr/bin/env bash
# Service benchmarks (issue 7), on the real broker of the environment
# (scripts/services.sh start DIR; . DIR/env.sh):
#   - freshness: `wdstream simulate --live` streams at RATE events/s with
#     event time = wall time into `wdstream run --stages join,train`, whose
#     spec publishes every PUBLISH with a label window of WINDOW; for every
#     example, the time from its window closing (ts + WINDOW) to the creation
#     of the first published version whose manifest covers its offset
#     (bench/freshness), as median, p90, p99 and max;
#   - resident memory (VmRSS) of the service, sampled every 5 s while it
#     streams, at the end and at its peak, by quarter of the stream next to
#     the Go heap, the join's pending impressions and the train stage's lag
#     (a heap profile at the end of the stream is kept with KEEP=1:
#     heap-stream-end.pb.gz, `go tool pprof -top wdstream heap-stream-end.pb.gz`);
#   - the train stage's throughput in the service: a second service process
#     (--stages train, a new model) trains the whole examples topic the
#     first one produced, from a cold start, timed from its first to its
#     last checkpoint; next to the trainer's own benchmark (BenchmarkTrainStep
#     on the same spec: featurized batches, Trainer.Step only).
# usage: bench/freshness.sh
#   RATE=10000 DURATION=5m PUBLISH=1m WINDOW=1m  (defaults)
#   STORE=URL (default a temp dir), WORKERS=2, KEEP=1 keeps the logs,
#   CATCHUP=0 skips the train stage's catch-up run,
#   MAX_STATE_BYTES=256MiB sets join.max_state_bytes (spill in the temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${WDSTREAM_KAFKA_BROKERS:?start the services and source their env.sh first}"
rate=${RATE:-10000}
duration=${DURATION:-5m}
publish=${PUBLISH:-1m}
window=${WINDOW:-1m}
workers=${WORKERS:-2}
tmp=$(mktemp -d)
svc=""
cleanup() {
	if [[ -n "$svc" ]]; then
		kill "$svc" 2>/dev/null || true
		wait "$svc" 2>/dev/null || true
	fi
	if [[ -n "${KEEP:-}" ]]; then echo "logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
go build -o "$tmp/wdstream" ./cmd/wdstream
go build -o "$tmp/freshness" ./bench/freshness
secs() { # Go duration (Ns, Nm) to seconds
	case "$1" in *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac
}
sed -e "s/label_window: 30m/label_window: $window/" -e 's/idle_advance: 1m/idle_advance: 5s/' \
	-e "s/every: 5m /every: $publish /" -e 's/retain: 10 /retain: 100000 /' configs/playstore.yaml >"$tmp/spec.yaml"
# (every version is kept: a version that retention removed could not be
# counted as the first to cover its examples)
grep -q 'retain: 100000 ' "$tmp/spec.yaml" || { echo "configs/playstore.yaml: no 'retain: 10 ' line to raise" >&2; exit 1; }
if [[ -n "${MAX_STATE_BYTES:-}" ]]; then
	sed -i -e "s|^  max_pending: \(.*\)|  max_pending: \1\n  max_state_bytes: $MAX_STATE_BYTES\n  spill_dir: $tmp/spill|" "$tmp/spec.yaml"
	grep -q "max_state_bytes: $MAX_STATE_BYTES" "$tmp/spec.yaml" || { echo "configs/playstore.yaml: no 'max_pending' line to add the budget after" >&2; exit 1; }
	mkdir -p "$tmp/spill"
fi
store=${STORE:-file://$tmp/store}
[[ "$store" == file://* ]] && mkdir -p "${store#file://}"
id=$(date +%s)
imps=bench-imp-$id ins=bench-ins-$id ex=bench-ex-$id model=bench-fresh-$id
brokers=$WDSTREAM_KAFKA_BROKERS
port=$((18800 + RANDOM % 1000))
common=(--spec "$tmp/spec.yaml" --brokers "$brokers" --store "$store" --topic-impressions "$imps" --topic-installs "$ins"
	--topic-examples "$ex" --topic-dlq "bench-dlq-$id" --workers "$workers" --log-level info)

# The input topics, with one live event.
"$tmp/wdstream" simulate --brokers "$brokers" --live --partitions 4 --topic-impressions "$imps" --topic-installs "$ins" \
	--days 1 --impressions-per-day 1 >/dev/null 2>&1
"$tmp/wdstream" run "${common[@]}" --stages join,train --model "$model" --group "bench-g-$id" --train-group "bench-tg-$id" \
	--http "127.0.0.1:$port" --pprof 2>"$tmp/service.log" &
svc=$!
sleep 3
(
	while kill -0 "$svc" 2>/dev/null; do
		rss=$(awk '/VmRSS/ {print $2}' "/proc/$svc/status" 2>/dev/null || echo 0)
		m=$(curl -s "127.0.0.1:$port/metrics" | awk '/^wdstream_train_examples_total / {n = $2} /^go_memstats_heap_inuse_bytes / {h = $2}
			/^wdstream_join_pending_impressions / {p = $2} /^wdstream_join_examples_total / {j = $2}
			/^wdstream_join_state_bytes / {b = $2} /^wdstream_join_spilled_messages / {s = $2}
			END {printf "%.0f %.0f %.0f %.0f %.0f %.0f", n, h, p, j, b, s}' || true)
		echo "$(date +%s) ${rss:-0} ${m:-0 0 0 0 0 0}"
		sleep 5
	done
) >"$tmp/samples.txt" &
sampler=$!
# Enough simulated days for the whole duration (5M impressions a day, about
# 5.2M events with the installs), and one more.
days=$((rate * $(secs "$duration") / 5000000 + 2))
t_stream0=$(date +%s)
echo "streaming $duration at $rate events/s (event time = wall time); publish every $publish, label window $window" >&2
"$tmp/wdstream" simulate --brokers "$brokers" --live --rate "$rate" --duration "$duration" --partitions 4 \
	--topic-impressions "$imps" --topic-installs "$ins" --days "$days" --impressions-per-day 5000000 2>/dev/null
t_stream1=$(date +%s)
curl -s "127.0.0.1:$port/debug/pprof/heap" >"$tmp/heap-stream-end.pb.gz" || true
rss_stream_end=$(awk '/VmRSS/ {print $2}' "/proc/$svc/status")
wait_s=$(($(secs "$window") + $(secs "$publish") + 60))
echo "waiting ${wait_s}s for the last windows to close and be published" >&2
sleep "$wait_s"
rss_end=$(awk '/VmRSS/ {print $2}' "/proc/$svc/status")
kill -TERM "$svc"
wait "$svc" || echo "service exit status $?" >&2
svc=""
wait "$sampler" 2>/dev/null || true

echo "## Resident memory of the service (join + train)"
awk '{if ($2 > m) m = $2} END {printf "peak VmRSS %.0f MiB over %d samples\n", m / 1024, NR}' "$tmp/samples.txt"
# Whether it levels off, and what it follows: per quarter of the stream,
# the peak VmRSS and Go heap in use, the mean pending impressions of the
# join and how far the train stage was behind it (examples joined, not yet
# trained) at the quarter's end.
# With MAX_STATE_BYTES, the join's state estimate and its spilled messages
# too, and how flat the peaks of quarters 2-4 are (max / min - 1).
echo "| quarter of the stream | peak VmRSS | peak Go heap in use | mean pending impressions | peak join state | mean spilled messages | train stage behind by (examples) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
awk -v t0="$t_stream0" -v t1="$t_stream1" '$1 >= t0 && $1 < t1 {q = int(4 * ($1 - t0) / (t1 - t0))
		if ($2 > r[q]) r[q] = $2; if ($4 > h[q]) h[q] = $4; p[q] += $5; n[q]++; lag[q] = $6 - $3
		if ($7 > b[q]) b[q] = $7; s[q] += $8}
	END {for (q = 0; q < 4; q++) printf "| %d | %.0f MiB | %.0f MiB | %.0f | %.0f MiB | %.0f | %.0f |\n", q + 1, r[q] / 1024, h[q] / 1048576, p[q] / (n[q] ? n[q] : 1), b[q] / 1048576, s[q] / (n[q] ? n[q] : 1), lag[q]
		lo = r[1]; hi = r[1]; for (q = 2; q < 4; q++) {if (r[q] < lo) lo = r[q]; if (r[q] > hi) hi = r[q]}
		if (lo > 0) printf "peak VmRSS of quarters 2-4: %.0f to %.0f MiB, a spread of %.1f%%\n", lo / 1024, hi / 1024, 100 * (hi / lo - 1)}' "$tmp/samples.txt"
# The simulated users' installed_apps lists grow with simulated time: the
# impressions, and so the join state per pending impression, grow too.
if [[ -n "${WDSTREAM_KCAT:-}" ]]; then
	end=$("$WDSTREAM_KCAT" -Q -b "$brokers" -t "$imps:0:-1" 2>/dev/null | awk '{print $NF}' || echo 0)
	for off in 0 $((end > 2000 ? end - 2000 : 0)); do
		"$WDSTREAM_KCAT" -C -b "$brokers" -t "$imps" -p 0 -o "$off" -c 2000 -e -f '%S\n' 2>/dev/null |
			awk -v o="$off" '{s += $1; n++} END {if (n) printf "impressions at offset %d of partition 0: mean %.0f bytes\n", o, s / n}'
	done
fi
echo "VmRSS at the end of the stream: $((rss_stream_end / 1024)) MiB; after the drain: $((rss_end / 1024)) MiB"

echo "## Freshness ($rate events/s for $duration, publish every $publish, label window $window)"
"$tmp/freshness" --brokers "$brokers" --topic "$ex" --store "$store" --model "$model" --window "$window"
grep -c 'msg=published' "$tmp/service.log" | sed 's/^/published versions: /'
grep -c 'msg=rejected' "$tmp/service.log" | sed 's/^/rejected candidates: /' || true
awk 'NR > 1 && $3 > p3 {r = ($3 - p3) / ($1 - p1); if (r > m) m = r} {p1 = $1; p3 = $3} END {printf "train stage while streaming: peak %.0f examples/s over 5 s samples\n", m}' "$tmp/samples.txt"
[[ "${CATCHUP:-1}" == 0 ]] && exit 0
echo "## Train stage throughput in the service (catching up on the whole examples topic, cold start)"
total=$(grep -o 'msg="join stage stopped" stats="{Impressions:[0-9]* [^}]*Examples:[0-9]*' "$tmp/service.log" | sed 's/.*Examples://' | tail -1)
"$tmp/wdstream" run "${common[@]}" --stages train --model "$model-catchup" --train-group "bench-tg2-$id" \
	--checkpoint-every 5s --http "127.0.0.1:$((port + 1))" 2>"$tmp/catchup.log" &
svc=$!
t0=$(date +%s.%N)
while :; do
	n=$(curl -s "127.0.0.1:$((port + 1))/metrics" | awk '/^wdstream_train_examples_total/ {print $2}' || true)
	n=${n:-0}
	n=$(printf '%.0f' "$n")
	[[ "$n" -ge "${total:-1}" ]] && break
	kill -0 "$svc" 2>/dev/null || { echo "the catch-up service exited; see $tmp/catchup.log (KEEP=1)" >&2; exit 1; }
	sleep 1
done
t1=$(date +%s.%N)
kill -TERM "$svc"
wait "$svc" || true
svc=""
awk -v n="$total" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "trained %d examples in %.1fs: %.0f examples/s (decode, featurize with growing vocabularies, train, checkpoints, publishing every '"$publish"')\n", n, t1 - t0, n / (t1 - t0)}'
echo "## Trainer's own benchmark (featurized batches, Trainer.Step only)"
go test -run XXX -bench 'BenchmarkTrainStep/spec=playstore' -benchtime 20x ./trainer | grep -E 'examples/s'
