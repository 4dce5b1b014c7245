"""``deepclust demo`` (what ``make demo`` runs): several methods on real bundled data.

Clusters scikit-learn's handwritten digits (1,797 real 8x8 scans, 10 classes; shipped
with scikit-learn, so no download) with the classic baselines and the deep methods,
prints a metrics table and writes one picture with every method's clusters on a shared
t-SNE map of the data.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .data.registry import load_digits
from .metrics import external_metrics
from .utils import atomic_write_text

# (name, method, params): the deep ones use their automatic defaults.
DEMO_METHODS: list[tuple[str, str, dict[str, Any]]] = [
    ("k-means", "kmeans", {}),
    ("GMM (diag)", "gmm", {"covariance_type": "diag"}),
    ("spectral", "spectral", {}),
    # m = 2 makes every membership tend to 1/K in 64 dimensions (a known weakness of
    # fuzzy c-means in high dimension); the default m="auto" (about 1.05 here) does not.
    ("fuzzy c-means", "fcm", {}),
]
DEEP_METHODS: list[tuple[str, str, dict[str, Any]]] = [
    ("IDEC", "idec", {}),
]
#: ``deepclust demo --quick`` (the tests): a few epochs instead of the automatic ones.
QUICK_PARAMS: dict[str, dict[str, Any]] = {
    "idec": {"ae_layerwise_epochs": 2, "ae_finetune_epochs": 5, "epochs": 3},
}


def run_demo(out: Path, *, quick: bool = False, seed: int = 0) -> int:
    from . import plots
    from .run import build_estimator

    out.mkdir(parents=True, exist_ok=True)
    ds = load_digits()
    X, y = ds.X, ds.y
    rows = []
    labels: dict[str, np.ndarray] = {}
    print(f"deepclust demo: {ds.n_samples} real handwritten digits (8x8), 10 classes", flush=True)
    for title, method, params in DEMO_METHODS + DEEP_METHODS:
        p = dict(params)
        if quick:
            p.update(QUICK_PARAMS.get(method, {}))
        est = build_estimator(method, 10, p, seed)
        tic = time.perf_counter()
        pred = est.fit_predict(X)
        seconds = time.perf_counter() - tic
        m = external_metrics(y, pred)
        rows.append(
            {"method": title, "acc": m["acc"], "nmi": m["nmi"], "ari": m["ari"], "seconds": seconds}
        )
        labels[title] = pred
        print(
            f"  {title:<16} ACC {m['acc']:.3f}  NMI {m['nmi']:.3f}  ARI {m['ari']:.3f}"
            f"  ({seconds:.1f} s)",
            flush=True,
        )

    table = format_table(rows)
    print("\n" + table)
    atomic_write_text(out / "metrics.json", json.dumps(rows, indent=2) + "\n")
    atomic_write_text(out / "metrics.md", table + "\n")
    png = plot_panels(X, y, labels, out / "demo.png", plots)
    print(f"\nwrote {png} and {out / 'metrics.json'}", file=sys.stderr)
    return 0


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| method | ACC | NMI | ARI | seconds |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['acc']:.3f} | {r['nmi']:.3f} | {r['ari']:.3f} | "
            f"{r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def plot_panels(
    X: np.ndarray, y: np.ndarray, labels: dict[str, np.ndarray], path: Path, plots: Any
) -> Path:
    """One shared t-SNE map of the digits, coloured by each method's clusters.

    Each method's panel title carries its ACC and NMI (on all samples); one legend
    gives the class colours, which matched clusters share, and a panel with unmatched
    clusters lists those.
    """
    import matplotlib.pyplot as plt

    from .metrics import cluster_accuracy, nmi

    proj = plots.projection_2d(X, method="tsne", max_points=len(X))
    xy, idx = proj.coords, proj.index
    names = ["ground truth", *labels]
    cols = 3
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.4 * cols, 4.2 * rows), squeeze=False, layout="constrained"
    )
    classes = [int(c) for c in np.unique(y)]
    truth_tables = plots.color_tables(y[idx], y[idx])
    for ax, name in zip(axes.flat, names, strict=False):
        if name == "ground truth":
            ids, colors = y[idx], truth_tables.klass
            ax.set_title(f"ground truth ({len(classes)} classes)", fontsize=10)
        else:
            ids = labels[name][idx]
            tables = plots.color_tables(ids, y[idx], classes=classes)
            colors = tables.cluster
            score = plots.format_metrics(
                {"acc": cluster_accuracy(y, labels[name]), "nmi": nmi(y, labels[name])}
            )
            ax.set_title(f"{name}\n{score}", fontsize=10)
            unmatched = [(str(k), v) for k, v in colors.items() if k not in tables.match]
            plots.add_color_key(ax, unmatched, title="unmatched clusters")
        c = np.array([colors.get(int(i), (0.6, 0.6, 0.6, 1.0)) for i in ids])
        ax.scatter(xy[:, 0], xy[:, 1], c=c, s=5, linewidths=0)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    handles = [
        plt.Line2D([], [], marker="o", ls="", color=col, markersize=6, label=lab)
        for lab, col in plots.class_entries(truth_tables)
    ]
    fig.legend(
        handles=handles,
        title="digit class (a cluster takes the colour of the class it is matched to)",
        loc="outside lower center",
        ncol=len(handles),
        fontsize=8,
        title_fontsize=8,
        frameon=False,
    )
    fig.suptitle(f"scikit-learn digits: clusters on one shared map ({proj.caption()})")
    return plots.save_figure(fig, path)
