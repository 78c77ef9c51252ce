#!/usr/bin/env bash
# The paper's online experiment (its Table 1) on simulated users: a
# wide-only control against Wide & Deep, each its own model line (join,
# train, gate, publish, serve) behind `wdstream experiment`, on the latent-
# taste world and on the default one, with the paper's figures beside them.
# Both arms' specs are configs/playstore.yaml (the first with model.mode
# wide), with a schedule for minutes: a candidate every minute, gated on
# 5,000 fresh examples, a 250ms latency budget for the dry run (it shares 2
# cores with both lines). Each world: a start model per arm trained on 5
# pre-period days of 200,000 impressions (20,000 users, 2,000 apps, seed
# 1), then DURATION of traffic at RATE requests/s of 20 candidates, the top
# 5 shown; the offline AUC is each arm's latest version on the day after
# the pre-period.
#
# usage: bench/experiment.sh
#   WORLDS="latent default"   which worlds
#   DURATION=8m RATE=250      the horizon (fixed before the start) and the rate
#   SPEC=configs/playstore.yaml   the spec both arms are made from
#   PRE_DAYS=5 PRE_IMPRESSIONS=200000   the pre-period
#   OUT=DIR                   keep each world's JSON report and experiment dir in DIR
#   PAIRED=1                  --paired: every request to both arms, each in its
#                             own copy of the world, the gain on paired users
# About 9 minutes a world on 2 cores with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
worlds=${WORLDS:-latent default}
duration=${DURATION:-8m}
rate=${RATE:-250}
spec=${SPEC:-configs/playstore.yaml}
pre_days=${PRE_DAYS:-5}
pre_imps=${PRE_IMPRESSIONS:-200000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${OUT:-$tmp}
mkdir -p "$out"
go build -o "$tmp/wdstream" ./cmd/wdstream

# The schedule of a few minutes, for both arms; the wide arm's mode.
sched=(-e 's/^  every: [0-9a-z]*/  every: 1m/' -e 's/^  examples: [0-9]*/  examples: 5000/' -e 's/^  latency_budget: [0-9a-z]*/  latency_budget: 250ms/')
sed "${sched[@]}" "$spec" >"$tmp/wide_deep.yaml"
sed "${sched[@]}" -e 's/^  mode: wide_deep/  mode: wide/' "$spec" >"$tmp/wide.yaml"
grep -Eq '^  mode: wide( |$)' "$tmp/wide.yaml" || { echo "bench/experiment.sh: $spec has no 'mode: wide_deep' line to make the wide arm of" >&2; exit 1; }
grep -q '^  every: 1m' "$tmp/wide.yaml" && grep -q '^  examples: 5000' "$tmp/wide.yaml" || { echo "bench/experiment.sh: $spec: publish.every or validation.examples not found" >&2; exit 1; }

for w in $worlds; do
	flags=()
	[[ "$w" == latent ]] && flags=(--latent-taste)
	[[ "${PAIRED:-0}" == 1 ]] && flags+=(--paired)
	echo "world $w: $duration at $rate requests/s ($(date -u +%H:%M) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	"$tmp/wdstream" experiment --arms "wide=$tmp/wide.yaml,wide_deep=$tmp/wide_deep.yaml" "${flags[@]}" \
		--duration "$duration" --rate "$rate" --pre-days "$pre_days" --pre-impressions "$pre_imps" --users 20000 --apps 2000 --seed 1 \
		--min-impressions 50000 --http '' --dir "$out/$w" --json >"$out/$w.out"
	# The JSON report follows the progress lines.
	sed -n '/^{/,$p' "$out/$w.out" >"$out/$w.json"
done

echo
design="users split between the arms"
[[ "${PAIRED:-0}" == 1 ]] && design="paired: every request to both arms"
echo "Online experiment (wdstream experiment, $duration a world at $rate requests/s, $design; intervals 95%, delta method, the user as the unit), beside the paper's Table 1:"
echo
echo "| world | model | offline AUC (held-out day) | users | impressions | acquisition (95% CI) | online gain (95% CI) | verdict | versions published / rejected | the paper: offline AUC | the paper: online gain |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for w in $worlds; do
	jq -r --arg w "$w" '
	  . as $r | range(0; .arms | length) as $i | .arms[$i] as $a | $r.lines[$i] as $l |
	  [ $w, $a.name, ($l.offline_auc*10000|round/10000|tostring),
	    ($a.acquisition.users|tostring), ($a.acquisition.impressions|tostring),
	    "\($a.acquisition.rate*10000|round/10000) [\($a.acquisition.ci_low*10000|round/10000), \($a.acquisition.ci_high*10000|round/10000)]",
	    (if $a.gain then "\($a.gain.gain*10000|round/100)% [\($a.gain.ci_low*10000|round/100)%, \($a.gain.ci_high*10000|round/100)%]" else "0% (control)" end),
	    ($a.verdict // ""),
	    "\($l.versions_published) / \($l.versions_rejected)",
	    (if $a.name == "wide" then "0.726" else "0.728" end),
	    (if $a.name == "wide" then "0% (control)" else "+3.9%" end) ]
	  | "| " + join(" | ") + " |"' "$out/$w.json"
done
