#!/usr/bin/env bash
# Serving benchmarks (issue 13): `wdstream serve` on 127.0.0.1, driven by
# bench/serveload (an open-loop Go load generator, bounded by a request
# count and a time), on a model backfilled from a simulated world:
#   - the paper's Table 2: requests of 200 candidates split into 1 x 200,
#     2 x 100 and 4 x 50 chunks (--split), end-to-end HTTP p50/p99 at a
#     low rate, next to the kernel's p50/p99 for the same batch on one
#     thread (BenchmarkScore200, trainer/train_bench_test.go, same spec);
#   - a throughput-latency curve: p50/p99 and errors as the rate grows;
#   - with BROKERS set (a Kafka for the model-events hook): 10 publishes and
#     one rollback while serveload runs at PUBLISH_RATE, with the failed
#     requests and how long each version took from its model-events
#     record to being served (the rollback sends no event: it is found by
#     the 10 s poll). The backfills that publish run at nice 19: on a
#     2-core machine they would otherwise take the cores serving needs (a
#     serving fleet does not train on its own machines).
# Prints Markdown tables and the load average before each part.
# usage: bench/serve.sh
#   SPEC=configs/paper.yaml (the kernel benchmark's spec; or configs/playstore.yaml)
#   RATES="20 40 80 160 320"  REQUESTS=400  DURATION=30s  SPLIT_CURVE=2
#   TAGS=openblas  builds wdstream and the kernel benchmark with OpenBLAS
#   BROKERS=127.0.0.1:19092  PUBLISH_RATE=40  (scripts/services.sh env.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${SPEC:-configs/paper.yaml}
rates=${RATES:-20 40 80 160 320}
requests=${REQUESTS:-400}
duration=${DURATION:-30s}
split_curve=${SPLIT_CURVE:-2}
tags=${TAGS:-}
tmp=$(mktemp -d)
srv="" load=""
cleanup() {
	if [[ -n "$load" ]]; then kill "$load" 2>/dev/null || true; fi
	if [[ -n "$srv" ]]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
go build ${tags:+-tags "$tags"} -o "$tmp/wdstream" ./cmd/wdstream
go build -o "$tmp/serveload" ./bench/serveload
"$tmp/wdstream" simulate --out "$tmp/world" --seed 5 --users 2000 --apps 300 --days 2 --impressions-per-day 40000 >/dev/null
"$tmp/wdstream" backfill --spec "$spec" --store "file://$tmp/store" --model bench \
	--impressions "$tmp/world/impressions/*.parquet" --installs "$tmp/world/installs/*.parquet" \
	--warm-start none --force --force-reason "bench/serve.sh" >/dev/null 2>"$tmp/backfill.log"
input="$tmp/world/impressions/day-002.parquet"

# start_serve SPLIT [FLAGS...]: serve the model on a free port; sets url.
start_serve() {
	local split=$1
	shift
	"$tmp/wdstream" serve --store "file://$tmp/store" --model bench --http 127.0.0.1:0 --split "$split" "$@" >"$tmp/serve.log" 2>&1 &
	srv=$!
	local addr=""
	for _ in $(seq 100); do
		addr=$(sed -n 's/.*msg="HTTP port open" addr=\([^ ]*\).*/\1/p' "$tmp/serve.log")
		if [[ -n "$addr" ]] && [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/readyz")" == 200 ]]; then break; fi
		sleep 0.1
	done
	url="http://$addr/v1/models/bench/score"
}
stop_serve() { kill "$srv"; wait "$srv" 2>/dev/null || true; srv=""; }
# field LINE NAME: the number after NAME in serveload's line.
field() { sed -n "s/.* $2 \([0-9.]*\).*/\1/p" <<<"$1"; }

echo "spec $spec, $(nproc) cores, build ${tags:-pure Go}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
kernel=$(go test ${tags:+-tags "$tags"} -run '^$' -bench 'BenchmarkScore200/workers=1/blas=1$' -benchtime 2s ./trainer 2>/dev/null |
	sed -n 's/.* \([0-9.]*\) p50-ms.* \([0-9.]*\) p99-ms.*/\1 \/ \2/p' | head -1)
echo "| request of 200 | kernel p50 / p99 ms (1 thread, BenchmarkScore200, configs/paper.yaml) | HTTP p50 / p99 ms at 10 req/s ($spec) |"
echo "| --- | --- | --- |"
for split in 1 2 4; do
	start_serve "$split"
	line=$("$tmp/serveload" --url "$url" --input "$input" --candidates 200 --rate 10 --requests 200 --duration "$duration")
	stop_serve
	printf '| %d x %d | %s | %s / %s |\n' "$split" $((200 / split)) "${kernel:-?}" "$(field "$line" p50)" "$(field "$line" p99)"
