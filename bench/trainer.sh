#!/usr/bin/env bash
# Trainer benchmarks (issue 4), in the pure Go build and the OpenBLAS build
# (-tags openblas: cgo and libopenblas-dev, `apt-get install libopenblas-dev`),
# printed as one Markdown table with the command behind every figure:
#   - training throughput (examples/s) on 2 cores for configs/playstore.yaml
#     and configs/paper.yaml (BenchmarkTrainStep, trainer/train_bench_test.go:
#     a simulated world featurized once, Trainer.Step timed), and for the
#     paper spec the dense layers' GFLOP/s against the machine's sgemm peak
#     measured between the steps of the same run (%peak);
#   - BenchmarkSgemmPeak on its own;
#   - scoring latency of a batch of 200 with the paper spec, 1 and 2
#     threads (BenchmarkScore200: mean, p50, p99);
#   - peak resident memory (VmHWM) and heap bytes per parameter of a
#     training job on the paper spec (bench/trainmem);
#   - with REFS=torch (the default), the same training and scoring in
#     PyTorch (bench/reference/torch_widedeep.py) on the same featurized
#     examples (bench/featdump), with the Go trainer's 1-thread throughput,
#     printed as a second table with ratios (Go / PyTorch for throughput,
#     PyTorch / Go for latency: above 1, Go is faster) and both one-pass log
#     losses. The PyTorch venv is made on first use by
#     bench/reference/torch-env.sh (PyPI, CPU only, about 1.3 GB under
#     ${WDSTREAM_CACHE:-~/.cache/wdstream}), before the load average is
#     first read.
# usage: bench/trainer.sh
#   BENCHTIME=20x  iterations of each training case (default 20x)
#   SCORETIME=2s   time of each scoring case (default 2s)
#   BUILDS="pure openblas"  which builds to run
#   REFS=torch     references to run (REFS= for none)
# With PRIORITY=1 (as root, Linux autogroup scheduling) every benchmark gets
# its own scheduling group at nice -20, so that it measures what 2 cores
# give rather than its share of a busy shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${BENCHTIME:-20x}
scoretime=${SCORETIME:-2s}
builds=${BUILDS:-pure openblas}
refs=${REFS-torch}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
torch=0
[[ " $refs " == *" torch "* ]] && torch=1

prio() {
	if [[ "${PRIORITY:-0}" == 1 ]]; then
		setsid bash -c 'echo -20 >/proc/self/autogroup && exec "$@"' _ "$@"
	else
		"$@"
	fi
}

