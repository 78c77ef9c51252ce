#!/usr/bin/env bash
# Wide & Deep on real data: the census-income (Adult) data of the TensorFlow
# tutorial. Converts adult.data and adult.test to examples (bench/adult),
# trains wide, deep and wide_deep on adult.data with configs/adult.yaml
# (backfill --examples, no holdout), then wide_deep with each explicit
# interaction of the deep part (backfill --interaction dot and cross), and
# evaluates each on adult.test (wdstream eval). Early stopping holds out the
# newest 10% of adult.data (the spec's model.early_stopping): settings are
# chosen there, never on adult.test. Prints a Markdown table. About two
# minutes on 2 cores.
#
# usage: bench/adult.sh [DATA_DIR]   (default bench/data/adult next to this
# script: the files, their source, license and checksums are in its README.md)
#   SPEC=FILE                      another spec (default configs/adult.yaml)
#   TUNE=BUDGET                    first `wdstream tune` SPEC's model section on
#                                  adult.data (seed 1, scored on its newest 20%,
#                                  within BUDGET, e.g. 12m), then the rows with
#                                  the spec it writes
#   ROWS="wide deep wide_deep dot cross"   which rows (dot, cross: wide_deep
#                                  with that model.interaction)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=$(cd "${1:-$here/data/adult}" && pwd)
cd "$here/.."
spec=${SPEC:-configs/adult.yaml}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/wdstream" ./cmd/wdstream
go build -o "$tmp/adult" ./bench/adult
"$tmp/adult" --in "$data/adult.data" --out "$tmp/train.parquet" --prefix train >&2
"$tmp/adult" --in "$data/adult.test" --out "$tmp/test.parquet" --prefix test >&2
if [[ -n "${TUNE:-}" ]]; then
	"$tmp/wdstream" tune --spec "$spec" --examples "$tmp/train.parquet" --budget "$TUNE" --seed 1 --out "$tmp/tuned.yaml" >"$tmp/tune.txt" 2>&1
	sed -n '/^search:/,$p' "$tmp/tune.txt" >&2
	tuned="$(sed -n 's/^# Best: \(.*\)\.$/\1/p' "$tmp/tuned.yaml"); $(sed -n '/^|    [0-9]* | [0-9]* (best)/p' "$tmp/tune.txt" | tr -s ' ')"
	spec="$tmp/tuned.yaml"
fi
echo
echo "Census income (Adult): train on adult.data (32,561 rows), evaluate on adult.test (16,281 rows); spec ${tuned:+written by wdstream tune from }${SPEC:-configs/adult.yaml}${tuned:+ ($tuned)}."
echo
echo "| model | validation log loss (newest 10% of adult.data) | test AUC | test log loss | test calibration | train time |"
echo "| --- | --- | --- | --- | --- | --- |"
for row in ${ROWS:-wide deep wide_deep dot cross}; do
	mode=$row ix=()
	if [[ "$row" == dot || "$row" == cross ]]; then
		mode=wide_deep ix=(--interaction "$row")
	fi
	"$tmp/wdstream" backfill --spec "$spec" --store "file://$tmp/store" --model "adult-$row" --mode "$mode" "${ix[@]}" \
		--examples "$tmp/train.parquet" --holdout 0 --warm-start none \
		--force --force-reason "bench/adult.sh: no holdout, evaluated on adult.test" >"$tmp/$row.out" 2>"$tmp/$row.log"
	line=$("$tmp/wdstream" eval --store "file://$tmp/store" --model "adult-$row" --input "$tmp/test.parquet")
	train=$(sed -n 's/.*trained [0-9]* examples in \([^ ]*\) .*/\1/p' "$tmp/$row.log")
	auc=$(sed -n 's/.*AUC \([0-9.]*\),.*/\1/p' <<<"$line")
	ll=$(sed -n 's/.*log loss \([0-9.]*\),.*/\1/p' <<<"$line")
	cal=$(sed -n 's/.*calibration \([0-9.]*\) .*/\1/p' <<<"$line")
	val=$(sed -n 's/.*kept epoch \([0-9]*\) (validation log loss \([0-9.]*\)).*/\2 (epoch \1)/p' "$tmp/$row.log")
	[[ "$row" == dot || "$row" == cross ]] && row="wide_deep, interaction $row"
	echo "| $row | $val | $auc | $ll | $cal | $train |"
done
