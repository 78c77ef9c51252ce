"""Recompute wdstream predictions from a published weights.safetensors.

Proves the weights format is readable outside Go with standard tools
(safetensors + numpy): given the featurized inputs of a few examples (ids
and normalized values, as Go's featurizer produced them) and Go's scores, it
rebuilds every logit from the tensors alone, following the layout documented
in trainer/persist.go, and exits non-zero when any score differs by more
than the tolerance.

usage: score_safetensors.py WEIGHTS INPUTS.json TOLERANCE
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def interact(w, meta, parts, x0):
    """The tower's input: x0, with model.interaction's terms (persist.go)."""
    kind = meta.get("interaction", "none")
    if kind == "dot":
        # pairs (0,1), (0,2) ... (F-2,F-1) of the fields' pooled
        # embeddings, those of unequal dims skipped, after x0
        dots = [parts[a] @ parts[b] for a in range(len(parts))
                for b in range(a + 1, len(parts)) if len(parts[a]) == len(parts[b])]
        return np.concatenate([x0, np.asarray(dots)])
    if kind == "cross":
        x = x0
        for l in range(meta["cross_layers"]):
            x = x0 * (x @ w[f"cross/{l}/w"].astype(np.float64) + w[f"cross/{l}/b"]) + x
        return x
    if kind != "none":
        raise SystemExit(f"unknown interaction {kind!r}")
    return x0


def main():
    weights_path, inputs_path, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
    w = load_file(weights_path)
    with safe_open(weights_path, framework="np") as f:
        meta = json.loads(f.metadata()["wdstream.model"])
    mode = meta["mode"]
    layers = len(meta["hidden"]) + 1
    inputs = json.load(open(inputs_path))
    worst = 0.0
    for ex in inputs["examples"]:
        # the log of the negative sampling rate, absent without sampling
        logit = float(w["bias"][0]) + meta.get("logit_offset", 0.0)
        if mode != "deep":
            for slot, idx, val in ex["wide"]:
                logit += float(w[f"wide/{slot}/w"][idx]) * val
        if mode != "wide":
            parts = []
            for field in meta["deep"]:
                table = w[f"emb/{field['name']}/w"].astype(np.float64)
                ids = ex["deep"][field["name"]]
                if not field["multi"]:
                    parts.append(table[ids[0]])
                    continue
                if not ids:
                    parts.append(np.zeros(field["dim"]))
                    continue
                pooled = table[ids].sum(axis=0)
                if field["combiner"] == "mean":
                    pooled /= len(ids)
                elif field["combiner"] == "sqrtn":
                    pooled /= np.sqrt(len(ids))
                parts.append(pooled)
            x0 = np.concatenate(parts + [np.asarray(ex["dense"], dtype=np.float64)])
            x = interact(w, meta, parts, x0)
            for l in range(layers):
                x = x @ w[f"tower/{l}/w"].astype(np.float64) + w[f"tower/{l}/b"]
                if l < layers - 1:
                    x = np.maximum(x, 0)
            logit += float(x[0])
        p = 1 / (1 + np.exp(-logit))
        worst = max(worst, abs(p - ex["score"]))
    print(f"{len(inputs['examples'])} examples, largest difference {worst:.2e} (tolerance {tol:g})")
    sys.exit(0 if worst <= tol else 1)


if __name__ == "__main__":
    main()
