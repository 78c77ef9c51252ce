#!/usr/bin/env bash
# Benchmark of `wdstream simulate`: builds the binary, writes the default
# world (or the one the extra flags describe) to Parquet in a temporary
# directory, and prints events/s of wall time, CPU seconds and the machine's
# load (other jobs on a shared machine lower events/s; CPU per event is the
# steadier figure).
#
# usage: bench/simulate.sh [extra wdstream simulate flags]
# With PRIORITY=1 (as root, Linux autogroup scheduling) the run gets its own
# scheduling group at nice -20, so that it measures what 2 cores give
# rather than its share of a busy shared machine.
# The Go benchmark of the same work (two days of the default world):
#   go test -run '^$' -bench 'WriteFiles/parquet' -benchtime 3x ./simulate
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/wdstream" ./cmd/wdstream
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
run=("$tmp/wdstream" simulate --out "$tmp/out" --seed 1 "$@")
start=$(date +%s.%N)
if [[ "${PRIORITY:-0}" == 1 ]]; then
	setsid bash -c 'echo -20 >/proc/self/autogroup && exec "$@"' _ /usr/bin/time -f '%U %S' -o "$tmp/cpu" "${run[@]}" 2>/dev/null | tee "$tmp/summary"
else
	/usr/bin/time -f '%U %S' -o "$tmp/cpu" "${run[@]}" 2>/dev/null | tee "$tmp/summary"
fi
end=$(date +%s.%N)
read -r user sys <"$tmp/cpu"
events=$(sed -n 's/.*wrote \([0-9]*\) events.*/\1/p' "$tmp/summary")
awk -v e="$events" -v s="$start" -v t="$end" -v u="$user" -v y="$sys" 'BEGIN {
	w = t - s; c = u + y
	printf "events %d, wall %.2fs, %.0f events/s; cpu %.2fs (%.2f cores), %.0f cpu-ns/event\n", e, w, e / w, c, c / w, c * 1e9 / e
}'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
du -sh "$tmp/out/impressions" "$tmp/out/installs"
