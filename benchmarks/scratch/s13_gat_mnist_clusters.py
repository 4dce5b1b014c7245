"""Cluster sizes of session 13's GATCluster MNIST run, from its last checkpoint (diagnosis).

    python benchmarks/scratch/s13_gat_mnist_clusters.py

Refits with ``resume=True`` on the run's checkpoint folder: the checkpoint holds all 4
epochs, so no training happens, only the labelling. Prints the cluster sizes, the
per-epoch terms of eq. (3) and ACC (labels read for the report only; nothing is chosen).
"""

from __future__ import annotations

import json

import numpy as np
import torch

from deepclust.data.images import load_mnist
from deepclust.metrics import external_metrics
from deepclust.run import build_estimator

torch.set_num_threads(1)
ds = load_mnist("../shared/data/mnist")
params = {
    "widths": [32, 64, 128], "epochs": 4, "passes": 4, "image_shape": [1, 28, 28],
    "checkpoint_dir": "benchmarks/artifacts/gat_mnist/seed0", "checkpoint_every": 1,
    "resume": True,
}  # fmt: skip
est = build_estimator("gatcluster", 10, params, 0).fit(ds.X)
sizes = np.bincount(est.labels_, minlength=10)
print(json.dumps({
    "sizes": sorted(sizes.tolist(), reverse=True),
    "mean_max_proba": float(est.proba_.max(1).mean()),
    "acc": external_metrics(ds.y, est.labels_)["acc"],
    "history": [{k: round(v, 3) for k, v in r.items() if k != "stage"} for r in est.history_],
}, indent=1))  # fmt: skip
