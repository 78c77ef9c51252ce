"""PyTorch reference of the trainer benchmarks (issue 17). Benchmarks only:
Python is never part of the product.

usage (bench/trainer.sh runs it; by hand):
    go run ./bench/featdump -out /tmp/fd configs/playstore.yaml configs/paper.yaml
    $(bash bench/reference/torch-env.sh) bench/reference/torch_widedeep.py --data /tmp/fd

It trains and scores, in PyTorch, the models of trainer/train_bench_test.go
(BenchmarkTrainStep, BenchmarkScore200) on the same input, and prints
key=value lines (PREFIX.key=value, PREFIX the spec's name) that
bench/trainer.sh puts next to the Go figures.

Input. The featurized examples of the Go benchmarks, written by
bench/featdump (the product's featurizer, package featurize, on the same
simulated world: seed 1, 4,000 users, 800 apps, 2 days of 15,000
impressions, 30-minute label window; Fit on every example, then
RefreshBoundaries and Transform): per example the wide entries
(slot, id), each deep field's ids (and list offsets), the normalized dense
columns and the label, plus meta.json with the layout's sizes and the spec's
model section. So the vocabularies, OOV buckets, max_length cuts, quantile
buckets and hashed crosses are the product's own, not re-implemented here.
Batches are cut as the Go benchmark cuts them: consecutive, full ones only.

The model, as trainer/ builds it from the spec (model.go, step.go,
interact.go, mlp.go, ftrl.go, adagrad.go):
  - wide part: one weight per id of every wide slot (a wide categorical
    feature's vocabulary ids, a wide numeric's 1 + quantiles bucket ids, a
    cross's hash_buckets), all slots in one nn.EmbeddingBag(total, 1,
    mode="sum", sparse=True) at offset slot_base[slot]; every entry's value
    is 1, so the wide logit is the bag's sum. Weights start at 0.
  - deep part: one table per deep categorical field, nn.Embedding(sparse=True)
    for a single value, nn.EmbeddingBag(mode=mean|sum, sparse=True) for a
    categorical_list (sqrtn: mode sum with per_sample_weights 1/sqrt(len));
    an empty list pools to zeros in both. Rows start uniform in
    +-sqrt(3/dim) as in Go. The pooled embeddings in field order, then the
    dense columns, then (interaction dot) the dot products of every pair of
    fields of equal embedding_dim, in Go's order (0,1), (0,2) ... (F-2,F-1):
    computed per group of equal dims as one batched product E.E^T of the
    stacked embeddings (DLRM's way) and the upper triangle, permuted into
    Go's order. playstore: 18 pairs (3 of the 16-dim fields app_id,
    app_category, installed_apps; 15 of the six 8-dim ones); paper (no
    interaction): none.
  - the tower: Linear + ReLU per hidden width, then Linear(., 1) (with its
    bias, as Go's), Glorot-uniform weights, zero biases; plus the shared
    bias, so the parameter count equals Go's Model.Params (printed for both).
  - loss: the batch-mean log loss (binary_cross_entropy_with_logits).
  - optimizers, as the spec says: FTRL-Proximal for the wide part, AdaGrad
    for the deep part and the biases. PyTorch has no FTRL, so FTRL below is a
    small torch.optim.Optimizer on the wide table's sparse gradient:
    coalesce (one gradient per touched weight, summed over the batch, as Go
    sums them), then the closed-form per-coordinate update of ftrl.go on the
    touched rows only, with index_select / index_copy_ (vectorized, no Python
    loop over weights). Sparse AdaGrad on the wide part would have been the
    shorter way, but it is another algorithm (no L1, hence no sparsity, a
    different step size), so neither the loss nor the cost would be the
    product's. AdaGrad: torch.optim.Adagrad with initial_accumulator_value
    from the spec and eps 0 (Go divides by sqrt(acc) alone); one instance for
    the sparse embedding gradients (its sparse path touches only the rows a
    batch used, as Go does), one with fused=True (PyTorch's fused CPU
    kernel) for the dense tower and the biases.

How it runs, as a careful PyTorch user would: torch.set_num_threads equal to
the Go run's cores (2, and 1 for the one-thread rows), one inter-op thread,
sparse gradients for every embedding table, all batches turned into tensors
before any timing, no Python loop over examples anywhere, scoring under
torch.inference_mode(). Not used: torch.compile (not tried: the sparse
embedding gradients and optimizers are outside what it compiles, so only
the dense tower could gain, and eager mode is the common way) and mixed
precision (Go trains in float32; torch's float32 matmul precision stays
"highest", so MKL computes in float32).

Figures, each next to the Go benchmark's of the same name:
  - train: a fresh model, 2 warm-up steps on batches 0 and 1, then STEPS
    steps on batches i % len (BenchmarkTrainStep's loop; STEPS from
    BENCHTIME), only the steps timed: examples/s at 2 and at 1 thread;
  - score (the paper spec, batches of 200): a model trained 20 steps on
    the first 20 batches, then each held-out batch scored in turn for
    SCORETIME (BenchmarkScore200): mean, p50 and p99 ms at 1 and 2 threads;
  - correctness: a fresh model trained one pass over all batches in order
    (as featdump trains the Go model): the mean of the batch losses before
    each update, and the log loss of the trained model on the same batches.
    Both printed next to Go's, which featdump recorded in meta.json;
  - sgemm: torch.mm's GFLOP/s (MKL) at 2 threads for BenchmarkSgemmPeak's
    two products, 5 each (its -benchtime 5x).
"""

