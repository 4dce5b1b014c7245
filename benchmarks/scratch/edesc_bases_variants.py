# ruff: noqa
"""EDESC bases variants on the digits, seeds 0-2: python benchmarks/scratch/edesc_bases_variants.py lr 0.1 | lr 0.0 | nophi 1"""

import sys, numpy as np, torch
import deepclust.methods.edesc as E
from deepclust.data.registry import load
from deepclust.metrics import cluster_accuracy

ds = load("digits")
mode, scale = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
orig = E.adam


def patched(params, lr, **kw):
    params = list(params)
    D = params[-1]
    return torch.optim.Adam([{"params": params[:-1], "lr": lr}, {"params": [D], "lr": lr * scale}])


if mode == "lr":
    E.adam = patched
accs = []
for seed in (0, 1, 2):
    kw = dict(bases_weight=0.0) if mode == "nophi" else {}
    est = E.EDESC(10, random_state=seed, device="cpu", **kw).fit(ds.X)
    accs.append(cluster_accuracy(ds.y, est.labels_))
print(mode, scale, np.round(accs, 3), round(float(np.mean(accs)), 3))