ct="go test [-tags openblas] -run '^\$' -bench TrainStep -benchtime $benchtime -cpu 2 ./trainer"
cp="go test [-tags openblas] -run '^\$' -bench SgemmPeak -benchtime 5x -cpu 2 ./trainer"
cs="go test [-tags openblas] -run '^\$' -bench Score200 -benchtime $scoretime ./trainer"
cm="go run [-tags openblas] ./bench/trainmem -spec configs/paper.yaml"
c1="go test [-tags openblas] -run '^\$' -bench 'TrainStep/spec=(playstore|paper)/batch=256/tower=auto' -benchtime $benchtime -cpu 1 ./trainer"
cr="go run ./bench/featdump -out DIR configs/playstore.yaml configs/paper.yaml; \$(bash bench/reference/torch-env.sh) bench/reference/torch_widedeep.py --data DIR --benchtime $benchtime --scoretime $scoretime"
if ((torch)); then
	# Set-up, before the measured window: the venv (first use only) and the
	# featurized examples (with the Go trainer's one-pass log loss).
	py=$(bash bench/reference/torch-env.sh)
	echo "== go run ./bench/featdump -out $tmp/fd configs/playstore.yaml configs/paper.yaml" >&2
	go build -o "$tmp/featdump" ./bench/featdump
	"$tmp/featdump" -out "$tmp/fd" configs/playstore.yaml configs/paper.yaml
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for b in $builds; do
	tags=()
	[[ $b == openblas ]] && tags=(-tags openblas)
	for k in train peak score; do
		case $k in
		train) args=(-bench TrainStep -benchtime "$benchtime" -cpu 2) ;;
		peak) args=(-bench SgemmPeak -benchtime 5x -cpu 2) ;;
		score) args=(-bench Score200 -benchtime "$scoretime") ;;
		esac
		echo "== $b: go test ${tags[*]} -run '^\$' ${args[*]} ./trainer" >&2
		prio go test "${tags[@]}" -run '^$' "${args[@]}" ./trainer | tee "$tmp/${k}_$b.txt" | grep -E '^Benchmark' >&2
	done
	if ((torch)); then
		args=(-bench 'TrainStep/spec=(playstore|paper)/batch=256/tower=auto' -benchtime "$benchtime" -cpu 1)
		echo "== $b: go test ${tags[*]} -run '^\$' ${args[*]} ./trainer" >&2
		prio go test "${tags[@]}" -run '^$' "${args[@]}" ./trainer | tee "$tmp/train1_$b.txt" | grep -E '^Benchmark' >&2
	fi
	echo "== $b: go run ${tags[*]} ./bench/trainmem -spec configs/paper.yaml" >&2
	go build "${tags[@]}" -o "$tmp/trainmem_$b" ./bench/trainmem
	prio "$tmp/trainmem_$b" -spec configs/paper.yaml | tee "$tmp/mem_$b.txt" >&2
done
if ((torch)); then
	echo "== $py bench/reference/torch_widedeep.py --data $tmp/fd --benchtime $benchtime --scoretime $scoretime" >&2
	prio "$py" bench/reference/torch_widedeep.py --data "$tmp/fd" --benchtime "$benchtime" --scoretime "$scoretime" |
		tee "$tmp/torch.txt" >&2
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# metric FILE BENCHMARK UNIT: the value of UNIT on BENCHMARK's line, or "–".
metric() {
	awk -v name="$2" -v unit="$3" '/^Benchmark/ {
		n = $1; sub(/-[0-9]+$/, "", n)
		if (n != name) next
		for (i = 3; i < NF; i++) if ($(i + 1) == unit) { v = $i; printf (v >= 100 ? "%.0f" : "%.3g"), v; found = 1; exit }
	} END { if (!found) printf "–" }' "$tmp/$1" 2>/dev/null || printf "–"
}
kv() { sed -n "s/^$2=//p" "$tmp/$1" 2>/dev/null || true; }
mib() { awk -v b="$1" 'BEGIN { if (b == "") printf "–"; else printf "%.0f MiB", b / 1048576 }'; }
row() { printf '| %s | %s | %s | %s |\n' "$@"; }
# cell BUILD FILE BENCHMARK UNIT...: the units' values joined by " / ".
cell() {
	local b=$1 f=$2 n=$3 out="" u
	shift 3
	[[ -f "$tmp/${f}_$b.txt" ]] || { printf "–"; return; }
	for u in "$@"; do out+="${out:+ / }$(metric "${f}_$b.txt" "$n" "$u")"; done
	printf '%s' "$out"
}
both() { # label file benchmark command unit...
	local label=$1 f=$2 n=$3 c=$4
	shift 4
	row "$label" "$(cell pure "$f" "$n" "$@")" "$(cell openblas "$f" "$n" "$@")" "\`$c\`"
}