import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------- input


class Batch:
    """One mini-batch as tensors, built before any timing."""

    __slots__ = ("n", "y", "wide_idx", "wide_off", "deep", "dense")


def load(dirpath):
    with open(os.path.join(dirpath, "meta.json")) as f:
        meta = json.load(f)
    arr = lambda name: np.load(os.path.join(dirpath, name + ".npy"))
    d = {
        "labels": arr("labels"),
        "wide_offsets": arr("wide_offsets"),
        "dense": arr("dense"),
    }
    sizes = np.array([s["size"] for s in meta["wide_slots"]], dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # Each wide entry's row in the one table of every slot.
    d["wide_rows"] = base[arr("wide_slots")] + arr("wide_ids").astype(np.int64)
    for f, fld in enumerate(meta["deep_fields"]):
        d[f"deep_{f}_ids"] = arr(f"deep_{f}_ids").astype(np.int64)
        if fld["multi"]:
            d[f"deep_{f}_offsets"] = arr(f"deep_{f}_offsets")
    return meta, d


def cut(meta, d, bs):
    """The data as consecutive full batches of bs examples."""
    out = []
    t = torch.from_numpy
    for k in range(meta["examples"] // bs):
        lo, hi = k * bs, (k + 1) * bs
        b = Batch()
        b.n = bs
        b.y = t(d["labels"][lo:hi].copy())
        wo = d["wide_offsets"][lo : hi + 1]
        b.wide_idx = t(d["wide_rows"][wo[0] : wo[-1]].copy())
        b.wide_off = t((wo[:-1] - wo[0]).copy())
        b.deep = []
        for f, fld in enumerate(meta["deep_fields"]):
            ids = d[f"deep_{f}_ids"]
            if not fld["multi"]:
                b.deep.append((t(ids[lo:hi].copy()), None, None))
                continue
            o = d[f"deep_{f}_offsets"][lo : hi + 1]
            psw = None
            if fld["combiner"] == "sqrtn":
                lens = np.diff(o)
                psw = t(np.repeat(1 / np.sqrt(np.maximum(lens, 1)), lens).astype(np.float32))
            b.deep.append((t(ids[o[0] : o[-1]].copy()), t((o[:-1] - o[0]).copy()), psw))
        b.dense = t(d["dense"][lo:hi].copy())
        out.append(b)
    return out


# ---------------------------------------------------------------- model


class WideDeep(nn.Module):
    def __init__(self, meta):
        super().__init__()
        m = meta["model"]
        if m["mode"] != "wide_deep":
            raise SystemExit(f"mode {m['mode']}: only wide_deep is implemented")
        if m["interaction"] not in ("none", "dot"):
            raise SystemExit(f"interaction {m['interaction']}: only none and dot are implemented")
        total = sum(s["size"] for s in meta["wide_slots"])
        self.wide = nn.EmbeddingBag(total, 1, mode="sum", sparse=True)
        nn.init.zeros_(self.wide.weight)
        self.fields = meta["deep_fields"]
        self.emb = nn.ModuleList()
        for fld in self.fields:
            dim = fld["dim"]
            if fld["multi"]:
                mode = {"mean": "mean", "sum": "sum", "sqrtn": "sum"}[fld["combiner"]]
                e = nn.EmbeddingBag(fld["size"], dim, mode=mode, sparse=True)
            else:
                e = nn.Embedding(fld["size"], dim, sparse=True)
            lim = math.sqrt(3 / dim)
            nn.init.uniform_(e.weight, -lim, lim)
            self.emb.append(e)
        in_dim = sum(f["dim"] for f in self.fields) + len(meta["dense"])
        # Interaction dot: Go's pairs, and the groups of equal dims.
        self.groups = []
        self.perm = None
        npairs = 0
        if m["interaction"] == "dot":
            dims = [f["dim"] for f in self.fields]
            go_pairs = [(a, b) for a in range(len(dims)) for b in range(a + 1, len(dims)) if dims[a] == dims[b]]
            ours = []
            for dim in dict.fromkeys(dims):
                fs = [i for i, d in enumerate(dims) if d == dim]
                if len(fs) < 2:
                    continue
                iu = torch.triu_indices(len(fs), len(fs), 1)
                self.groups.append((fs, iu[0], iu[1]))
                ours += [(fs[i], fs[j]) for i, j in zip(iu[0].tolist(), iu[1].tolist())]
            self.perm = torch.tensor([ours.index(p) for p in go_pairs])
            npairs = len(go_pairs)
        self.npairs = npairs
        layers = []
        width = in_dim + npairs
        for h in m["hidden"] + [1]:
            lin = nn.Linear(width, h)
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)
            layers += [lin, nn.ReLU()]
            width = h
        self.tower = nn.Sequential(*layers[:-1])  # no ReLU on the output
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, b):
        wide = self.wide(b.wide_idx, b.wide_off).squeeze(1)
        es = []
        for e, (ids, off, psw) in zip(self.emb, b.deep):
            es.append(e(ids) if off is None else e(ids, off, per_sample_weights=psw))
        x = torch.cat(es + [b.dense], 1)
        if self.groups:
            ps = []
            for fs, i, j in self.groups:
                E = torch.stack([es[f] for f in fs], 1)  # B x F x d
                ps.append(torch.bmm(E, E.transpose(1, 2))[:, i, j])
            x = torch.cat([x, torch.cat(ps, 1)[:, self.perm]], 1)
        return wide + self.tower(x).squeeze(1) + self.bias

    def sparse_params(self):
        return [e.weight for e in self.emb]

    def dense_params(self):
        return list(self.tower.parameters()) + [self.bias]


