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
#     streams, at the end and at its peak;
#   - the train stage's throughput in the service: a second service process
#     (--stages train, a new model) trains the whole examples topic the
#     first one produced, from a cold start, timed from its first to its
#     last checkpoint; next to the trainer's own benchmark (BenchmarkTrainStep
#     on the same spec: featurized batches, Trainer.Step only).
# usage: bench/freshness.sh
#   RATE=10000 DURATION=5m PUBLISH=1m WINDOW=1m  (defaults)
#   STORE=URL (default a temp dir), WORKERS=2, KEEP=1 keeps the logs
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
	-e "s/every: 5m /every: $publish /" configs/playstore.yaml >"$tmp/spec.yaml"
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
	--http "127.0.0.1:$port" 2>"$tmp/service.log" &
svc=$!
sleep 3
(
	while kill -0 "$svc" 2>/dev/null; do
		rss=$(awk '/VmRSS/ {print $2}' "/proc/$svc/status" 2>/dev/null || echo 0)
		n=$(curl -s "127.0.0.1:$port/metrics" | awk '/^wdstream_train_examples_total/ {print $2}' || true)
		echo "$(date +%s) ${rss:-0} ${n:-0}"
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
rss_stream_end=$(awk '/VmRSS/ {print $2}' "/proc/$svc/status")
wait_s=$(($(secs "$window") + $(secs "$publish") + 60))
echo "waiting ${wait_s}s for the last windows to close and be published" >&2
sleep "$wait_s"
rss_end=$(awk '/VmRSS/ {print $2}' "/proc/$svc/status")
kill -TERM "$svc"
wait "$svc" || echo "service exit status $?" >&2
svc=""
wait "$sampler" 2>/dev/null || true

echo "## Freshness ($rate events/s for $duration, publish every $publish, label window $window)"
"$tmp/freshness" --brokers "$brokers" --topic "$ex" --store "$store" --model "$model" --window "$window"
grep -c 'msg=published' "$tmp/service.log" | sed 's/^/published versions: /'
grep -c 'msg=rejected' "$tmp/service.log" | sed 's/^/rejected candidates: /' || true
awk 'NR > 1 && $3 > p3 {r = ($3 - p3) / ($1 - p1); if (r > m) m = r} {p1 = $1; p3 = $3} END {printf "train stage while streaming: peak %.0f examples/s over 5 s samples\n", m}' "$tmp/samples.txt"
echo "## Resident memory of the service (join + train)"
awk '{if ($2 > m) m = $2} END {printf "peak VmRSS %.0f MiB over %d samples\n", m / 1024, NR}' "$tmp/samples.txt"
# Whether it levels off: the peak within each quarter of the stream.
awk -v t0="$t_stream0" -v t1="$t_stream1" '$1 >= t0 && $1 < t1 {q = int(4 * ($1 - t0) / (t1 - t0)); if ($2 > m[q]) m[q] = $2}
	END {printf "peak VmRSS in each quarter of the stream:"; for (q = 0; q < 4; q++) printf " %.0f", m[q] / 1024; print " MiB"}' "$tmp/samples.txt"
echo "VmRSS at the end of the stream: $((rss_stream_end / 1024)) MiB; after the drain: $((rss_end / 1024)) MiB"

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
	sleep 1
done
t1=$(date +%s.%N)
kill -TERM "$svc"
wait "$svc" || true
svc=""
awk -v n="$total" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "trained %d examples in %.1fs: %.0f examples/s (decode, featurize with growing vocabularies, train, checkpoints, publishing every '"$publish"')\n", n, t1 - t0, n / (t1 - t0)}'
echo "## Trainer's own benchmark (featurized batches, Trainer.Step only)"
go test -run XXX -bench 'BenchmarkTrainStep/spec=playstore' -benchtime 20x ./trainer | grep -E 'examples/s'
