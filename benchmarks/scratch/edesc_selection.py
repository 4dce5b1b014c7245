"""Which label-free epoch rule would keep EDESC's good epochs? Per clustering epoch (and
the k-means + SVD start), ACC beside three label-free scores computed on all samples:
mean ``max_j s_ij``, mean ``KL(S~ || S)`` and the epoch's total loss. Labels are read
only to print; the fit never sees them. Prints, per rule, the ACC of the epoch it keeps:
``python benchmarks/scratch/edesc_selection.py digits 0 1 2`` (issue 9, session 11)."""

import json
import sys

import numpy as np
import torch
from _suite_data import suite_vectors

from deepclust.methods import get_method
from deepclust.metrics import external_metrics
from deepclust.objectives.assignment import kl_divergence, target_distribution

torch.set_num_threads(1)
name, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]] or [0]
entry, X, y = suite_vectors(name)
for seed in seeds:
    est = get_method("edesc")(entry.n_clusters, random_state=seed, device="cpu")
    rec: dict[str, list[float]] = {"acc": [], "maxs": [], "kl": []}
    labels_fn = est._labels

    def recording(data, _fn=labels_fn, _est=est, rec=rec):  # noqa: ANN001, ANN202
        out = _fn(data)
        rec["acc"].append(external_metrics(y, out)["acc"])
        with torch.no_grad():
            s = _est._affinity(_est._embed(data))
            rec["maxs"].append(float(s.max(1).values.mean()))
            rec["kl"].append(float(kl_divergence(target_distribution(s), s, "mean")))
        return out

    est._labels = recording
    est.fit(X)
    acc = np.array(rec["acc"])  # index 0: the start; i: after epoch i
    picks = {"start": 0, "last": len(acc) - 1, "max maxs": int(np.argmax(rec["maxs"])),
             "min kl": int(np.argmin(rec["kl"]))}  # fmt: skip
    print(json.dumps({"data": name, "seed": seed, "n_epochs": len(acc) - 1,
                      "maxs": [round(v, 4) for v in rec["maxs"][::10]],
                      "acc10": [round(float(v), 3) for v in acc[::10]],
                      "picked": {k: [v, round(float(acc[v]), 3)] for k, v in picks.items()},
                      "best": round(float(acc.max()), 3)}), flush=True)  # fmt: skip
