"""SCDSC on a synthetic scene read from disk (memory-mapped ``.npy``): peak RSS and stage
times for scenes larger than memory (issue 15).

    python benchmarks/scdsc_memmap.py --side 3163 --bands 50 --scene /tmp/scene_1e7.npy \
        --out benchmarks/results/scdsc_memmap

The scene (:func:`deepclust.data.make_hsi_scene`, 8 classes, 64 regions, written block
by block into the ``.npy`` with ``out=``) is made in a child process when the file is
missing, so this process never holds it: it opens the file with ``mmap_mode="r"`` and
fits SCDSC in mini-batch mode with short schedules (``--pretrain-epochs`` and
``--epochs``, for timing, not convergence) and FINCH on 32 PCA dimensions of the 17 x 17
patch features (as ``benchmarks/scdsc_scaling.py``). Peak RSS (``ru_maxrss``) includes
the pages of the mapped file that were resident, so it is an upper bound on what the
process needed. One JSON per run in ``--out``.
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


def make_scene(side: int, bands: int, path: Path) -> None:
    """Write the scene into ``path`` and its ground truth into ``path.gt.npy``."""
    from deepclust.data import make_hsi_scene

    shape = (side, side, bands)
    buffer = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    ds = make_hsi_scene((side, side), n_bands=bands, n_classes=8, n_regions=64,
                        random_state=0, out=buffer)  # fmt: skip
    buffer.flush()
    np.save(gt_path(path), ds.y.reshape(side, side).astype(np.int8))


def gt_path(path: Path) -> Path:
    return path.with_suffix(".gt.npy")


def fit(args: argparse.Namespace) -> dict:
    from deepclust.methods.scdsc import SCDSC
    from deepclust.metrics import cluster_accuracy
    from deepclust.threads import set_num_threads

    # fixed through deepclust, so that the fit does not re-pick the count from the
    # cores other processes happen to use when it starts
    set_num_threads(args.threads)
    cube = np.load(args.scene, mmap_mode="r")
    gt = np.load(gt_path(args.scene))
    est = SCDSC(8, batch_size=args.batch_size, epochs=args.epochs,
                pretrain_epochs=args.pretrain_epochs, pretrain_batch_size=args.batch_size,
                finch_components=32, kmeans_n_init=3, random_state=0)  # fmt: skip
    tic = time.perf_counter()
    est.fit(cube)
    total = time.perf_counter() - tic
    labelled = gt.ravel() > 0
    oa = cluster_accuracy(gt.ravel()[labelled], est.label_map_.ravel()[labelled])
    return {
        "pixels": int(cube.shape[0] * cube.shape[1]),
        "bands": int(cube.shape[2]),
        "scene_gb_on_disk": round(Path(args.scene).stat().st_size / 2**30, 2),
        "timings": est.timings_,
        "total_seconds": total,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "oa_after_short_schedule": float(oa),
        "n_miniclusters": int(est.miniclusters_.max() + 1),
        "pretrain_epochs": args.pretrain_epochs,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--side", type=int, default=3163)
    p.add_argument("--bands", type=int, default=50)
    p.add_argument("--scene", type=Path, required=True, help="the .npy to make or reuse")
    p.add_argument("--pretrain-epochs", type=int, default=1)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/results/scdsc_memmap")
    p.add_argument("--make-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.make_only:
        make_scene(args.side, args.bands, args.scene)
        return
    if not args.scene.exists() or not gt_path(args.scene).exists():
        tic = time.perf_counter()
        cmd = [sys.executable, __file__, "--make-only", "--side", str(args.side),
               "--bands", str(args.bands), "--scene", str(args.scene)]  # fmt: skip
        subprocess.run(cmd, check=True)
        print(f"scene written in {time.perf_counter() - tic:.0f} s", flush=True)
    row = fit(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"pixels-{row['pixels']}.json").write_text(json.dumps(row, indent=2))
    print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
