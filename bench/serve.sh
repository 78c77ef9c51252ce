#!/usr/bin/env bash
# Serving benchmarks (issue 13): `wdstream serve` on 127.0.0.1, driven by
# bench/serveload (an open-loop Go load generator, bounded by a request
# count and a time), on a model backfilled from a simulated world:
#   - the paper's Table 2: requests of 200 candidates split into 1 x 200,
#     2 x 100 and 4 x 50 chunks (--split), end-to-end HTTP p50/p99 at a
#     low rate, next to the kernel's p50/p99 for the same batch on one
#     thread (BenchmarkScore200, trainer/train_bench_test.go, same spec);
#   - a throughput-latency curve: p50/p99 and errors as the rate grows.
# Prints Markdown tables and the load average before each part.
# usage: bench/serve.sh
#   SPEC=configs/paper.yaml (the kernel benchmark's spec; or configs/playstore.yaml)
#   RATES="20 40 80 160 320"  REQUESTS=400  DURATION=30s  SPLIT_CURVE=2
#   TAGS=openblas  builds wdstream and the kernel benchmark with OpenBLAS
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${SPEC:-configs/paper.yaml}
rates=${RATES:-20 40 80 160 320}
requests=${REQUESTS:-400}
duration=${DURATION:-30s}
split_curve=${SPLIT_CURVE:-2}
tags=${TAGS:-}
tmp=$(mktemp -d)
srv=""
cleanup() {
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

# start_serve SPLIT: serve the model on a free port; sets url.
start_serve() {
	"$tmp/wdstream" serve --store "file://$tmp/store" --model bench --http 127.0.0.1:0 --split "$1" >"$tmp/serve.log" 2>&1 &
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