class FTRL(torch.optim.Optimizer):
    """FTRL-Proximal (McMahan et al. 2013) on a sparse gradient, as
    trainer/ftrl.go: per touched coordinate with gradient g,
      sigma = (sqrt(n + g^2) - sqrt(n)) / alpha; z += g - sigma w; n += g^2
      w = 0 if |z| <= l1, else -(z - sign(z) l1) / ((beta + sqrt(n)) / alpha + l2)."""

    def __init__(self, params, alpha, beta, l1, l2):
        super().__init__(params, dict(alpha=alpha, beta=beta, l1=l1, l2=l2))

    @torch.no_grad()
    def step(self):
        for gr in self.param_groups:
            alpha, beta, l1, l2 = gr["alpha"], gr["beta"], gr["l1"], gr["l2"]
            for p in gr["params"]:
                if p.grad is None:
                    continue
                g = p.grad.coalesce()
                idx, gv = g.indices()[0], g.values()
                st = self.state[p]
                if not st:
                    st["z"], st["n"] = torch.zeros_like(p), torch.zeros_like(p)
                z, n = st["z"], st["n"]
                n0 = n.index_select(0, idx)
                n1 = n0 + gv * gv
                sq1 = n1.sqrt()
                z1 = z.index_select(0, idx) + gv - (sq1 - n0.sqrt()) / alpha * p.index_select(0, idx)
                w1 = (z1.sign() * l1 - z1) / ((beta + sq1) / alpha + l2)
                w1 = torch.where(z1.abs() <= l1, torch.zeros_like(w1), w1)
                n.index_copy_(0, idx, n1)
                z.index_copy_(0, idx, z1)
                p.index_copy_(0, idx, w1)


