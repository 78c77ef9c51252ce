#!/usr/bin/env bash
# Settings for the mode a model is trained in, measured through the
# service (issue 15). The always-on service sees each example once, in time
# order; a spec whose constants were chosen for a backfill's epochs may
# suit a single pass badly. For each world (seed 1, 7 days):
#   - `wdstream tune --mode stream` searches the model section on days 1-5
#     (scored on the newest 20%, day 5), from SPEC;
#   - SPEC and the stream-tuned spec are each trained three ways on days
#     1-5: by a backfill as the spec says (its epochs, early stopping), by
#     a one-epoch backfill, and by the service: `wdstream simulate
#     --brokers --through-day 5` fills new topics of the real broker with
#     days 1-5 of the world, then `wdstream run --stages join,train`
#     replays them from a cold start (the join labels them, the train stage
#     trains each example once and publishes one version, gated on the last
#     FRESH examples, which it then trains on too late for that version);
#   - every model is evaluated by `wdstream eval` on day 6 (the validation
#     day) and day 7 (the test day), which no choice here used.
# The service's examples are checked against the offline join's count of
# days 1-5, and its version's manifest gives the examples it trained.
#
# usage: bench/stream.sh [SPEC]       (default configs/playstore.yaml)
#   services started and their env.sh sourced (WDSTREAM_KAFKA_BROKERS)
#   WORLDS="latent"      which worlds (default and/or latent)
#   WORLD_DIR=DIR        keeps the worlds, as bench/modes.sh
#   TUNED_DIR=DIR        keeps the stream-tuned specs (DIR/stream-WORLD.yaml,
#                        reused when present) and the tune logs
#   BUDGET=25m           tune's --budget
#   FRESH=10000          the service's validation.examples (its gate's set)
#   SERVICE_RUNS=1       service runs per spec: its batches depend on how its
#                        readers interleave the partitions, so its AUCs vary
#                        a little from run to run
#   PRIORITY=1           as bench/modes.sh
# About 25 minutes on 2 cores for the latent world with its tune (the spec it
# chose trains slowly), 15 for the default one; each service run 1-3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${WDSTREAM_KAFKA_BROKERS:?start the services and source their env.sh first (bash scripts/services.sh start DIR; . DIR/env.sh)}"
base=${1:-configs/playstore.yaml}
worlds=${WORLDS:-latent}
budget=${BUDGET:-25m}
fresh=${FRESH:-10000}
runs=${SERVICE_RUNS:-1}
tmp=$(mktemp -d)
svc="" # the service's pid, set and stopped inside service's subshell
trap 'rm -rf "$tmp"' EXIT
. bench/worlds.sh
tdir=${TUNED_DIR:-$tmp/tuned}
mkdir -p "$tdir"
brokers=$WDSTREAM_KAFKA_BROKERS
store="file://$tmp/store"
id=$(date +%s)

# metric FILE: "AUC LOGLOSS" of a wdstream eval line.
metric() { sed -n 's/.*AUC \([0-9.]*\), log loss \([0-9.]*\),.*/\1 \2/p' "$1"; }
# evaluate MODEL WORLD: "VAL_AUC TEST_AUC TEST_LOGLOSS" of LATEST on days 6 and 7.
evaluate() {
	local d out=()
	for d in 6 7; do
		"$tmp/wdstream" eval --store "$store" --model "$1" --input "$wdir/$2/ex/day-00$d.parquet" >"$tmp/eval.txt"
		out+=($(metric "$tmp/eval.txt"))
	done
	echo "${out[0]} ${out[2]} ${out[3]}"
}
# trained MODEL: the examples LATEST's manifest says it trained on.
trained() {
	"$tmp/wdstream" models show "$1" --store "$store" --json | awk '/"data": \{/ {d = 1} d && /"examples":/ {gsub(/[^0-9]/, "", $2); print $2; exit}'
}
# setkeys SPEC OUT SECTION KEY VALUE [SECTION KEY VALUE]...: OUT is SPEC
# with each top-level SECTION's KEY (two spaces in) set to VALUE, added
# when the section lacks it.
setkeys() {
	local in=$1 out=$2
	shift 2
	awk -v sets="$*" 'BEGIN {n = split(sets, a, " "); for (i = 1; i <= n; i += 3) {v[a[i] "." a[i + 1]] = a[i + 2]; keys[a[i]] = keys[a[i]] " " a[i + 1]}}
		/^[a-z_]+:/ {sec = substr($1, 1, length($1) - 1); print; if (sec in keys) {m = split(keys[sec], k, " "); for (j = 1; j <= m; j++) print "  " k[j] ": " v[sec "." k[j]]}; next}
		/^  [a-z_]+:/ {key = substr($1, 1, length($1) - 1); if ((sec "." key) in v) next}
		{print}' "$in" >"$out"
}

