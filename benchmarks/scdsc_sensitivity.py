"""SCDSC's sensitivity to beta1 and to the smoothing window (paper §4.4.2-4.4.3, Figs. 10-11).

    python benchmarks/scdsc_sensitivity.py --out benchmarks/results/scdsc_sensitivity
    python benchmarks/scdsc_sensitivity.py --scenes hsi-5c --beta1 1 3 --windows 3 \\
        --out /tmp/sens                                               # a rehearsal

One parameter at a time, the other at its default: ``beta1`` (the non-local,
mini-cluster term's weight; the paper uses 3 and advises 3-5) and ``window`` (the local
term's smoothing window; ``"auto"`` by default, the paper fixes 3 or 7 per scene), on
Salinas-A with the papers' labelled-pixel protocol and on a synthetic scene of the
development suite. Each setting is a ``deepclust bench`` run of its own (one JSON per
cell, resumable: finished cells are skipped), then ``sensitivity.png`` draws OA against
each parameter, one line per scene, with the default's OA as a dashed line.
Labels only score the runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np


def defaults() -> dict[str, Any]:
    from deepclust.methods.scdsc import SCDSC

    return SCDSC().get_params()


def key_of(name: str, value: Any) -> str:
    """The run that holds ``name=value`` (the default run when it is the default)."""
    return "default" if value is None or defaults()[name] == value else f"{name}={value}"


def settings(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """(parameter, value) pairs, the default run first, each setting once."""
    pairs = [("beta1", b) for b in args.beta1] + [("window", w) for w in args.windows]
    return [("default", None)] + [(n, v) for n, v in pairs if key_of(n, v) != "default"]


def run(args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    """Bench every setting; returns ``{setting: {scene: [OA per seed]}}``."""
    from deepclust.bench.runner import run_bench

    oa: dict[str, dict[str, list[float]]] = {}
    for name, value in settings(args):
        key = "default" if value is None else key_of(name, value)
        params = {} if value is None else {name: value}
        folder = args.out / key.replace("=", "_")
        run_bench("scdsc", args.scenes, args.seeds, folder, 1, params, progress=False)
        oa[key] = {}
        for path in sorted((folder / "cells").glob("*.json")):
            cell = json.loads(path.read_text())
            if cell.get("status") == "ok":
                oa[key].setdefault(cell["dataset"], []).append(float(cell["metrics"]["acc"]))
        print(key, {s: np.round(v, 4).tolist() for s, v in oa[key].items()}, flush=True)
    return oa


def draw(oa: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, name, values in (
        (axes[0], "beta1", args.beta1),
        (axes[1], "window", args.windows),
    ):
        for scene in args.scenes:
            ys = [np.mean(oa[key_of(name, v)].get(scene, [np.nan])) for v in values]
            line = ax.plot(range(len(values)), ys, "o-", label=scene)[0]
            default = np.mean(oa["default"].get(scene, [np.nan]))
            ax.axhline(default, ls="--", lw=0.8, color=line.get_color())
        ax.set_xticks(range(len(values)), [str(v) for v in values])
        ax.set_xlabel(name)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("OA (mean over seeds)")
    axes[0].legend(fontsize=8)
    d = defaults()
    fig.suptitle(f"SCDSC, one parameter at a time (dashed: the defaults, beta1={d['beta1']:g},"
                 f" window={d['window']})", fontsize=10)  # fmt: skip
    fig.tight_layout()
    path = args.out / "sensitivity.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenes", nargs="+", default=["salinas-a-labelled", "scene-base"])
    p.add_argument("--beta1", nargs="+", type=float, default=[0.3, 1.0, 3.0, 5.0, 10.0, 30.0])
    p.add_argument("--windows", nargs="+", type=int, default=[3, 5, 7, 9, 11])
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    oa = run(args)
    (args.out / "sensitivity.json").write_text(json.dumps(oa, indent=1))
    print(draw(oa, args))


if __name__ == "__main__":
    main()
