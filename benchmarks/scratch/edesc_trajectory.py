"""ACC of EDESC's labels after every clustering epoch, beside the label-free share of
samples with ``max_j s_ij > 0.9`` (labels are read only to print; the fit never sees
them): ``python benchmarks/scratch/edesc_trajectory.py digits 0 1 2``.
Session 8 diagnosis of EDESC's seed spread (RESULTS.md)."""

import sys

import torch
from _suite_data import suite_vectors

from deepclust.methods import get_method
from deepclust.metrics import external_metrics

torch.set_num_threads(1)
name, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]] or [0]
entry, X, y = suite_vectors(name)
for seed in seeds:
    est = get_method("edesc")(entry.n_clusters, random_state=seed, device="cpu")
    accs: list[float] = []
    shares: list[float] = []
    labels_fn = est._labels

    def recording(data, _fn=labels_fn, _est=est, accs=accs, shares=shares):  # noqa: ANN001, ANN202
        out = _fn(data)
        accs.append(external_metrics(y, out)["acc"])
        with torch.no_grad():
            s = _est._affinity(_est._embed(data))
        shares.append(float((s.max(1).values > 0.9).float().mean()))
        return out

    est._labels = recording
    est.fit(X)
    rows = [h for h in est.history_ if h["stage"] == "edesc"]
    step = max(1, len(accs) // 25)
    print(name, seed, "ACC by epoch", [round(a, 3) for a in accs[::step]])
    print("  share max s > 0.9", [round(a, 3) for a in shares[::step]])
    print("  phi", [round(h["phi"], 2) for h in rows[:: max(1, len(rows) // 10)]],
          "kl", [round(h["kl"], 4) for h in rows[:: max(1, len(rows) // 10)]])  # fmt: skip