T=BenchmarkTrainStep/spec
S=BenchmarkScore200
gf="dense-layer GFLOP/s / sgemm peak GFLOP/s of the same run / % of peak"
echo
echo "Trainer benchmarks on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(go env GOVERSION); load average before $load_before, after $load_after; PRIORITY=${PRIORITY:-0}; 2 workers."
echo
echo "| figure | pure Go | OpenBLAS | command |"
echo "| --- | --- | --- | --- |"
both "playstore, batch 256: training examples/s" train "$T=playstore/batch=256/tower=auto" "$ct" examples/s
both "paper, batch 256: training examples/s" train "$T=paper/batch=256/tower=auto" "$ct" examples/s
both "paper, batch 256: $gf" train "$T=paper/batch=256/tower=auto" "$ct" tower-GFLOP/s peak-GFLOP/s %peak
both "paper, batch 1024: training examples/s" train "$T=paper/batch=1024/tower=auto" "$ct" examples/s
both "paper, batch 1024: $gf" train "$T=paper/batch=1024/tower=auto" "$ct" tower-GFLOP/s peak-GFLOP/s %peak
both "paper, batch 256, one BLAS thread, products split by the workers: examples/s / % of peak" train "$T=paper/batch=256/tower=auto/blas=1" "$ct" examples/s %peak
both "paper, batch 256, before issue 4 (a tower per shard, each with the BLAS's threads): examples/s / % of peak" train "$T=paper/batch=256/tower=sharded" "$ct" examples/s %peak
both "BenchmarkSgemmPeak 256x1024x1024 GFLOP/s" peak BenchmarkSgemmPeak/256x1024x1024 "$cp" GFLOP/s
both "BenchmarkSgemmPeak 1024x1024x1024 GFLOP/s" peak BenchmarkSgemmPeak/1024x1024x1024 "$cp" GFLOP/s
for c in workers=1/blas=1 workers=1/blas=2 workers=2/blas=1 workers=2/blas=2 split=2x100; do
	note=""
	[[ $c == workers=1/blas=1 ]] && note=" (paper: 31 ms, 1 thread)"
	[[ $c == split=2x100 ]] && note=" (paper: 17 ms, 2 threads of 100)"
	both "paper, score 200, $c: mean / p50 / p99 ms$note" score "$S/$c" "$cs" mean-ms p50-ms p99-ms
done
row "paper: trained parameters" "$(kv mem_pure.txt params)" "$(kv mem_openblas.txt params)" "\`$cm\`"
row "paper: heap bytes per parameter (model, optimizer state, trainer buffers)" "$(kv mem_pure.txt bytes_per_param)" "$(kv mem_openblas.txt bytes_per_param)" "same"
row "paper: peak RSS (VmHWM) of the training job / VmHWM before the model was built (simulated world and examples)" "$(mib "$(kv mem_pure.txt vmhwm_bytes)") / $(mib "$(kv mem_pure.txt vmhwm_before_model_bytes)")" "$(mib "$(kv mem_openblas.txt vmhwm_bytes)") / $(mib "$(kv mem_openblas.txt vmhwm_before_model_bytes)")" "same"
row "paper: training loop examples/s in that job (featurizing included)" "$(kv mem_pure.txt examples_per_s)" "$(kv mem_openblas.txt examples_per_s)" "same"