class Trainer:
    def __init__(self, meta, seed):
        torch.manual_seed(seed)
        m = meta["model"]
        self.model = WideDeep(meta)
        lr, acc0 = m["adagrad_learning_rate"], m["adagrad_initial_accumulator"]
        self.opts = [
            FTRL([self.model.wide.weight], m["ftrl_alpha"], m["ftrl_beta"], m["ftrl_l1"], m["ftrl_l2"]),
            torch.optim.Adagrad(self.model.sparse_params(), lr=lr, initial_accumulator_value=acc0, eps=0),
            torch.optim.Adagrad(self.model.dense_params(), lr=lr, initial_accumulator_value=acc0, eps=0, fused=True),
        ]

    def step(self, b):
        for o in self.opts:
            o.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(self.model(b), b.y)
        loss.backward()
        for o in self.opts:
            o.step()
        return loss.item()

    def predict(self, b):
        with torch.inference_mode():
            return torch.sigmoid(self.model(b))

    def params(self):
        return sum(p.numel() for p in self.model.parameters())


# ---------------------------------------------------------------- runs


def train_rate(meta, batches, steps, threads):
    """BenchmarkTrainStep's loop: examples/s over steps timed steps."""
    torch.set_num_threads(threads)
    tr = Trainer(meta, meta["model"]["seed"])
    for b in batches[:2]:  # warm up
        tr.step(b)
    elapsed = 0.0
    for i in range(steps):
        b = batches[i % len(batches)]
        t0 = time.perf_counter()
        tr.step(b)
        elapsed += time.perf_counter() - t0
    return steps * batches[0].n / elapsed


def one_pass(meta, batches, threads):
    """A fresh model trained one pass in order: mean batch loss before each
    update, the loss after on the same batches, examples/s."""
    torch.set_num_threads(threads)
    tr = Trainer(meta, meta["model"]["seed"])
    t0 = time.perf_counter()
    losses = [tr.step(b) for b in batches]
    rate = len(batches) * batches[0].n / (time.perf_counter() - t0)
    after = 0.0
    with torch.inference_mode():
        for b in batches:
            after += F.binary_cross_entropy_with_logits(tr.model(b), b.y, reduction="sum").item()
    return sum(losses) / len(losses), after / (len(batches) * batches[0].n), rate, tr.params()


def score_latency(meta, batches, threads, budget):
    """BenchmarkScore200: 20 training steps, then held-out batches scored in
    turn for budget (seconds, or ("x", count)); mean, p50, p99 ms."""
    torch.set_num_threads(2)
    tr = Trainer(meta, meta["model"]["seed"])
    for b in batches[:20]:
        tr.step(b)
    held = batches[20:]
    torch.set_num_threads(threads)
    tr.predict(held[0])
    lat = []
    start = time.perf_counter()
    i = 0
    while True:
        t0 = time.perf_counter()
        tr.predict(held[i % len(held)])
        lat.append(time.perf_counter() - t0)
        i += 1
        if budget[0] == "x":
            if i >= budget[1]:
                break
        elif time.perf_counter() - start >= budget[1]:
            break
    total = time.perf_counter() - start
    lat.sort()
    q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1e3
    return total / len(lat) * 1e3, q(0.5), q(0.99), len(lat)


