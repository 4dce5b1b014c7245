"""MLC on the synthetic two manifolds of its App. D.1, next to NMCE, k-means and spectral.

    python benchmarks/mlc_manifolds.py --seeds 0 1 2 --out benchmarks/results/mlc_manifolds

The data are the paper's: a closed curve ``x = [cos(A sin(w phi)) cos phi, ...]`` with
A = 0.2, w = 5, and a Gaussian blob around (0, 0, 1), 100 points each, noise 0.05, on
the sphere. MLC uses App. D.1's network: d = D = 3, heads FC(100) + ReLU + sphere
projection (the paper gives no optimiser settings for this example; ours are MLC's
defaults with 200 TCR and 100 MLC epochs; NMCE the same plus 50 fine-tuning epochs).
One JSON per seed and a figure: the input, MLC's features and the |z_i^T z_j| map of
the first seed.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deepclust.data.synthetic import make_sphere_manifolds  # noqa: E402
from deepclust.methods.classic import KMeans, SpectralClustering  # noqa: E402
from deepclust.methods.mlc import MLC  # noqa: E402
from deepclust.methods.nmce import NMCE  # noqa: E402
from deepclust.metrics import external_metrics  # noqa: E402
from deepclust.plots import plot_cosine_similarity, save_figure  # noqa: E402

MLC_SETTINGS = dict(dim=3, backbone_hidden=(100,), head_hidden=(100,), init_epochs=200, epochs=100)


def run_seed(seed: int) -> tuple[dict, MLC, np.ndarray, np.ndarray]:
    ds = make_sphere_manifolds(random_state=seed)
    record: dict = {"seed": seed, "n": int(len(ds.X))}
    for name, est in (
        ("kmeans", KMeans(2, random_state=seed)),
        ("spectral", SpectralClustering(2, random_state=seed)),
        ("mlc", MLC(2, random_state=seed, device="cpu", **MLC_SETTINGS)),
        ("nmce", NMCE(2, random_state=seed, device="cpu", finetune_epochs=50, **MLC_SETTINGS)),
    ):
        tic = time.perf_counter()
        est.fit(ds.X)
        m = external_metrics(ds.y, est.labels_)
        record[name] = {"acc": m["acc"], "nmi": m["nmi"], "seconds": time.perf_counter() - tic}
        if name == "mlc":
            record[name]["cluster_ranks"] = [int(r) for r in est.cluster_ranks_]
            mlc = est
    return record, mlc, ds.X, ds.y


def figure(X: np.ndarray, y: np.ndarray, est: MLC, out: Path) -> None:
    fig = plt.figure(figsize=(9, 4.2))
    for i, (pts, title) in enumerate(((X, "input X"), (est.embedding_, "MLC features Z"))):
        ax = fig.add_subplot(1, 2, i + 1, projection="3d")
        ax.scatter(*pts.T, c=np.where(y == 0, "tab:blue", "tab:orange"), s=8)
        ax.set_title(title)
    save_figure(fig, out / "manifolds.png")
    plot_cosine_similarity(est.embedding_, est.labels_, out / "cosine_similarity.png",
                           title="MLC: |z_i^T z_j| sorted by cluster")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--out", default="benchmarks/results/mlc_manifolds")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        record, est, X, y = run_seed(seed)
        record.update(machine=platform.node(), date=datetime.now(timezone.utc).isoformat())
        (out / f"seed{seed}.json").write_text(json.dumps(record, indent=2))
        if seed == args.seeds[0]:
            figure(X, y, est, out)
        print(json.dumps({k: record[k] for k in ("seed", "kmeans", "spectral", "mlc", "nmce")}))


if __name__ == "__main__":
    main()
