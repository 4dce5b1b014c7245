"""Markdown tables (mean +- standard deviation over seeds) from the per-run JSON files.

    python benchmarks/summarize.py salinas_a        # Salinas-A table
    python benchmarks/summarize.py salinas_a --folder salinas_a_all   # region=all
    python benchmarks/summarize.py half_circles     # DGG vs VaDE accuracy
    python benchmarks/summarize.py scdsc_scaling    # scaling table
    python benchmarks/summarize.py mnist            # full-MNIST runs

Reads ``benchmarks/results/<name>/``; prints to stdout for RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def pm(values: list[float], digits: int = 3) -> str:
    a = np.asarray(values, float)
    sd = a.std(ddof=1) if len(a) > 1 else 0.0
    return f"{a.mean():.{digits}f} ± {sd:.{digits}f}"


def salinas_a(folder: Path) -> None:
    runs = defaultdict(list)
    for f in sorted(folder.glob("*-seed*.json")):
        rec = json.loads(f.read_text())
        runs[rec["method"]].append(rec)
    classes = sorted({c for rs in runs.values() for r in rs for c in r["per_class"]}, key=int)
    head = ["method", "seeds", "OA", "NMI", "kappa"] + [f"class {c}" for c in classes]
    print("| " + " | ".join(head + ["s / run"]) + " |")
    print("|" + "---|" * (len(head) + 1))
    for name, rs in sorted(runs.items(), key=lambda kv: np.mean([r["oa"] for r in kv[1]])):
        cells = [name, ",".join(str(r["seed"]) for r in rs)]
        cells += [pm([r[k] for r in rs]) for k in ("oa", "nmi", "kappa")]
        cells += [pm([r["per_class"][c] for r in rs], 2) for c in classes]
        cells.append(f"{np.mean([r['seconds'] for r in rs]):.0f}")
        print("| " + " | ".join(cells) + " |")


def half_circles(folder: Path) -> None:
    rows = json.loads((folder / "half_circles.json").read_text())["rows"]
    table = defaultdict(list)
    secs = defaultdict(list)
    for r in rows:
        table[(r["distance"], r["method"])].append(r["acc"])
        secs[(r["distance"], r["method"])].append(r["seconds"])
    print("| distance | method | ACC per seed | mean ± sd | s / fit |")
    print("|---|---|---|---|---|")
    for (dist, method), accs in sorted(table.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
        per = ", ".join(f"{a:.4f}" for a in accs)
        s = np.mean(secs[(dist, method)])
        print(f"| {dist} | {method} | {per} | {pm(accs, 4)} | {s:.1f} |")


def scdsc_scaling(folder: Path) -> None:
    recs = sorted(
        (json.loads(f.read_text()) for f in folder.glob("pixels-*.json")),
        key=lambda r: r["pixels"],
    )
    print(
        "| pixels | s / epoch (joint) | s / epoch (pretrain) | FINCH s | mini-clusters "
        "| peak RSS MB | total s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in recs:
        print(
            f"| {r['pixels']:,} | {r['seconds_per_epoch']:.2f} | "
            f"{r['pretrain_seconds_per_epoch']:.2f} | {r['finch_seconds']:.1f} | "
            f"{r['n_miniclusters']:,} | {r['peak_rss_mb']:.0f} | {r['total_seconds']:.0f} |"
        )


def mnist(folder: Path) -> None:
    """Every full-MNIST run of ``mnist_methods.py`` (all ``mnist*`` result folders)."""
    recs = [json.loads(f.read_text()) for f in sorted(RESULTS.glob("mnist*/*-seed*.json"))]
    print("| method | run | seed | joint epochs | ACC | NMI | ARI | wall s | started |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(recs, key=lambda r: r["acc"]):
        main_stage = {"ae-gmm": None}.get(r["method"], r["method"])
        epochs = r["epochs"].get(main_stage, 0) if main_stage else 0
        print(
            f"| {r['method']} | {r['tag'] or '-'} | {r['seed']} | {epochs} | {r['acc']:.4f} | "
            f"{r['nmi']:.4f} | {r['ari']:.4f} | {r['wall_seconds']:.0f} | {r['started']} |"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", choices=["salinas_a", "half_circles", "scdsc_scaling", "mnist"])
    p.add_argument("--folder", help="results folder name (default: NAME)")
    args = p.parse_args()
    globals()[args.name](RESULTS / (args.folder or args.name))


if __name__ == "__main__":
    main()