# backfill MODEL SPEC WORLD [FLAGS...]: trains on days 1-5, prints the train time.
backfill() {
	local model=$1 sp=$2 w=$3 t0 t1
	shift 3
	t0=$(date +%s.%N)
	prio "$tmp/wdstream" backfill --spec "$sp" --store "$store" --model "$model" --examples "$wdir/$w/ex/day-00[1-5].parquet" \
		--holdout 0 --warm-start none --force --force-reason "bench/stream.sh: evaluated on days 6 and 7" "$@" >/dev/null 2>>"$tmp/train.log"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f s", b - a}'
}

# freeport: a port of 127.0.0.1 that nothing listens on (below the test
# services' 19000 and up).
freeport() {
	local p
	while :; do
		p=$((16000 + RANDOM % 2900))
		(: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# bgprio CMD...: starts CMD in the background as prio runs it (and sets $!
# to CMD's pid, so that a kill reaches it).
bgprio() {
	if [[ "${PRIORITY:-0}" == 1 ]]; then
		setsid bash -c 'echo -20 >/proc/self/autogroup && exec "$@"' _ "$@" &
	else
		"$@" &
	fi
}

# service MODEL SPEC WORLD EXAMPLES: days 1-5 into new topics, then the
# service replays them; prints "TRAINED TIME" when its version is out:
# the examples the version trained on, and the time from the service's
# start to the last of them trained (the join and the train stage at work,
# not the wait for the last windows to close and for the gate's set).
service() {
	local model=$1 sp=$2 w=$3 n=$4 flag="" t0 t1="" port m joined trained_n decided
	# service runs in $(...), a subshell that does not run the script's EXIT
	# trap: its own stops the service on every way out.
	trap '[[ -z "$svc" ]] || kill "$svc" 2>/dev/null; true' EXIT
	[[ "$w" == latent ]] && flag=--latent-taste
	local topics=(--topic-impressions "bench-st-$id-$model-imp" --topic-installs "bench-st-$id-$model-ins")
	setkeys "$sp" "$tmp/svc-$model.yaml" publish every 1000h publish every_examples $((n - fresh)) validation examples "$fresh"
	"$tmp/wdstream" simulate --brokers "$brokers" --seed 1 $flag --through-day 5 --partitions 4 "${topics[@]}" >>"$tmp/produce.log" 2>/dev/null
	port=$(freeport)
	t0=$(date +%s.%N)
	bgprio "$tmp/wdstream" run --stages join,train --spec "$tmp/svc-$model.yaml" --brokers "$brokers" --store "$store" --model "$model" \
		"${topics[@]}" --topic-examples "bench-st-$id-$model-ex" --topic-dlq "bench-st-$id-$model-dlq" \
		--group "bench-st-$id-$model-g" --train-group "bench-st-$id-$model-tg" --fresh-wait 90s --workers 2 \
		--http "127.0.0.1:$port" --log-level info >/dev/null 2>"$tmp/service-$model.log"
	svc=$!
	while :; do
		sleep 2
		if (($(date +%s) - ${t0%.*} > 3600)); then
			echo "the service has not trained the $n examples and decided on a version within an hour; the end of its log:" >&2
			tail -5 "$tmp/service-$model.log" >&2
			exit 1
		fi
		kill -0 "$svc" 2>/dev/null || { echo "the service exited; its log:" >&2; tail -20 "$tmp/service-$model.log" >&2; exit 1; }
		m=$(curl -s "127.0.0.1:$port/metrics" || true)
		joined=$(awk '/^wdstream_join_examples_total / {printf "%.0f", $2}' <<<"$m")
		trained_n=$(awk '/^wdstream_train_examples_total / {printf "%.0f", $2}' <<<"$m")
		decided=$(awk '/^wdstream_publisher_(published|rejected)_total/ {s += $2} END {printf "%.0f", s}' <<<"$m")
		[[ -z "$t1" && "${trained_n:-0}" -ge $((n - fresh)) ]] && t1=$(date +%s.%N)
		[[ "${trained_n:-0}" -ge "$n" && "${decided:-0}" -ge 1 ]] && break
	done
	kill -TERM "$svc"
	wait "$svc" || true
	svc=""
	if [[ "$joined" != "$n" ]]; then
		echo "the service joined $joined examples of days 1-5, the offline join $n" >&2
		exit 1
	fi
	grep -q 'msg=published' "$tmp/service-$model.log" || { echo "the service published no version:" >&2; grep -E 'rejected|gate' "$tmp/service-$model.log" | tail -5 >&2; exit 1; }
	awk -v n="$(trained "$model")" -v a="$t0" -v b="$t1" 'BEGIN {printf "%s %.1f s", n, b - a}'
}

for w in $worlds; do
	world "$w"
	# Every impression of days 1-5 is one example of the offline join.
	n=$(awk '/^day [1-5]: impressions/ {n += $4} END {print n + 0}' FS='[ ,]+' "$wdir/$w/simulate.txt")
	tuned="$tdir/stream-$w.yaml"
	if [[ ! -f "$tuned" ]]; then
		echo "tuning for the stream on $w (budget $budget)" >&2
		prio "$tmp/wdstream" tune --spec "$base" --examples "$wdir/$w/ex/day-00[1-5].parquet" --mode stream \
			--budget "$budget" --seed 1 --out "$tuned" 2>"$tdir/tune-stream-$w.log" >&2
	fi
	echo
	echo "World: $w (seed 1); trained on days 1-5 ($n examples), validation day 6 (oracle AUC $(oracle "$w" 6)), test day 7 (oracle AUC $(oracle "$w" 7))."
	echo "Stream-tuned spec: $tuned ($(sed -n 's/^# Best: \(.*\)\.$/\1/p' "$tuned"))."
	echo
	echo "| spec | trained by | examples trained | validation AUC (day 6) | test AUC (day 7) | test log loss | time |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	for which in base tuned; do
		sp=$base
		[[ "$which" == tuned ]] && sp=$tuned
		label=$([[ "$which" == base ]] && echo "$base" || echo "tuned --mode stream")
		t=$(backfill "$w-$which-bf" "$sp" "$w")
		echo "| $label | backfill (its epochs, early stopping) | $(trained "$w-$which-bf") | $(evaluate "$w-$which-bf" "$w" | tr ' ' '|' | sed 's/|/ | /g') | $t |"
		t=$(backfill "$w-$which-bf1" "$sp" "$w" --epochs 1)
		echo "| | backfill, 1 epoch | $(trained "$w-$which-bf1") | $(evaluate "$w-$which-bf1" "$w" | sed 's/ / | /g') | $t |"
		for ((k = 1; k <= runs; k++)); do
			r=$(service "$w-$which-svc$k" "$sp" "$w" "$n")
			echo "| | the service (one pass, real Kafka)$( ((runs > 1)) && echo ", run $k") | ${r%% *} | $(evaluate "$w-$which-svc$k" "$w" | sed 's/ / | /g') | ${r#* } |"
		done
	done
done
