"""Label and loss-history hashes of every fit in ``tests/test_host_syncs.py``'s CASES (seed
0, CPU, one thread), to compare two code versions bit for bit: run it in each checkout
(``PYTHONPATH=<checkout> python benchmarks/scratch/s12_same_results.py`` from that
checkout) and ``diff`` the outputs. Session 12, RESULTS.md (the batch-index change)."""

import hashlib
import sys
import warnings

import torch

sys.path.insert(0, "tests")
torch.set_num_threads(1)
from test_host_syncs import CASES  # noqa: E402

from deepclust.methods import get_method  # noqa: E402

for name in sorted(CASES):
    settings, data = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = get_method(name)(3, random_state=0, device="cpu", **settings).fit(data())
    labels = hashlib.sha1(est.labels_.tobytes()).hexdigest()[:10]
    losses = [round(float(v), 6) for r in est.history_ for k, v in r.items()
              if k not in ("stage", "epoch", "seconds") and isinstance(v, float)]  # fmt: skip
    print(name, labels, hashlib.sha1(repr(losses).encode()).hexdigest()[:10], flush=True)
