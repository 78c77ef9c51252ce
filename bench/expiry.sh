#!/usr/bin/env bash
# Expiring ids (spec features[].ttl) over many simulated days of launches
# and delistings (bench/expiry): the streaming trainer's steps run day by
# day on a world where CHURN apps launch and CHURN apps leave the store
# every day, once with the spec as written (no ttl) and once with TTL on
# FEATURES, same world, same seed, one after the other in this run. Each day
# is scored by the model of the day before (progressive validation), then
# trained on. Prints a Markdown table (every 10th day) of the features' ids,
# the size of a version, the Go heap and the resident memory at the day's
# end, and the day's AUC; then per run the last day's AUC, the mean of the
# last 7 days, and the growth of each figure over the second half.
#
# usage: bench/expiry.sh
#   DAYS=60 PER_DAY=50000 APPS=2000 CHURN=500 TTL=7d
#   FEATURES=app_id,installed_apps  SPEC=configs/playstore.yaml  SEED=1
#   KEEP=1 keeps the JSON lines of both runs
# About 4 minutes on 2 cores with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
days=${DAYS:-60}
per_day=${PER_DAY:-50000}
apps=${APPS:-2000}
churn=${CHURN:-500}
ttl=${TTL:-7d}
features=${FEATURES:-app_id,installed_apps}
spec=${SPEC:-configs/playstore.yaml}
seed=${SEED:-1}
tmp=$(mktemp -d)
if [[ -n "${KEEP:-}" ]]; then trap 'echo "runs kept in $tmp" >&2' EXIT; else trap 'rm -rf "$tmp"' EXIT; fi
go build -o "$tmp/expiry" ./bench/expiry
echo "$(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "World (seed $seed): $apps apps on day 1, $churn launched and $churn delisted every later day, $per_day impressions a day, $days days; spec $(basename "$spec"); ttl $ttl on $features."
for run in none "$ttl"; do
	t=0
	[[ "$run" != none ]] && t=$ttl
	start=$(date +%s)
	"$tmp/expiry" -spec "$spec" -ttl "$t" -features "$features" -days "$days" -impressions-per-day "$per_day" \
		-apps "$apps" -churn "$churn" -seed "$seed" >"$tmp/$run.jsonl"
	echo "$(date -u +%FT%TZ) run ttl=$run: $(($(date +%s) - start)) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo
"$tmp/expiry" -compare "none=$tmp/none.jsonl,$ttl=$tmp/$ttl.jsonl" -features "$features"
