"""MLC and NMCE on an image set of the suite, with one TCR initialisation per seed (issue 13).

    python benchmarks/mlc_images.py --data coil20 --seeds 0 1 2 --out benchmarks/results/mlc_coil20

For each seed: MLC (image mode, the small CNN) is fitted with the CPU schedule below,
saved, and NMCE is then fitted from MLC's TCR initialisation (``init_from``: its
backbone and feature head, so both methods start from the same network and the costly
stage runs once). Every fit checkpoints (``<out>/ckpt-*``) and each finished fit writes
``<out>/<method>-seed<s>.json`` (ACC/NMI/ARI against the ground truth, evaluation only;
seconds per stage; the settings), so a stopped run resumes where it was.

The CPU schedule (:data:`MLC_CPU`, :data:`NMCE_CPU`) was fixed from the step costs
alone, before any score: batches of 256 instead of the paper's 1,024, 1,000 TCR steps
instead of about 3,000, 500 MLC / NMCE steps and 100 NMCE fine-tuning steps.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

#: MLC on a 2-core CPU: about 2 s per TCR step of 2 x 256 images of 32 x 32 on one thread
MLC_CPU = dict(batch_size=256, init_epochs=200, epochs=100)
#: NMCE from MLC's initialisation: stage 2 (frozen backbone) and stage 3 (fine-tuning)
NMCE_CPU = dict(batch_size=256, epochs=100, finetune_epochs=20)


def load(name: str) -> tuple[Any, Any, Any, int]:
    from deepclust.bench.suite import select
    from deepclust.data import registry
    from deepclust.run import vectors_for

    entry = select([name])[0][0]
    ds = registry.load(entry.spec, **entry.data_options)
    return ds, vectors_for(ds, entry.preprocess), ds.y, entry.n_clusters


def fit(cls: Any, settings: dict[str, Any], ds: Any, X: Any, y: Any, k: int, seed: int,
        ckpt: Path) -> tuple[Any, dict[str, Any]]:  # fmt: skip
    from deepclust.metrics import external_metrics
    from deepclust.run import _tell_image_shape

    est = cls(k, random_state=seed, device="cpu", checkpoint_dir=str(ckpt), resume=True,
              checkpoint_every=20, **settings)  # fmt: skip
    _tell_image_shape(est, ds, X)
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X)
    stages: dict[str, float] = {}
    for r in est.history_:
        stages[r["stage"]] = stages.get(r["stage"], 0.0) + r.get("seconds", 0.0)
    metrics = {m: round(v, 4) for m, v in external_metrics(y, est.labels_).items()
               if m in ("acc", "nmi", "ari")}  # fmt: skip
    return est, {"seed": seed, **metrics, "fit_seconds": round(time.perf_counter() - tic, 1),
                 "stage_seconds": {s: round(v, 1) for s, v in stages.items()},
                 "settings": {s: v for s, v in settings.items() if s != "init_from"},
                 "clusters_used": int(len(set(est.labels_.tolist())))}  # fmt: skip


def main() -> None:
    from deepclust import MLC, NMCE

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="coil20")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quick", action="store_true", help="one epoch per stage (a rehearsal)")
    args = p.parse_args()
    mlc_cpu, nmce_cpu = MLC_CPU, NMCE_CPU
    if args.quick:
        mlc_cpu = {**MLC_CPU, "init_epochs": 1, "epochs": 1}
        nmce_cpu = {**NMCE_CPU, "epochs": 1, "finetune_epochs": 1}
    args.out.mkdir(parents=True, exist_ok=True)
    ds, X, y, k = load(args.data)
    common = {"data": args.data, "machine": platform.platform(), "torch": torch.__version__,
              "threads": torch.get_num_threads()}  # fmt: skip
    for seed in args.seeds:
        mlc_json, model = args.out / f"mlc-seed{seed}.json", args.out / f"mlc-seed{seed}.pt"
        if not model.is_file():
            mlc, report = fit(MLC, mlc_cpu, ds, X, y, k, seed, args.out / f"ckpt-mlc-{seed}")
            mlc.save(model)
            report["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            mlc_json.write_text(json.dumps({**common, **report}, indent=1))
            print("mlc", json.dumps(report), flush=True)
        nmce_json = args.out / f"nmce-seed{seed}.json"
        if not nmce_json.is_file():
            settings = {**nmce_cpu, "init_from": str(model)}
            _, report = fit(NMCE, settings, ds, X, y, k, seed, args.out / f"ckpt-nmce-{seed}")
            report["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            nmce_json.write_text(json.dumps({**common, **report}, indent=1))
            print("nmce", json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
