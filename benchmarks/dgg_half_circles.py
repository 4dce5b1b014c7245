"""DGG §4.1: two half circles of 2,000 points each, DGG vs VaDE at several distances.

    python benchmarks/dgg_half_circles.py --seeds 0 1 2 3 4 --out benchmarks/results/half_circles

For every inter-class distance and seed, DGG and VaDE are fitted with the paper's
setting (2-20-20-2 networks, 40 nearest neighbours for DGG, Adam lr 0.02 decayed by 0.9
every 10 epochs; configs ``dgg_half_circles`` / ``vade_half_circles``). Writes a JSON of
accuracies and wall times, and a PNG like the paper's Fig. 1 for the first seed: data
coloured by cluster and the learned latent means of both methods.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import yaml

from deepclust.data.synthetic import make_half_circles
from deepclust.metrics import cluster_accuracy
from deepclust.plots import matched_colors, save_figure
from deepclust.records import bundled_configs
from deepclust.run import build_estimator


def params_of(name: str) -> dict:
    cfg = yaml.safe_load(bundled_configs()[name].read_text())
    return dict(cfg["params"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--distances", type=float, nargs="+", default=[1.0, 0.5, 0.0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default="benchmarks/results/half_circles")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    methods = {"dgg": params_of("dgg_half_circles"), "vade": params_of("vade_half_circles")}
    rows, shown = [], {}
    for dist in args.distances:
        ds = make_half_circles(2000, distance=dist, random_state=0)
        for seed in args.seeds:
            for name, params in methods.items():
                est = build_estimator(name, 2, params, seed)
                tic = time.perf_counter()
                est.fit(ds.X)
                secs = time.perf_counter() - tic
                acc = cluster_accuracy(ds.y, est.labels_)
                rows.append(
                    {"distance": dist, "seed": seed, "method": name, "acc": acc, "seconds": secs}
                )
                print(
                    f"distance {dist} seed {seed} {name}: ACC {acc:.4f} ({secs:.1f} s)", flush=True
                )
                if seed == args.seeds[0]:
                    shown[(dist, name)] = (est.labels_.copy(), est.embedding_.copy())
        figure(
            ds_for=lambda d: make_half_circles(2000, distance=d, random_state=0),
            distances=args.distances,
            shown=shown,
            path=out / "half_circles.png",
        )
    summary = {}
    for dist in args.distances:
        for name in methods:
            accs = [r["acc"] for r in rows if r["distance"] == dist and r["method"] == name]
            summary[f"{name}@{dist}"] = {
                "mean": float(np.mean(accs)),
                "std": float(np.std(accs)),
                "min": float(np.min(accs)),
                "n": len(accs),
            }
    record = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}",
        "rows": rows,
        "summary": summary,
    }
    (out / "half_circles.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def figure(ds_for, distances, shown, path: Path) -> None:
    import matplotlib.pyplot as plt

    panels = ["data (DGG clusters)", "VaDE latent", "VaDE clusters", "DGG latent", "DGG clusters"]
    fig, axes = plt.subplots(len(distances), 5, figsize=(17, 3.4 * len(distances)), squeeze=False)
    for r, dist in enumerate(distances):
        ds = ds_for(dist)
        if (dist, "dgg") not in shown:
            continue
        for c, title in enumerate(panels):
            ax = axes[r, c]
            method = "vade" if "VaDE" in title else "dgg"
            labels, latent = shown[(dist, method)]
            xy = latent if "latent" in title else ds.X
            cols, _ = matched_colors(labels, ds.y)
            ax.scatter(xy[:, 0], xy[:, 1], s=2, c=[cols[int(k)] for k in labels])
            acc = cluster_accuracy(ds.y, labels)
            ax.set_title(
                f"{title}\ndistance {dist}" + (f", ACC {acc:.3f}" if "clusters" in title else ""),
                fontsize=9,
            )
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("DGG vs VaDE on two half circles (DGG paper Fig. 1), first seed")
    save_figure(fig, path)


if __name__ == "__main__":
    main()
