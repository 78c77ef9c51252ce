# The simulated worlds of bench/modes.sh and bench/negsampling.sh, which
# source this file from the repository's root: 7 days (seed 1), the default
# world and the latent-taste one, each with its labeled examples split by
# day. The sourcing script sets tmp, a temporary folder; this file builds
# wdstream and bench/examples into it and sets wdir, the folder of the
# worlds (WORLD_DIR keeps them across runs, else they go in tmp).

go build -o "$tmp/wdstream" ./cmd/wdstream
go build -o "$tmp/examples" ./bench/examples
wdir=${WORLD_DIR:-$tmp/worlds}

# prio CMD...: runs CMD, with PRIORITY=1 in its own scheduling group at
# nice -20 (root, Linux autogroup), as in bench/trainer.sh.
prio() {
	if [[ "${PRIORITY:-0}" == 1 ]]; then
		setsid bash -c 'echo -20 >/proc/self/autogroup && exec "$@"' _ "$@"
	else
		"$@"
	fi
}

# world NAME: simulates the world and splits its labeled examples by day.
world() {
	local dir="$wdir/$1" flag=""
	[[ "$1" == latent ]] && flag=--latent-taste
	if [[ ! -f "$dir/simulate.txt" ]]; then
		mkdir -p "$dir"
		"$tmp/wdstream" simulate --out "$dir" --seed 1 $flag --report 2>/dev/null >"$dir/simulate.tmp"
		mv "$dir/simulate.tmp" "$dir/simulate.txt"
	fi
	if [[ ! -f "$dir/ex/day-007.parquet" ]]; then
		"$tmp/examples" --impressions "$dir/impressions/*.parquet" --installs "$dir/installs/*.parquet" --out "$dir/ex" >&2
	fi
}

# oracle NAME DAY: the world's oracle AUC on that day.
oracle() { sed -n "s/^day $2: .*oracle AUC \([0-9.]*\).*/\1/p" "$wdir/$1/simulate.txt"; }
