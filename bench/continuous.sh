#!/usr/bin/env bash
# Continuous training pays: on the default simulated world (seed 1, 7 days),
# compares on every next day
#   - continuous: one model warm-started day by day (backfill --warm-start
#     latest on day d's examples, after days 1..d-1), the paper's point 4;
#   - day 1 only: a model trained once on day 1 and never again;
#   - cold latest: a fresh model trained on day d alone (--warm-start none),
# each evaluated by `wdstream eval` on day d+1. Labeled examples of each day
# come from bench/examples (the product's offline join over all days, split
# by day). Prints a Markdown table per evaluation day with the oracle AUC.
#
# usage: bench/continuous.sh [SPEC]        (default configs/playstore.yaml)
# WORLD=DIR reuses a world (simulated there first when DIR has none).
# About 5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${1:-configs/playstore.yaml}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/wdstream" ./cmd/wdstream
go build -o "$tmp/examples" ./bench/examples
world=${WORLD:-$tmp/world}
if [[ ! -f "$world/simulate.txt" ]]; then
	"$tmp/wdstream" simulate --out "$world" --seed 1 --report 2>/dev/null >"$world.simulate.txt"
	mv "$world.simulate.txt" "$world/simulate.txt"
fi
"$tmp/examples" --impressions "$world/impressions/*.parquet" --installs "$world/installs/*.parquet" --out "$tmp/ex" >&2
days=$(ls "$tmp/ex" | wc -l)
store="file://$tmp/store"

train() { # MODEL DAY WARM
	"$tmp/wdstream" backfill --spec "$spec" --store "$store" --model "$1" --examples "$tmp/ex/day-$(printf %03d "$2").parquet" \
		--holdout 0 --warm-start "$3" --force --force-reason "bench/continuous.sh: evaluated on the next day" >/dev/null 2>>"$tmp/train.log"
}
auc() { # MODEL DAY
	"$tmp/wdstream" eval --store "$store" --model "$1" --input "$tmp/ex/day-$(printf %03d "$2").parquet" |
		sed -n 's/.*AUC \([0-9.]*\),.*/\1/p'
}
oracle() { sed -n "s/^day $1: .*oracle AUC \([0-9.]*\).*/\1/p" "$world/simulate.txt"; }

rows=()
train day1 1 none
for ((d = 1; d < days; d++)); do
	next=$((d + 1))
	train continuous "$d" latest
	train cold "$d" none
	c=$(auc continuous "$next") o1=$(auc day1 "$next") k=$(auc cold "$next")
	rows+=("| $next | $d | $c | $o1 | $k | $(oracle "$next") |")
	echo "day $next: continuous $c, day 1 only $o1, cold latest $k" >&2
done
echo
echo "Default simulated world (seed 1); spec $spec; each model evaluated on the day after its last training day."
echo
echo "| eval day | trained through day | continuous (warm-started daily) | trained once on day 1 | cold, latest day only | oracle |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
