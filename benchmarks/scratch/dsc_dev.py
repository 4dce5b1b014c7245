# ruff: noqa
"""DSC on the synthetic climate cubes: ACC at the k-means start and after training (dev)."""

import sys, time, warnings
import numpy as np, torch

warnings.filterwarnings("ignore")
torch.set_num_threads(1)
from deepclust.data.synthetic import make_climate_cube
import os
from deepclust.methods import get_method

DSC = get_method(os.environ.get("METHOD", "dsc"))
from deepclust.metrics import cluster_accuracy

name = sys.argv[1]
kw = eval("dict(" + (sys.argv[2] if len(sys.argv) > 2 else "") + ")")
spec = {"4r": dict(random_state=0), "7r": dict(n_time=730, n_regimes=7, noise=1.0, random_state=0)}[
    name
]
ds = make_climate_cube(**spec)
k = {"4r": 4, "7r": 7}[name]
for seed in kw.pop("seeds", [0]):
    t = time.time()
    e0 = DSC(k, random_state=seed, **{**kw, "epochs": 0}).fit(ds.cube)
    est = DSC(k, random_state=seed, **kw).fit(ds.cube)
    print(
        os.environ.get("METHOD", "dsc"),
        name,
        kw,
        seed,
        "init",
        round(cluster_accuracy(ds.y, e0.labels_), 3),
        "final",
        round(cluster_accuracy(ds.y, est.labels_), 3),
        f"{time.time() - t:.0f}s",
        flush=True,
    )
