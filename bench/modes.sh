#!/usr/bin/env bash
# The paper's Table 1 on the simulated worlds, with settings chosen on one
# day and reported on a later one: each model is trained on days 1-5 of a
# 7-day world (seed 1), evaluated on day 6 (the validation day: the day
# settings may be chosen on) and on day 7 (the test day: reported, never
# used to choose anything). Rows: wide, deep and wide_deep with the spec as
# it is, then wide_deep with each explicit interaction of the deep part
# (model.interaction none, dot and cross), for every SPEC given (e.g. the shipped
# spec and one written by `wdstream tune`). Worlds: the default one (a
# user's taste is a function of observed columns) and the latent-taste one
# (`wdstream simulate --latent-taste`: taste is private, revealed only by
# installs), each with its oracle AUC and, for the latent world, the
# no-taste ceiling (the true logit without the taste term: the best a model
# that cannot infer taste can do).
#
# usage: bench/modes.sh [SPEC...]            (default configs/playstore.yaml)
#   WORLDS="default latent"   which worlds
#   WORLD_DIR=DIR             keeps the simulated worlds and their examples
#                             in DIR/NAME (simulated there when missing)
#   MODES="wide deep wide_deep none dot cross"   rows (none, dot, cross:
#                             wide_deep with that model.interaction,
#                             backfill --interaction)
#   DEFAULTS=1                also every SPEC without its model.ftrl and
#                             model.adagrad (the trainer's optimizer
#                             defaults), named SPEC-defaults.yaml
#   PRIORITY=1                each backfill in its own scheduling group at
#                             nice -20 (root, Linux autogroup), as in
#                             bench/trainer.sh, so its train time measures
#                             what 2 cores give
# About 15 minutes on 2 cores for both worlds and one spec.
set -euo pipefail
cd "$(dirname "$0")/.."
specs=("$@")
if [[ ${#specs[@]} -eq 0 ]]; then specs=(configs/playstore.yaml); fi
worlds=${WORLDS:-default latent}
modes=${MODES:-wide deep wide_deep none dot cross}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ "${DEFAULTS:-0}" == 1 ]]; then
	for sp in "${specs[@]}"; do
		d="$tmp/$(basename "${sp%.yaml}")-defaults.yaml"
		awk '/^  (ftrl|adagrad):/ {skip = 1; next} skip && /^    / {next} {skip = 0; print}' "$sp" >"$d"
		grep -qE '^  (ftrl|adagrad):' "$sp" || { echo "$sp sets no model.ftrl nor model.adagrad: it runs on the defaults already" >&2; exit 1; }
		specs+=("$d")
	done
fi
. bench/worlds.sh
notaste() { sed -n 's/.*no-taste AUC \([0-9.]*\) is the ceiling.*/\1/p' "$wdir/$1/simulate.txt"; }
# spec_interaction SPEC: its model.interaction (none when unset).
spec_interaction() {
	local ix
	ix=$(sed -n 's/^  interaction: *\([a-z]*\).*/\1/p' "$1")
	echo "${ix:-none}"
}
# metric FILE: "AUC LOGLOSS" of a wdstream eval line.
metric() { sed -n 's/.*AUC \([0-9.]*\), log loss \([0-9.]*\),.*/\1 \2/p' "$1"; }

for w in $worlds; do
	world "$w"
	ex="$wdir/$w/ex"
	o6=$(oracle "$w" 6) o7=$(oracle "$w" 7)
	echo
	echo "World: $w (seed 1); trained on days 1-5, validation day 6 (oracle AUC $o6), test day 7 (oracle AUC $o7$([[ "$w" == latent ]] && echo ", no-taste ceiling $(notaste "$w")"))."
	echo
	echo "| spec | model | validation AUC (day 6) | test AUC (day 7) | test log loss | test: fraction of the way from 0.5 to the oracle | train time |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	for spec in "${specs[@]}"; do
		for m in $modes; do
			mode="$m" ix=()
			if [[ "$m" == none || "$m" == dot || "$m" == cross ]]; then
				# the spec's own interaction is its wide_deep row
				[[ "$m" == "$(spec_interaction "$spec")" ]] && continue
				mode=wide_deep ix=(--interaction "$m")
			fi
			name="$w-$(basename "$spec" .yaml)-$m"
			prio "$tmp/wdstream" backfill --spec "$spec" --store "file://$tmp/store" --model "$name" --mode "$mode" "${ix[@]}" \
				--examples "$ex/day-00[1-5].parquet" --holdout 0 --warm-start none \
				--force --force-reason "bench/modes.sh: measured, not served" 2>"$tmp/$name.log" >/dev/null
			"$tmp/wdstream" eval --store "file://$tmp/store" --model "$name" --input "$ex/day-006.parquet" >"$tmp/$name.val"
			"$tmp/wdstream" eval --store "file://$tmp/store" --model "$name" --input "$ex/day-007.parquet" >"$tmp/$name.test"
			read -r va _ < <(metric "$tmp/$name.val")
			read -r ta tl < <(metric "$tmp/$name.test")
			train=$(sed -n 's/.*trained [0-9]* examples in \([^ ]*\) .*/\1/p' "$tmp/$name.log")
			epochs=$(sed -n 's/.*ran \([0-9]*\) of at most \([0-9]*\) epochs, kept epoch \([0-9]*\).*/, epoch \3 of \1 run/p' "$tmp/$name.log")
			awk -v sp="$(basename "$spec")" -v m="$m" -v va="$va" -v ta="$ta" -v tl="$tl" -v o="$o7" -v t="$train$epochs" \
				'BEGIN { printf "| %s | %s | %.4f | %.4f | %.4f | %.3f | %s |\n", sp, m, va, ta, tl, (ta - 0.5) / (o - 0.5), t }'
		done
	done
done