done
echo
echo "Throughput and latency, 200 candidates, --split $split_curve (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
echo
echo "| rate asked (req/s) | sent (req/s) | answered | errors | p50 ms | p99 ms |"
echo "| --- | --- | --- | --- | --- | --- |"
start_serve "$split_curve"
for rate in $rates; do
	line=$("$tmp/serveload" --url "$url" --input "$input" --candidates 200 --rate "$rate" --requests "$requests" --duration "$duration")
	sent=$(sed -n 's/.* \([0-9.]*\)\/s sent.*/\1/p' <<<"$line")
	answered=$(sed -n 's/.*; \([0-9]*\) answered 200.*/\1/p' <<<"$line")
	errs=$(sed -n 's/.*errors \[\(.*\) \];.*/\1/p' <<<"$line")
	printf '| %s | %s | %s | %s | %s | %s |\n' "$rate" "$sent" "$answered" "${errs:-0}" "$(field "$line" p50)" "$(field "$line" p99)"
done
stop_serve

brokers=${BROKERS:-}
if [[ -z "$brokers" ]]; then
	echo
	echo "(BROKERS not set: the publishes-under-load part needs a Kafka for the model-events hook; skipped)"
	exit 0
fi
publish_rate=${PUBLISH_RATE:-40}
topic="bench-model-events-$$"
{ cat "$spec"; printf '\nhooks:\n  kafka:\n    - topic: %s\n' "$topic"; } >"$tmp/spec-hooks.yaml"
echo
echo "Publishes under load: 10 publishes and a rollback while $publish_rate requests/s of 200 candidates run (--split $split_curve, --poll 10s, model-events on $brokers; load average $(cut -d' ' -f1-3 /proc/loadavg)):"
echo
# A first publish creates the topic, so that serve reads it from the start.
publish() {
	nice -n 19 "$tmp/wdstream" backfill --spec "$tmp/spec-hooks.yaml" --store "file://$tmp/store" --model bench \
		--impressions "$tmp/world/impressions/day-002.parquet" --installs "$tmp/world/installs/day-002.parquet" \
		--epochs 1 --force --force-reason "bench/serve.sh publishes under load" --brokers "$brokers" >/dev/null 2>>"$tmp/publish.log"
}
publish
first=$(cat "$tmp/store/bench/LATEST")
start_serve "$split_curve" --brokers "$brokers" --model-events "$topic" --poll 10s
"$tmp/serveload" --url "$url" --input "$input" --candidates 200 --rate "$publish_rate" --requests 1000000 --duration 10m >"$tmp/under-load.txt" &
load=$!
for _ in $(seq 10); do publish; sleep 2; done
rb_at=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
# Back to the version before LATEST (the first is gone: spec retain).
"$tmp/wdstream" models rollback bench --reason "bench/serve.sh" --store "file://$tmp/store" >/dev/null
rolled=$(cat "$tmp/store/bench/LATEST")
sleep 12
kill -INT "$load" 2>/dev/null || true
wait "$load" || true
load=""
stop_serve
line=$(cat "$tmp/under-load.txt")
echo "serveload: $line"
echo
# From each model-events record (its Kafka timestamp: when the publisher
# produced it, just after LATEST moved) to the server's first "serving a
# version" log line for that version after it.
served_at() { # VERSION AFTER: the first "serving a version" of VERSION logged after AFTER
	sed -n "s/^time=\([^ ]*\) .*msg=\"serving a version\".* version=$1 .*/\1/p" "$tmp/serve.log" |
		awk -v after="$2" '$0 > after { print; exit }'
}
ms() { date -d "$1" +%s%3N; }
kcat_out=$(kcat -b "$brokers" -C -t "$topic" -o beginning -e -q -f '%T %s\n' 2>"$tmp/kcat.err" || true)
echo "| version | model-events record produced | served after (ms) |"
echo "| --- | --- | --- |"
while read -r ts ev; do
	v=$(sed -n 's/^{"event":"published","model":"bench","version":"\([^"]*\)".*/\1/p' <<<"$ev")
	[[ -n "$v" && -n "$ts" && "$v" != "$first" ]] || continue
	at=$(date -u -d "@$((ts / 1000)).$(printf %03d $((ts % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
	served=$(served_at "$v" "$at")
	if [[ -z "$served" ]]; then
		echo "| $v | $at | not served (LATEST moved on first) |"
		continue
	fi
	echo "| $v | $at | $(( $(ms "$served") - ts )) |"
done <<<"$kcat_out"
[[ -n "$kcat_out" ]] || echo "(no model-events record read: $(cat "$tmp/kcat.err"))"
rb=$(served_at "$rolled" "$rb_at")
echo
if [[ -n "$rb" ]]; then
	echo "rollback to $rolled at $rb_at: served $(( $(ms "$rb") - $(ms "$rb_at") )) ms later (found by the poll)"
else
	echo "rollback to $rolled at $rb_at: not served"
fi
