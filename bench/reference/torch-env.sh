#!/usr/bin/env bash
# Makes (once) the Python venv of the PyTorch reference benchmark
# (bench/reference/torch_widedeep.py, run by bench/trainer.sh) and prints the
# path of the interpreter to run it with. Benchmarks only: the test command
# (scripts/test.sh, scripts/install.sh) never installs torch.
#
# The venv is "${WDSTREAM_CACHE:-$HOME/.cache/wdstream}/torch-venv-<hash>",
# the hash of bench/reference/requirements-torch.txt, of cuda_stubs.py and of
# the Python version, so a new pin makes a new venv. Everything comes from
# PyPI with `pip install --no-deps -r requirements-torch.txt` (every package
# pinned there, the list complete).
#
# CPU only, and small: PyPI's Linux torch wheel is the CUDA build, and its
# CUDA requirements (nvidia-cudnn-cu13, nvidia-nccl-cu13, cuda-toolkit's
# cuBLAS, cuFFT, cuSPARSE ... and triton) weigh several GB. --no-deps skips
# them; `import torch` then still needs the CUDA libraries that torch's own
# libraries name as DT_NEEDED, so cuda_stubs.py builds a stub for each (same
# soname and symbol versions; every function returns "no device"). They are
# in $venv/cuda-stubs, which the printed interpreter, $venv/bin/python-cpu,
# puts on LD_LIBRARY_PATH. torch then reports no CUDA device and runs its
# CPU kernels (libtorch_cpu.so, MKL and oneDNN linked in), as the CPU-only
# wheel of PyTorch's own index (which this machine cannot reach) would. The
# venv takes about
# 1.3 GB (the torch wheel is 540 MB to download), the CUDA wheels would add
# several GB. The check below runs sparse-embedding training steps with stub
# tracing on and fails if torch called any CUDA function but the kernel
# registrations at load and the device count.
#
# Needs python3 with venv, gcc and binutils (readelf, nm).
# usage: py=$(bash bench/reference/torch-env.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
req="$here/requirements-torch.txt"
py=${PYTHON3:-python3}
cache=${WDSTREAM_CACHE:-$HOME/.cache/wdstream}

die() {
	echo "torch-env: $*" >&2
	exit 1
}
for t in "$py" gcc readelf nm; do
	command -v "$t" >/dev/null || die "$t is not installed (the torch venv needs python3 with venv, gcc and binutils)"
done
hash=$( (cat "$req" "$here/cuda_stubs.py"; "$py" --version) | sha256sum | cut -c1-16)
venv="$cache/torch-venv-$hash"
if [[ ! -f "$venv/complete" ]]; then
	mkdir -p "$cache"
	log="$cache/torch-venv-$hash.log"
	echo "torch-env: creating $venv from $req (log: $log)" >&2
	rm -rf "$venv"
	{
		"$py" -m venv "$venv" &&
			"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
				--no-deps --no-compile --only-binary=:all: -r "$req" &&
			site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])') &&
			"$venv/bin/python" "$here/cuda_stubs.py" "$site/torch" "$venv/cuda-stubs"
	} >"$log" 2>&1 || die "creating the venv failed: see $log"
	cat >"$venv/bin/python-cpu" <<EOF
#!/bin/sh
# The venv's Python with the CUDA stub libraries on the loader's path
# (bench/reference/torch-env.sh).
LD_LIBRARY_PATH="$venv/cuda-stubs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$venv/bin/python" "\$@"
EOF
	chmod +x "$venv/bin/python-cpu"
	# The check: torch imports, sees no CUDA device, and trains a sparse
	# embedding and a linear layer on the CPU calling no CUDA function but
	# those allowed: the fat-binary registrations of libtorch_cuda.so's
	# static initializers (at load; the real runtime only records them too)
	# and the device count, which is how torch learns there is no device.
	allowed='__cuda(Register|Unregister)|cudaGetDeviceCount|cudaGetLastError'
	check=$(WDSTREAM_CUDA_STUB_TRACE=1 "$venv/bin/python-cpu" -c '
import torch
assert not torch.cuda.is_available()
torch.manual_seed(0)
emb = torch.nn.EmbeddingBag(100, 8, mode="mean", sparse=True)
lin = torch.nn.Linear(8, 1)
opt = torch.optim.Adagrad(list(emb.parameters()) + list(lin.parameters()), lr=0.1)
ids, offs = torch.randint(0, 100, (64,)), torch.arange(0, 64, 4)
y = torch.rand(16).round()
for _ in range(3):
    opt.zero_grad()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(lin(emb(ids, offs)).squeeze(1), y)
    loss.backward()
    opt.step()
print("torch", torch.__version__, "threads", torch.get_num_threads(), "loss", round(loss.item(), 4))
' 2>&1) || die "the venv's torch does not run: $check"
	calls=$(grep 'cuda stub called' <<<"$check" | grep -v -E "$allowed" || true)
	[[ -z $calls ]] || die "torch called CUDA on the CPU: $(sort -u <<<"$calls" | head -20)"
	echo "torch-env: $(grep '^torch' <<<"$check")" >&2
	touch "$venv/complete"
fi
echo "$venv/bin/python-cpu"
