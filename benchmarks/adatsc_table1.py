"""A-DATSC's Table 1 layout from `deepclust bench` cells (issue 12).

Reads every cell JSON under the given bench folders, keeps those of one dataset, and
prints a Markdown table: the six internal metrics of the paper's Table 1 (rows) for
each method or variant (columns), mean ± sd over seeds, then the paper's ERA5 column
for reference (different data: ERA5 2021, 41 x 41 x 7; ours is whatever was benched).

    python benchmarks/adatsc_table1.py --dataset canesm2_2095 benchmarks/results/canesm2/*

A ``deepclust run`` output folder (``metrics.json`` + ``config.yaml``) counts as one cell.
A folder whose name contains ``variant-NAME`` labels its A-DATSC cells ``adatsc-NAME``
(the Table 2 ablations are benched with ``--set adatsc.variant=NAME`` into their own
folder).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

METRICS = [  # key, name, direction
    ("silhouette", "Silhouette ↑", 1),
    ("davies_bouldin", "DB ↓", -1),
    ("calinski_harabasz", "CH ↑", 1),
    ("rmse", "RMSE ↓", -1),
    ("variance", "Variance ↓", -1),
    ("inter_cluster_distance", "I-CD ↑", 1),
]
# Paper Table 1, ERA5 block (different data; for reference only).
PAPER_ERA5 = {
    "clustergan": [-0.0989, 17.1624, 1.2348, 22.2032, 0.1064, 4.0315],
    "dtc": [0.2284, 1.8517, 72.3222, 15.0820, 0.0450, 6.4448],
    "dsc": [0.2903, 1.6741, 102.2887, 13.6154, 0.1033, 6.8481],
    "dec": [0.2050, 1.7515, 99.3082, 13.7425, 0.0450, 6.8093],
    "dasc": [0.1355, 2.0325, 72.9257, 15.0477, 0.1039, 5.5229],
    "adatsc": [0.3268, 1.5009, 98.8211, 13.5158, 0.1038, 7.4839],
}
ORDER = ["clustergan", "dtc", "dsc", "dec", "idec", "dscnet", "dasc", "kmeans", "gmm",
         "spectral", "adatsc-sel", "adatsc-cnn-lstm", "adatsc-gat", "adatsc"]  # fmt: skip


def _label(cell: dict, folder: Path) -> str:
    m = re.search(r"variant-([\w-]+)", folder.name)
    if cell["method"] == "adatsc" and m and m.group(1) != "full":
        return f"adatsc-{m.group(1)}"
    return cell["method"]


def _cli_run(folder: Path) -> dict | None:
    """A ``deepclust run`` output folder as a cell (method from its config.yaml)."""
    import yaml

    metrics, config = folder / "metrics.json", folder / "config.yaml"
    if not (metrics.exists() and config.exists()):
        return None
    m = json.loads(metrics.read_text())
    conf = yaml.safe_load(config.read_text()) or {}
    seconds = m.get("fit_seconds", float("nan"))
    return {"method": conf.get("method", folder.name), "dataset": str(conf.get("data", "")),
            "status": "ok", "metrics": m, "seconds": seconds}  # fmt: skip


def collect(folders: list[Path], dataset: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for folder in folders:
        run = _cli_run(folder)
        if run is not None and dataset in run["dataset"]:
            out.setdefault(_label(run, folder), []).append(run)
        for path in sorted((folder / "cells").glob("*.json")):
            cell = json.loads(path.read_text())
            if dataset not in cell["dataset"] or cell.get("status") != "ok":
                continue
            out.setdefault(_label(cell, folder), []).append(cell)
    return out


def table(cells: dict[str, list[dict]]) -> str:
    methods = [m for m in ORDER if m in cells] + sorted(set(cells) - set(ORDER))
    head = "| metric | " + " | ".join(methods) + " | paper ERA5 A-DATSC |"
    lines = [head, "|" + "---|" * (len(methods) + 2)]
    for i, (key, name, _) in enumerate(METRICS):
        row = [name]
        for m in methods:
            v = np.array([c["metrics"].get(key, np.nan) for c in cells[m]], float)
            row.append(f"{np.nanmean(v):.4g} ± {np.nanstd(v):.2g}" if np.isfinite(v).any() else "-")
        row.append(f"{PAPER_ERA5['adatsc'][i]:.4g}")
        lines.append("| " + " | ".join(row) + " |")
    seeds = ["seeds"] + [str(len(cells[m])) for m in methods] + ["-"]
    secs = ["fit s (mean)"] + [f"{np.mean([c['seconds'] for c in cells[m]]):.0f}" for m in methods]
    lines.append("| " + " | ".join(seeds) + " |")
    lines.append("| " + " | ".join(secs + ["-"]) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", type=Path)
    p.add_argument("--dataset", required=True, help="substring of the cells' dataset name")
    args = p.parse_args()
    print(table(collect(args.folders, args.dataset)))


if __name__ == "__main__":
    main()
