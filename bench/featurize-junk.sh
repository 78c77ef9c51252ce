#!/usr/bin/env bash
# Memory benchmark of featurize's bounded admission counting: streams N
# distinct junk strings (default 10,000,000; the issue's figure is
# N=100000000) through Fit and prints the peak heap and the junk admitted.
# Usage: bench/featurize-junk.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
export WDSTREAM_JUNK_N="${1:-10000000}"
exec go test ./featurize/ -run '^$' -bench BenchmarkJunkAdmission -benchtime 1x -timeout 60m -v