def sgemm_rate(m, n, k, threads, iters):
    """BenchmarkSgemmPeak: GFLOP/s of C = A.B (float32, row-major) over
    iters products after one warm-up, torch.mm into a preallocated C (MKL)."""
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(m, k, generator=g) * 2 - 1, torch.rand(k, n, generator=g) * 2 - 1
    c = torch.empty(m, n)
    torch.mm(a, b, out=c)
    t0 = time.perf_counter()
    for _ in range(iters):
        torch.mm(a, b, out=c)
    return 2 * m * n * k * iters / (time.perf_counter() - t0) / 1e9


def parse_benchtime(s):
    """Go's -benchtime: "20x" or a duration "2s", "500ms"."""
    if s.endswith("x"):
        return ("x", int(s[:-1]))
    for unit, mul in (("ms", 1e-3), ("s", 1.0), ("m", 60.0)):
        if s.endswith(unit):
            return ("s", float(s[: -len(unit)]) * mul)
    raise SystemExit(f"bad benchtime {s!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="bench/featdump's output directory")
    ap.add_argument("--specs", default="playstore,paper", help="spec names to train")
    ap.add_argument("--score-spec", default="paper", help="spec of the scoring benchmark ('' for none)")
    ap.add_argument("--benchtime", default="20x", help="training steps, as BENCHTIME (Nx)")
    ap.add_argument("--scoretime", default="2s", help="scoring time per case, as SCORETIME")
    ap.add_argument("--threads", default="2,1", help="thread counts of the training figures")
    ap.add_argument("--score-threads", default="1,2", help="thread counts of the scoring figures")
    ap.add_argument("--score-batch", type=int, default=200)
    args = ap.parse_args()

    torch.set_num_interop_threads(1)
    # Sparse gradients are built by torch itself: no invariant checks (the
    # default, said explicitly to silence its warning).
    torch.sparse.check_sparse_tensor_invariants.disable()
    out = lambda k, v: print(f"{k}={v}", flush=True)
    out("loadavg_before", loadavg())
    out("torch_version", torch.__version__)
    out("torch_cuda_available", torch.cuda.is_available())
    out("torch_mkl", torch.backends.mkl.is_available())
    out("torch_mkldnn", torch.backends.mkldnn.is_available())
    for m in (256, 1024):
        out(f"sgemm_{m}x1024x1024_gflops", f"{sgemm_rate(m, 1024, 1024, 2, 5):.1f}")
    steps = parse_benchtime(args.benchtime)
    steps = steps[1] if steps[0] == "x" else 20
    for name in [s for s in args.specs.split(",") if s]:
        meta, d = load(os.path.join(args.data, name))
        bs = meta["model"]["batch_size"]
        batches = cut(meta, d, bs)
        threads = [int(t) for t in args.threads.split(",")]
        g = meta["go"]
        pl, al, rate, params = one_pass(meta, batches, threads[0])
        out(f"{name}.batch_size", bs)
        out(f"{name}.params", params)
        out(f"{name}.go_params", g["params"])
        out(f"{name}.pass_logloss", f"{pl:.4f}")
        out(f"{name}.after_logloss", f"{al:.4f}")
        out(f"{name}.go_pass_logloss", f"{g['pass_logloss']:.4f}")
        out(f"{name}.go_after_logloss", f"{g['after_logloss']:.4f}")
        out(f"{name}.pass_examples_per_s", f"{rate:.0f}")
        for t in threads:
            out(f"{name}.train_threads{t}_examples_per_s", f"{train_rate(meta, batches, steps, t):.0f}")
        if name == args.score_spec:
            sb = cut(meta, d, args.score_batch)
            for t in [int(t) for t in args.score_threads.split(",")]:
                mean, p50, p99, n = score_latency(meta, sb, t, parse_benchtime(args.scoretime))
                out(f"{name}.score_threads{t}_mean_ms", f"{mean:.3g}")
                out(f"{name}.score_threads{t}_p50_ms", f"{p50:.3g}")
                out(f"{name}.score_threads{t}_p99_ms", f"{p99:.3g}")
                out(f"{name}.score_threads{t}_batches", n)
    out("loadavg_after", loadavg())


if __name__ == "__main__":
    main()
