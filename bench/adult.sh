#!/usr/bin/env bash
# Wide & Deep on real data: the census-income (Adult) data of the TensorFlow
# tutorial. Converts adult.data and adult.test to examples (bench/adult),
# trains wide, deep and wide_deep on adult.data with configs/adult.yaml
# (backfill --examples, no holdout) and evaluates each on adult.test
# (wdstream eval). Prints a Markdown table. About a minute on 2 cores.
#
# usage: bench/adult.sh [DATA_DIR]   (default bench/data/adult next to this
# script: the files, their source, license and checksums are in its README.md)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=$(cd "${1:-$here/data/adult}" && pwd)
cd "$here/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/wdstream" ./cmd/wdstream
go build -o "$tmp/adult" ./bench/adult
"$tmp/adult" --in "$data/adult.data" --out "$tmp/train.parquet" --prefix train >&2
"$tmp/adult" --in "$data/adult.test" --out "$tmp/test.parquet" --prefix test >&2
echo
echo "Census income (Adult): train on adult.data (32,561 rows), evaluate on adult.test (16,281 rows); spec configs/adult.yaml."
echo
echo "| model | AUC | log loss | calibration | train time |"
echo "| --- | --- | --- | --- | --- |"
for mode in wide deep wide_deep; do
	"$tmp/wdstream" backfill --spec configs/adult.yaml --store "file://$tmp/store" --model "adult-$mode" --mode "$mode" \
		--examples "$tmp/train.parquet" --holdout 0 --warm-start none \
		--force --force-reason "bench/adult.sh: no holdout, evaluated on adult.test" >"$tmp/$mode.out" 2>"$tmp/$mode.log"
	line=$("$tmp/wdstream" eval --store "file://$tmp/store" --model "adult-$mode" --input "$tmp/test.parquet")
	train=$(sed -n 's/.*trained [0-9]* examples in \([^ ]*\) .*/\1/p' "$tmp/$mode.log")
	auc=$(sed -n 's/.*AUC \([0-9.]*\),.*/\1/p' <<<"$line")
	ll=$(sed -n 's/.*log loss \([0-9.]*\),.*/\1/p' <<<"$line")
	cal=$(sed -n 's/.*calibration \([0-9.]*\) .*/\1/p' <<<"$line")
	echo "| $mode | $auc | $ll | $cal | $train |"
done
