"""Stub CUDA libraries for running PyPI's Linux torch wheel on the CPU.

usage: python cuda_stubs.py TORCH_PACKAGE_DIR OUT_DIR

PyPI's Linux x86_64 torch wheel is the CUDA build: its libraries
(libtorch_cuda.so, and libtorch_cpu.so for the profiler) name
libcudart.so.13, libcublas.so.13, libcudnn.so.9, libnccl.so.2 ... as
DT_NEEDED, so `import torch` fails unless those libraries load, and the
nvidia-* wheels that provide them weigh several GB. A CPU run never calls
them: at load, libtorch_cuda.so's static initializers register its CUDA
kernels (__cudaRegisterFatBinary, __cudaRegisterFunction ...: the real
runtime only records them); then torch asks cudaGetDeviceCount once, and
every CUDA kernel launch and library call sits behind a CUDA device. This script writes, for every such library,
a small shared object with the same soname, the same symbol versions and
every symbol torch's libraries import from it, each a function that returns
100 (cudaErrorNoDevice for the CUDA runtime, an error status for the other
libraries) or, for the *String / *Name functions, a constant message.
cudaGetDeviceCount's 100 is how the real runtime answers on a machine
without a GPU, so torch.cuda.is_available() is False and everything runs on
the CPU kernels of libtorch_cpu.so, the same code the CPU-only wheel runs.

Set WDSTREAM_CUDA_STUB_TRACE=1 to have every stub call print its name on
stderr (torch-env.sh's check of the venv does, and fails if CPU training
steps called any stub but those).

The symbols come from the libraries themselves (binutils' readelf and nm),
so a new torch pin regenerates them; gcc compiles the stubs.
"""

import os
import re
import subprocess
import sys

# Libraries that are not CUDA's: the C and C++ runtimes, and torch's own.
SYSTEM = re.compile(
    r"^(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux.*|"
    r"libgomp|libgfortran|libquadmath|libz|libpython.*)\.so"
)
# Unversioned imports, by the library that defines them.
UNVERSIONED = [
    (re.compile(r"^nccl"), "libnccl.so.2"),
    (re.compile(r"^cusparseLt"), "libcusparseLt.so.0"),
    (re.compile(r"^cuFile"), "libcufile.so.0"),
    (re.compile(r"^cu[A-Z]"), "libcuda.so.1"),
]


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def torch_libs(pkg):
    libdir = os.path.join(pkg, "lib")
    out = [os.path.join(libdir, f) for f in sorted(os.listdir(libdir)) if ".so" in f]
    out += [os.path.join(pkg, f) for f in sorted(os.listdir(pkg)) if f.startswith("_C") and f.endswith(".so")]
    return out


def needed(lib):
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", lib))


def version_needs(lib):
    """Maps each version name lib needs to the file (soname) it needs it from."""
    out, file = {}, None
    for line in run("readelf", "-V", "-W", lib).splitlines():
        m = re.search(r"File: (\S+)", line)
        if m:
            file = m.group(1)
            continue
        m = re.search(r"Name: (\S+)", line)
        if m and file:
            out[m.group(1)] = file
    return out


def main():
    pkg, outdir = sys.argv[1], sys.argv[2]
    libs = torch_libs(pkg)
    own = {os.path.basename(p) for p in libs}
    cuda = set()
    vers = {}
    for lib in libs:
        for n in needed(lib):
            if n not in own and not SYSTEM.match(n):
                cuda.add(n)
        vers.update(version_needs(lib))
    syms = {n: set() for n in cuda}  # soname -> symbols
    versioned = {n: set() for n in cuda}  # soname -> version names
    for lib in libs:
        for line in run("nm", "-D", "--undefined-only", lib).splitlines():
            parts = line.split()
            if len(parts) != 2 or parts[0] != "U":
                continue  # weak references need no definition
            name = parts[1]
            if "@" in name:
                sym, ver = name.split("@", 1)
                ver = ver.lstrip("@")
                so = vers.get(ver)
                if so in cuda:
                    syms[so].add(sym)
                    versioned[so].add(ver)
                continue
            for pat, so in UNVERSIONED:
                if pat.match(name):
                    syms.setdefault(so, set()).add(name)
                    versioned.setdefault(so, set())
                    cuda.add(so)
                    break
    os.makedirs(outdir, exist_ok=True)
    for so in sorted(cuda):
        base = os.path.join(outdir, so)
        with open(base + ".c", "w") as f:
            f.write(
                "#include <stdio.h>\n#include <stdlib.h>\n"
                "static int trace = -1;\n"
                "static void note(const char *name) {\n"
                '\tif (trace < 0) { const char *e = getenv("WDSTREAM_CUDA_STUB_TRACE"); trace = e != NULL && *e != 0; }\n'
                '\tif (trace) fprintf(stderr, "cuda stub called: %s\\n", name);\n'
                "}\n"
            )
            for s in sorted(syms[so]):
                if s.endswith("String") or s.endswith("Name"):
                    f.write(f'const char *{s}(void) {{ note("{s}"); return "CUDA stub: no CUDA library (CPU-only run)"; }}\n')
                else:
                    f.write(f'long {s}(void) {{ note("{s}"); return 100; }}\n')
        args = ["gcc", "-shared", "-fPIC", "-O1", "-fno-builtin", "-o", base, base + ".c", "-Wl,-soname," + so]
        if versioned[so]:
            with open(base + ".map", "w") as f:
                for v in sorted(versioned[so]):
                    f.write(f"{v} {{ global: *; }};\n")
            args.append("-Wl,--version-script=" + base + ".map")
        run(*args)
        print(f"{so}: {len(syms[so])} symbols", file=sys.stderr)


if __name__ == "__main__":
    main()
