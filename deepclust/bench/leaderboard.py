"""The leaderboard of a bench: methods x datasets, from the cell JSON files.

For every (method, dataset): ACC (OA for scenes) and NMI as mean ± sample standard
deviation over the seeds that finished, the mean fit seconds, and how many seeds
collapsed or failed. Written as ``leaderboard.md``, ``leaderboard.csv`` (one row per
method and dataset) and ``leaderboard.png`` (a heat map of mean ACC). The Markdown ends
with one line per method: on how many datasets its mean ACC is at least k-means' (the
development criterion: on at least :data:`ACCEPT_SHARE` of them) and how many of its
cells collapsed.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

#: Share of datasets on which a method must match k-means' mean ACC.
ACCEPT_SHARE = 0.8
BASELINE = "kmeans"
_TOL = 1e-12  # float noise when a method equals the baseline
_CSV_FIELDS = [
    "method", "dataset", "seeds", "ok", "failed", "collapsed",
    "acc_mean", "acc_sd", "nmi_mean", "nmi_sd", "seconds_mean",
]  # fmt: skip


def load_cells(out_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every readable cell record under ``out_dir/cells`` (in file-name order)."""
    records = []
    for path in sorted((Path(out_dir) / "cells").glob("*.json")):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a file being written or damaged: not a result
        if isinstance(rec, dict) and {"method", "dataset", "seed"} <= set(rec):
            records.append(rec)
    return records


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return float(np.mean(values)), sd


