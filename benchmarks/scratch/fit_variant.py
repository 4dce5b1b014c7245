"""Fit one method with given parameters on one suite dataset through the bench's data
path and print ACC, the last history record of its main stage and the seconds.

``python benchmarks/scratch/fit_variant.py spectralnet digits '{"orthonorm": "alternate",
"laplacian": "unnormalized", "affinity": "raw", "n_neighbors": 3}' 0`` (the session-7
SpectralNet diagnosis: the code before the fix is the ``alternate``/``unnormalized``
setting); ``... dasc digits '{}' 0`` prints DASC's loss terms (``adv`` against ``loss``);
``... edesc hsi-5c '{"bases_init": "orthonormal", "epochs": 5}' 0``. Session 7, RESULTS.md.
"""

import json
import sys
import time

import torch

from deepclust.bench.suite import select
from deepclust.data import registry
from deepclust.methods import get_method
from deepclust.metrics import external_metrics
from deepclust.run import _tell_image_shape, fit_region, vectors_for

torch.set_num_threads(1)
method, name, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
seeds = [int(s) for s in sys.argv[4:]] or [0]
entry = select([name])[0][0]
ds = registry.load(entry.spec, **entry.data_options)
region = fit_region(ds, entry.preprocess)
X = vectors_for(ds, entry.preprocess)
for seed in seeds:
    est = get_method(method)(entry.n_clusters, random_state=seed, device="cpu", **params)
    _tell_image_shape(est, ds, X)
    tic = time.perf_counter()
    est.fit(X[region])
    acc = external_metrics(ds.y[region], est.labels_)["acc"]
    last = [h for h in est.history_ if h["stage"] == est.history_[-1]["stage"]][-1]
    terms = {k: round(v, 4) for k, v in last.items() if isinstance(v, float)}
    print(method, name, params, seed, "ACC", round(acc, 3), terms,
          f"{time.perf_counter() - tic:.0f} s", flush=True)  # fmt: skip
