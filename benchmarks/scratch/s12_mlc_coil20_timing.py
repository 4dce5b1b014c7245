"""Seconds per TCR and MLC epoch of MLC's defaults on COIL-20 (1,440 images; one step of
2 x 1,024 views per epoch), ``init_epochs=3, epochs=2``, seed 0, one thread; no score
read. Session 12, RESULTS.md (first run inline at 11:56 UTC)."""

import time
import warnings

import torch

from deepclust.bench.suite import select
from deepclust.data import registry
from deepclust.methods import get_method
from deepclust.run import _tell_image_shape, vectors_for

warnings.simplefilter("ignore")
torch.set_num_threads(1)
entry = select(["coil20"])[0][0]
ds = registry.load(entry.spec, **entry.data_options)
X = vectors_for(ds, entry.preprocess)
est = get_method("mlc")(20, random_state=0, device="cpu", init_epochs=3, epochs=2)
_tell_image_shape(est, ds, X)
t = time.perf_counter()
est.fit(X)
print("fit", round(time.perf_counter() - t, 1), "s")
for r in est.history_:
    print(r["stage"], r["epoch"], round(r["seconds"], 2), "s")