def aggregate(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Summaries keyed by ``(method, dataset)`` (see the module docstring)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in records:
        groups.setdefault((rec["method"], rec["dataset"]), []).append(rec)
    out = {}
    for key, recs in groups.items():
        ok = [r for r in recs if r.get("status") == "ok"]
        metric = {
            m: [r["metrics"][m] for r in ok if _num(r["metrics"].get(m))] for m in ("acc", "nmi")
        }
        acc_mean, acc_sd = _stats(metric["acc"])
        nmi_mean, nmi_sd = _stats(metric["nmi"])
        secs = [r["seconds"] for r in ok if _num(r.get("seconds"))]
        out[key] = {
            "method": key[0],
            "dataset": key[1],
            "seeds": len(recs),
            "ok": len(ok),
            "failed": len(recs) - len(ok),
            "collapsed": sum(bool(r.get("collapsed")) for r in ok),
            "acc_mean": acc_mean,
            "acc_sd": acc_sd,
            "nmi_mean": nmi_mean,
            "nmi_sd": nmi_sd,
            "seconds_mean": float(np.mean(secs)) if secs else None,
        }
    return out


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def ordering(agg: dict[tuple[str, str], dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Methods in registry order (k-means first) and datasets in suite order."""
    from ..methods import METHODS
    from .suite import suite

    methods = {m for m, _ in agg}
    datasets = {d for _, d in agg}
    known_m = list(METHODS)
    m_order = sorted(methods, key=lambda m: (known_m.index(m) if m in known_m else 1e9, m))
    known_d = [e.name for e in suite()]
    d_order = sorted(datasets, key=lambda d: (known_d.index(d) if d in known_d else 1e9, d))
    return m_order, d_order


def kmeans_comparison(
    agg: dict[tuple[str, str], dict[str, Any]], baseline: str = BASELINE
) -> dict[str, dict[str, Any]]:
    """Per method: datasets where its mean ACC >= the baseline's, and its collapsed cells.

    Returns
    -------
    dict
        ``method -> {"compared", "at_least", "share", "meets", "collapsed", "cells",
        "failed", "baseline_datasets"}``; ``compared`` counts the datasets where both have
        a mean ACC, ``share`` is None when there are none, ``meets`` is ``share >=
        ACCEPT_SHARE``, ``baseline_datasets`` counts the baseline's datasets (a method
        compared on fewer has a partial row, and the summary says so).
    """
    base = {d: s["acc_mean"] for (m, d), s in agg.items() if m == baseline}
    out: dict[str, dict[str, Any]] = {}
    for (method, dataset), s in agg.items():
        row = out.setdefault(
            method, {"compared": 0, "at_least": 0, "collapsed": 0, "cells": 0, "failed": 0}
        )
        row["cells"] += s["seeds"]
        row["collapsed"] += s["collapsed"]
        row["failed"] += s["failed"]
        b = base.get(dataset)
        if b is not None and s["acc_mean"] is not None:
            row["compared"] += 1
            row["at_least"] += int(s["acc_mean"] >= b - _TOL)
    for row in out.values():
        n = row["compared"]
        row["share"] = row["at_least"] / n if n else None
        row["meets"] = bool(n) and row["share"] >= ACCEPT_SHARE
        row["baseline_datasets"] = sum(v is not None for v in base.values())
    return out


def _cell_text(s: dict[str, Any] | None, metric: str) -> str:
    if s is None:
        return ""
    if s["ok"] == 0:
        return "failed"
    mean, sd = s.get(f"{metric}_mean"), s.get(f"{metric}_sd")
    if metric == "seconds":
        text = "n/a" if mean is None else f"{mean:.1f}"
    else:
        text = "n/a" if mean is None else f"{mean:.3f} ± {sd:.3f}"
    return text + ("*" if s["collapsed"] else "") + ("!" if s["failed"] else "")


def _table(agg: dict, methods: list[str], datasets: list[str], metric: str) -> list[str]:
    lines = ["| dataset | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for d in datasets:
        cells = [_cell_text(agg.get((m, d)), metric) for m in methods]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    return lines


def summary_lines(comparison: dict[str, dict[str, Any]], methods: list[str]) -> list[str]:
    """One line per method: the k-means comparison and its collapsed / failed cells."""
    lines = []
    for m in methods:
        c = comparison[m]
        tail = f"collapsed cells {c['collapsed']} / {c['cells']}, failed cells {c['failed']}"
        if m == BASELINE:
            lines.append(f"- **{m}** (the baseline): {tail}")
        elif c["share"] is None:
            lines.append(f"- **{m}**: no dataset with a k-means mean ACC to compare; {tail}")
        else:
            verdict = "met" if c["meets"] else "not met"
            if c["compared"] < c["baseline_datasets"]:
                # a partial row must not read as a pass over the whole bench
                verdict += (
                    f" on the {c['compared']} of {c['baseline_datasets']} datasets it has rows for"
                )
            lines.append(
                f"- **{m}**: mean ACC >= k-means on {c['at_least']} / {c['compared']} datasets "
                f"({c['share']:.0%}; criterion >= {ACCEPT_SHARE:.0%}: {verdict}); {tail}"
            )
    return lines


def markdown(agg: dict[tuple[str, str], dict[str, Any]]) -> str:
    """The leaderboard as Markdown (datasets as rows, methods as columns)."""
    methods, datasets = ordering(agg)
    if not agg:
        return "# Bench leaderboard\n\nNo finished cells yet.\n"
    seeds = sorted({s["seeds"] for s in agg.values()})
    out = ["# Bench leaderboard", "", f"Seeds per cell: {', '.join(map(str, seeds))}.", ""]
    for title, metric in (("ACC (OA for scenes)", "acc"), ("NMI", "nmi")):
        out += [f"## {title}, mean ± sd over seeds", "", *_table(agg, methods, datasets, metric)]
        out.append("")
    out += ["## Mean fit seconds", "", *_table(agg, methods, datasets, "seconds"), ""]
    out += [
        "`*` at least one seed collapsed (fewer non-empty clusters than asked, or one cluster "
        "over 90 % of the samples); `!` at least one seed failed (its error is in its cell "
        "file; means are over the seeds that finished); n/a: no ground truth.",
        "",
        "## Against k-means",
        "",
        *summary_lines(kmeans_comparison(agg), methods),
        "",
    ]
    return "\n".join(out)


def write_csv(path: str | os.PathLike, agg: dict[tuple[str, str], dict[str, Any]]) -> Path:
    """One row per (method, dataset), the columns of :data:`_CSV_FIELDS`."""
    methods, datasets = ordering(agg)
    path = Path(path)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=_CSV_FIELDS)
        writer.writeheader()
        for m in methods:
            for d in datasets:
                if (m, d) in agg:
                    row = agg[(m, d)]
                    writer.writerow({k: "" if row[k] is None else row[k] for k in _CSV_FIELDS})
    return path


def heatmap(path: str | os.PathLike, agg: dict[tuple[str, str], dict[str, Any]]) -> Path:
    """A methods x datasets heat map of mean ACC, annotated (``*`` collapsed)."""
    import matplotlib
    from matplotlib.figure import Figure

    methods, datasets = ordering(agg)
    acc = np.full((len(methods), len(datasets)), np.nan)
    for (m, d), s in agg.items():
        if s["acc_mean"] is not None:
            acc[methods.index(m), datasets.index(d)] = s["acc_mean"]
    fig = Figure(
        figsize=(max(5.0, 0.55 * len(datasets) + 2.5), max(3.0, 0.45 * len(methods) + 2.2))
    )
    ax = fig.subplots()
    if not agg:
        ax.text(0.5, 0.5, "no finished cells", ha="center", va="center")
        ax.set_axis_off()
    else:
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#dddddd")
        im = ax.imshow(np.ma.masked_invalid(acc), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
        for (i, j), value in np.ndenumerate(acc):
            s = agg.get((methods[i], datasets[j]))
            if s is None:
                continue
            text = "—" if np.isnan(value) else f"{value:.2f}"
            text += "*" if s["collapsed"] else ""
            colour = "white" if np.isnan(value) or value < 0.6 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
        ax.set_xticks(range(len(datasets)), datasets, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(methods)), methods, fontsize=8)
        fig.colorbar(im, ax=ax, label="mean ACC (* a seed collapsed)")
        ax.set_title("Bench: mean ACC over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return Path(path)


def write_leaderboard(out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``leaderboard.md``, ``.csv`` and ``.png`` from ``out_dir/cells``; their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    agg = aggregate(load_cells(out))
    md = out / "leaderboard.md"
    md.write_text(markdown(agg))
    return {
        "md": md,
        "csv": write_csv(out / "leaderboard.csv", agg),
        "png": heatmap(out / "leaderboard.png", agg),
    }


__all__ = [
    "ACCEPT_SHARE",
    "BASELINE",
    "aggregate",
    "heatmap",
    "kmeans_comparison",
    "load_cells",
    "markdown",
    "ordering",
    "summary_lines",
    "write_csv",
    "write_leaderboard",
]
