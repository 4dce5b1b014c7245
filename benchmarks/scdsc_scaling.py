"""SCDSC scaling: seconds per epoch, FINCH time and peak memory on synthetic scenes.

    python benchmarks/scdsc_scaling.py --sides 100 317 1000 --out benchmarks/results/scdsc_scaling

Each scene size runs in its own process so that the peak resident memory (``ru_maxrss``)
belongs to that size alone. The scene is :func:`deepclust.data.make_hsi_scene` (100 bands,
8 classes); SCDSC trains in mini-batch mode (``batch_size`` pixels per step, the mode for
large scenes), with ``--epochs`` joint epochs and one pretraining epoch: enough to time an
epoch, not to converge. FINCH runs on 17x17-patch features reduced by PCA to
``--finch-components`` dimensions (the paper uses 300; a smaller value keeps the 10^6-pixel
HNSW graph affordable on two cores and is the same at every size, so the growth is
comparable).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


def one(side: int, args: argparse.Namespace) -> dict:
    from deepclust.data import make_hsi_scene
    from deepclust.methods.scdsc import SCDSC
    from deepclust.threads import set_num_threads

    # fixed through deepclust, so that the fit does not re-pick the count from the
    # cores other processes happen to use when it starts
    set_num_threads(args.threads)
    ds = make_hsi_scene((side, side), n_bands=100, n_classes=8, n_regions=64, random_state=0)
    est = SCDSC(
        8,
        batch_size=args.batch_size,
        epochs=args.epochs,
        pretrain_epochs=1,
        pretrain_batch_size=args.batch_size,
        finch_components=args.finch_components,
        kmeans_n_init=3,
        random_state=0,
    )
    tic = time.perf_counter()
    est.fit(ds.cube)
    total = time.perf_counter() - tic
    train = [r["seconds"] for r in est.history_ if r["stage"] == "scdsc"]
    pre = [r["seconds"] for r in est.history_ if r["stage"] == "pretrain"]
    return {
        "pixels": side * side,
        "side": side,
        "seconds_per_epoch": float(np.mean(train)),
        "pretrain_seconds_per_epoch": float(np.mean(pre)),
        "finch_seconds": est.timings_["finch"],
        "timings": est.timings_,
        "total_seconds": total,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "n_miniclusters": int(est.miniclusters_.max() + 1),
        "batch_size": args.batch_size,
        "finch_components": args.finch_components,
        "threads": args.threads,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sides", type=int, nargs="+", default=[100, 317, 1000])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--finch-components", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/results/scdsc_scaling")
    p.add_argument("--single", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.single:
        print(json.dumps(one(args.single, args)))
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for side in args.sides:
        cmd = [sys.executable, __file__, "--single", str(side)] + [
            f"--{k}={v}"
            for k, v in (
                ("epochs", args.epochs),
                ("batch-size", args.batch_size),
                ("finch-components", args.finch_components),
                ("threads", args.threads),
            )
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rec = json.loads(res.stdout.strip().splitlines()[-1])
        (out / f"pixels-{side * side}.json").write_text(json.dumps(rec, indent=2) + "\n")
        print(
            f"{rec['pixels']:>8} px: {rec['seconds_per_epoch']:.2f} s/epoch, FINCH "
            f"{rec['finch_seconds']:.1f} s, peak {rec['peak_rss_mb']:.0f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
