"""IDEC on all of MNIST (2 fine-tuning and 2 IDEC epochs, seed 0, two threads), eager
against ``compile_networks=True``: seconds per epoch of each stage and the fit.
Session 12, RESULTS.md."""

import time
import warnings

import numpy as np

from deepclust import IDEC
from deepclust.data import load

warnings.simplefilter("ignore")
ds = load("mnist:../shared/data/mnist")
X = ds.X.reshape(len(ds.X), -1).astype(np.float32)
for compiled in (False, True):
    est = IDEC(10, ae_layerwise_epochs=0, ae_finetune_epochs=2, epochs=2, random_state=0,
               device="cpu", compile_networks=compiled)  # fmt: skip
    tic = time.perf_counter()
    est.fit(X)
    total = time.perf_counter() - tic
    epochs: dict[str, list[float]] = {}
    for r in est.history_:
        epochs.setdefault(r["stage"], []).append(round(r["seconds"], 1))
    print("compiled" if compiled else "eager", f"fit {total:.0f} s", epochs, flush=True)
