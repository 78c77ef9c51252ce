#!/usr/bin/env bash
# Negative sampling (spec model.negative_sampling) on the two simulated
# worlds of bench/modes.sh: for each rate, `wdstream backfill
# --negative-sampling RATE` trains the spec's model on days 1-5 of a 7-day
# world (seed 1), on every positive and that share of the negatives (early
# stopping's validation split, the newest 10% of days 1-5, is never
# sampled), and `wdstream eval` scores day 6 (validation) and day 7 (test),
# every example of them. Prints a Markdown table per world: rate, examples
# per epoch (kept of all), examples trained over every epoch, training
# examples/s and time, and the test day's AUC, log loss and calibration
# (mean prediction / mean label: the scores carry the log(rate) offset that
# undoes the sampling).
#
# usage: bench/negsampling.sh [SPEC]           (default configs/playstore.yaml)
#   RATES="1 0.5 0.2 0.1"     the rates
#   WORLDS="default latent"   which worlds
#   WORLD_DIR=DIR             keeps the simulated worlds and their examples
#                             in DIR/NAME (simulated there when missing;
#                             shared with bench/modes.sh)
#   PRIORITY=1                each backfill in its own scheduling group at
#                             nice -20 (root, Linux autogroup), as in
#                             bench/modes.sh
# About 10 minutes on 2 cores with the worlds already simulated.
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${1:-configs/playstore.yaml}
rates=${RATES:-1 0.5 0.2 0.1}
worlds=${WORLDS:-default latent}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. bench/worlds.sh
# metric FILE: "AUC LOGLOSS CALIBRATION" of a wdstream eval line.
metric() { sed -n 's/.*AUC \([0-9.]*\), log loss \([0-9.]*\), calibration \([0-9.]*\) .*/\1 \2 \3/p' "$1"; }

for w in $worlds; do
	world "$w"
	ex="$wdir/$w/ex"
	echo
	echo "World: $w (seed 1), spec $(basename "$spec"); trained on days 1-5, validation day 6, test day 7 (oracle AUC $(oracle "$w" 7))."
	echo
	echo "| rate | examples per epoch (kept of all) | examples trained (epochs run) | training examples/s | train time | validation AUC | test AUC | test log loss | test calibration |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for r in $rates; do
		name="$w-$r"
		prio "$tmp/wdstream" backfill --spec "$spec" --store "file://$tmp/store" --model "$name" --negative-sampling "$r" \
			--examples "$ex/day-00[1-5].parquet" --holdout 0 --warm-start none \
			--force --force-reason "bench/negsampling.sh: measured, not served" 2>"$tmp/$name.log" >/dev/null
		"$tmp/wdstream" eval --store "file://$tmp/store" --model "$name" --input "$ex/day-006.parquet" >"$tmp/$name.val"
		"$tmp/wdstream" eval --store "file://$tmp/store" --model "$name" --input "$ex/day-007.parquet" >"$tmp/$name.test"
		read -r va _ _ < <(metric "$tmp/$name.val")
		read -r ta tl tc < <(metric "$tmp/$name.test")
		read -r trained time rate < <(sed -n 's/.*trained \([0-9]*\) examples in \([^ ]*\) (\([0-9]*\) examples\/s.*/\1 \2 \3/p' "$tmp/$name.log")
		# the training examples: early stopping's count, else all read
		all=$(sed -n 's/.*epochs on \([0-9]*\) examples.*/\1/p' "$tmp/$name.log")
		all=${all:-$(sed -n 's/.*read \([0-9]*\) examples from.*/\1/p' "$tmp/$name.log")}
		dropped=$(sed -n 's/.*, \([0-9]*\) negatives dropped.*/\1/p' "$tmp/$name.log")
		kept=$((all - ${dropped:-0}))
		epochs=$(sed -n 's/.*ran \([0-9]*\) of at most.*/\1/p' "$tmp/$name.log")
		echo "| $r | $kept of $all | $trained (${epochs:-$((trained / kept))}) | $rate | $time | $va | $ta | $tl | $tc |"
	done
done