((torch)) || exit 0
# ratio A B: A / B to 3 significant digits, or "–" when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "–" || b == "–" || b + 0 == 0) printf "–"; else printf "%.3g", a / b }'
}
# tk KEY: the PyTorch run's value of KEY, or "–".
tk() {
	local v
	v=$(kv torch.txt "$1")
	printf '%s' "${v:-–}"
}
# vs LABEL GOFILE PUREBENCH OPENBLASBENCH TORCHKEY COMMAND: a training
# throughput row (examples/s), Go / PyTorch.
vs() {
	local p o t
	p=$(cell pure "$2" "$3" examples/s) o=$(cell openblas "$2" "$4" examples/s) t=$(tk "$5")
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$p" "$o" "$t" "$(ratio "$p" "$t")" "$(ratio "$o" "$t")" "\`$6\`"
}
# lat LABEL GOCASE THREADS: a scoring row, mean / p50 / p99, PyTorch / Go.
lat() {
	local p o t rp="" ro="" u tv
	p=$(cell pure score "$S/$2" mean-ms p50-ms p99-ms) o=$(cell openblas score "$S/$2" mean-ms p50-ms p99-ms)
	t="$(tk "paper.score_threads${3}_mean_ms") / $(tk "paper.score_threads${3}_p50_ms") / $(tk "paper.score_threads${3}_p99_ms")"
	for u in mean-ms p50-ms p99-ms; do
		tv=$(tk "paper.score_threads${3}_${u%-ms}_ms")
		rp+="${rp:+ / }$(ratio "$tv" "$(cell pure score "$S/$2" "$u")")"
		ro+="${ro:+ / }$(ratio "$tv" "$(cell openblas score "$S/$2" "$u")")"
	done
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$p" "$o" "$t" "$rp" "$ro" "\`$cs\`; \`$cr\`"
}
loss() { # spec: Go's and PyTorch's one-pass log losses
	printf '| %s: log loss of one pass (mean batch loss before each update / after the pass, on the same batches) | %s / %s | – | %s / %s | – | – | `go run ./bench/featdump` (pure Go: its Go pass) and the PyTorch run |\n' \
		"$1" "$(tk "$1.go_pass_logloss")" "$(tk "$1.go_after_logloss")" "$(tk "$1.pass_logloss")" "$(tk "$1.after_logloss")"
}
echo
echo "Against PyTorch $(tk torch_version) (bench/reference/torch_widedeep.py, CPU: CUDA available $(tk torch_cuda_available), MKL $(tk torch_mkl), oneDNN $(tk torch_mkldnn)) on the same featurized examples, in the same run; torch.set_num_threads = the Go run's threads. Ratios: Go / PyTorch for throughput, PyTorch / Go for latency (above 1: Go is faster). PyTorch's own load average: before $(tk loadavg_before), after $(tk loadavg_after)."
echo
echo "| figure | pure Go | OpenBLAS | PyTorch | pure Go / PyTorch | OpenBLAS / PyTorch | command |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
# One thread: -cpu 1 is one worker; the playstore tower runs in Go in
# both builds, the paper's OpenBLAS case is the one with one BLAS thread.
for sp in playstore paper; do
	vs "$sp, batch 256, 2 threads: training examples/s" train "$T=$sp/batch=256/tower=auto" "$T=$sp/batch=256/tower=auto" "$sp.train_threads2_examples_per_s" "$ct"
	ob="$T=$sp/batch=256/tower=auto"
	[[ $sp == paper ]] && ob+=/blas=1
	vs "$sp, batch 256, 1 thread: training examples/s" train1 "$T=$sp/batch=256/tower=auto" "$ob" "$sp.train_threads1_examples_per_s" "$c1"
done
lat "paper, score 200, 1 thread (Go workers=1/blas=1): mean / p50 / p99 ms" workers=1/blas=1 1
lat "paper, score 200, 2 threads (Go workers=2/blas=2): mean / p50 / p99 ms" workers=2/blas=2 2
for m in 256 1024; do
	p=$(cell pure peak "BenchmarkSgemmPeak/${m}x1024x1024" GFLOP/s) o=$(cell openblas peak "BenchmarkSgemmPeak/${m}x1024x1024" GFLOP/s) t=$(tk "sgemm_${m}x1024x1024_gflops")
	printf '| sgemm %sx1024x1024, 2 threads: GFLOP/s (PyTorch: torch.mm, MKL) | %s | %s | %s | %s | %s | %s |\n' "$m" "$p" "$o" "$t" "$(ratio "$p" "$t")" "$(ratio "$o" "$t")" "\`$cp\`"
done
loss playstore
loss paper
printf '| trained parameters, playstore / paper | %s / %s | – | %s / %s | – | – | same |\n' \
	"$(tk playstore.go_params)" "$(tk paper.go_params)" "$(tk playstore.params)" "$(tk paper.params)"
