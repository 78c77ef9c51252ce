#!/usr/bin/env bash
# Optimizer settings on three data sets, chosen on validation data and
# reported on test data: for each SET of optimizer values, wide & deep with
# configs/playstore.yaml's features on the default and latent-taste
# simulated worlds (bench/modes.sh: trained on days 1-5, validation day 6,
# test day 7) and with configs/adult.yaml's on Adult (bench/adult.sh:
# validation = early stopping's newest 10% of adult.data, test =
# adult.test). Each spec's own model.ftrl and model.adagrad are removed and
# replaced by the SET's values; a value the SET leaves out takes the
# documented default (schemas/spec/doc.go), so the empty set "" measures
# the defaults.
#
# usage: bench/optimizers.sh SET...
#   SET: space-separated key=value of alpha, beta, l1, l2 (model.ftrl) and
#   lr, acc (model.adagrad learning_rate, initial_accumulator), e.g.
#     bash bench/optimizers.sh "" "alpha=0.05 beta=1 l1=0.001 acc=0.1"
#   WORLD_DIR as in bench/modes.sh (the worlds are simulated when missing).
# About 2.5 minutes per set on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -gt 0 ]] || { echo "usage: bench/optimizers.sh SET... (\"\" for the defaults)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export WORLD_DIR=${WORLD_DIR:-$tmp/worlds}

# variant SPEC SET OUT: SPEC without its model.ftrl and model.adagrad
# blocks, with SET's values written under model: instead.
variant() {
	local ftrl="" ada="" kv k v
	for kv in $2; do
		k=${kv%%=*} v=${kv#*=}
		[[ "$kv" == *=* && -n "$v" ]] || { echo "bench/optimizers.sh: \"$kv\" in set \"$2\": want key=value" >&2; exit 2; }
		case $k in
		alpha | beta | l1 | l2) ftrl+="\n    $k: $v" ;;
		lr) ada+="\n    learning_rate: $v" ;;
		acc) ada+="\n    initial_accumulator: $v" ;;
		*) echo "bench/optimizers.sh: unknown key \"$k\" in set \"$2\": want alpha, beta, l1, l2, lr or acc" >&2; exit 2 ;;
		esac
	done
	local block=""
	[[ -n "$ftrl" ]] && block+="\n  ftrl:$ftrl"
	[[ -n "$ada" ]] && block+="\n  adagrad:$ada"
	# The optimizer blocks: from "  ftrl:" or "  adagrad:" through their
	# four-space-indented keys (and comments between them).
	awk '/^  (ftrl|adagrad):/ { skip = 1; next } skip && /^    / { next } { skip = 0; print }' "$1" |
		sed "s/^model:.*/&$block/" >"$3"
}

echo "$(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo
echo "| optimizer values | default world, validation / test AUC | latent world, validation / test AUC | Adult, validation log loss / test AUC |"
echo "| --- | --- | --- | --- |"
i=0
for set in "$@"; do
	i=$((i + 1))
	variant configs/playstore.yaml "$set" "$tmp/play-$i.yaml"
	variant configs/adult.yaml "$set" "$tmp/adult-$i.yaml"
	MODES=wide_deep bash bench/modes.sh "$tmp/play-$i.yaml" >"$tmp/modes-$i.txt"
	ROWS=wide_deep SPEC="$tmp/adult-$i.yaml" bash bench/adult.sh >"$tmp/adult-$i.txt"
	# modes rows: | spec | model | validation AUC | test AUC | ...; the
	# default world's table comes first.
	mapfile -t w < <(awk -F' [|] ' '/\| wide_deep \|/ { print $3 " / " $4 }' "$tmp/modes-$i.txt")
	a=$(awk -F' [|] ' '/\| wide_deep \|/ { split($2, v, " "); print v[1] " / " $3 }' "$tmp/adult-$i.txt")
	echo "| ${set:-the defaults} | ${w[0]:-?} | ${w[1]:-?} | ${a:-?} |"
done
echo
echo "$(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg)"
