"""One process against two gloo ranks on the same global batches (issue 15, item 4).

    python benchmarks/ddp_compare.py --method dgg --data digits --out benchmarks/results/ddp
    python benchmarks/ddp_compare.py --method scdsc --side 300 --out benchmarks/results/ddp
    python benchmarks/ddp_compare.py --method scdsc --side 1000 --pretrain-epochs 1 --epochs 3 \
        --out benchmarks/results/ddp       # the 10^6-pixel scene
    python benchmarks/ddp_compare.py --method dgg --data mnist:../shared/data/mnist --short \
        --out benchmarks/results/ddp       # all of MNIST, one or two epochs per stage

Fits the method once in this process (one thread) and once as two ranks of a gloo
process group (``torch.multiprocessing.spawn``, one thread each, the same code path as
``torchrun``), with the same seed and settings, and writes
``<out>/<method>-<data>-ddp.json``: every stage's per-epoch losses of both runs, their
largest relative difference, ACC/NMI of both against the ground truth (evaluation only),
the label agreement of the two runs, and the fit seconds. The two runs see the same
global batches; they differ by float summation order and, for SCDSC, by batch
normalisation seeing each rank's half of a batch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

#: ``--short``: one or two epochs of every DGG stage (all of MNIST twice in one session)
SHORT_DGG = dict(ae_layerwise_epochs=1, ae_finetune_epochs=2, vae_epochs=1, siamese_epochs=1,
                 classifier_epochs=1, epochs=2)  # fmt: skip


def dataset(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, str]:
    if args.method == "scdsc":
        from deepclust.data.synthetic import make_hsi_scene

        ds = make_hsi_scene((args.side, args.side), n_bands=30, n_classes=8, n_regions=16,
                            random_state=0)  # fmt: skip
        return ds.cube, ds.y, f"scene{args.side}"
    from deepclust.data import load

    ds = load(args.data)
    return ds.X.reshape(len(ds.X), -1).astype(np.float32), ds.y, args.data.split(":")[0]


def estimator(args: argparse.Namespace) -> Any:
    from deepclust import DGG, SCDSC

    if args.method == "scdsc":
        # mini-batch mode (the distributed path), FINCH on 32 PCA dimensions
        return SCDSC(8, batch_size=1024, pretrain_batch_size=1024,
                     pretrain_epochs=args.pretrain_epochs, epochs=args.epochs, tol=0.0,
                     finch_components=32, kmeans_n_init=3, random_state=args.seed,
                     device="cpu")  # fmt: skip
    short = SHORT_DGG if args.short else {}
    return DGG(10, random_state=args.seed, device="cpu", n_init=1, batch_size=128, **short)


def fit(args: argparse.Namespace) -> dict[str, Any]:
    from deepclust.metrics import cluster_accuracy, nmi

    X, y, _ = dataset(args)
    tic = time.perf_counter()
    est = estimator(args).fit(X)
    seconds = time.perf_counter() - tic
    curves: dict[str, list[float]] = {}
    for r in est.history_:
        value = r.get("loss", r.get("kl"))
        if value is not None:
            curves.setdefault(r["stage"], []).append(float(value))
    return {"curves": curves, "labels": est.labels_.tolist(), "seconds": round(seconds, 1),
            "acc": round(cluster_accuracy(y, est.labels_), 4),
            "nmi": round(nmi(y, est.labels_), 4),
            "stage_seconds": {k: round(v, 1) for k, v in getattr(est, "timings_", {}).items()},
            "settings": {k: v for k, v in est.get_params().items()
                         if k != "random_state"}}  # fmt: skip


def _rank(rank: int, world: int, port: int, out: dict, args: argparse.Namespace) -> None:
    from deepclust.threads import set_num_threads

    set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        result = fit(args)
        if rank == 0:
            out[0] = result
    finally:
        dist.destroy_process_group()


def two_ranks(args: argparse.Namespace) -> dict[str, Any]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = mp.Manager().dict()
    tic = time.perf_counter()
    mp.spawn(_rank, args=(2, port, out, args), nprocs=2, join=True)
    result = dict(out[0])
    result["wall_seconds"] = round(time.perf_counter() - tic, 1)
    return result


def compare(one: dict[str, Any], two: dict[str, Any]) -> dict[str, Any]:
    from deepclust.metrics import cluster_accuracy

    diffs = {}
    for stage, a in one["curves"].items():
        b = np.asarray(two["curves"].get(stage, []), dtype=float)
        a = np.asarray(a, dtype=float)
        if len(a) == len(b) and len(a):
            diffs[stage] = round(float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12))), 5)
    agreement = cluster_accuracy(np.asarray(one["labels"]), np.asarray(two["labels"]))
    return {"max_relative_loss_difference": diffs, "label_agreement": round(agreement, 4)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", choices=("dgg", "scdsc"), required=True)
    p.add_argument("--data", default="digits", help="dataset spec (DGG)")
    p.add_argument("--side", type=int, default=300, help="scene side (SCDSC)")
    p.add_argument("--pretrain-epochs", type=int, default=5, help="SCDSC pretraining epochs")
    p.add_argument("--epochs", type=int, default=10, help="SCDSC clustering epochs")
    p.add_argument("--short", action="store_true", help="DGG: the SHORT_DGG schedule")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    from deepclust.threads import set_num_threads

    set_num_threads(1)
    _, _, name = dataset(args)
    one = fit(args)
    two = two_ranks(args)
    report = {
        "method": args.method, "data": name, "seed": args.seed,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.platform(), "torch": torch.__version__,
        "one_process": {k: v for k, v in one.items() if k != "labels"},
        "two_ranks": {k: v for k, v in two.items() if k != "labels"},
        **compare(one, two),
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    seed = f"-seed{args.seed}" if args.seed else ""  # seed 0 keeps its first name
    path = args.out / f"{args.method}-{name}{'-short' if args.short else ''}{seed}-ddp.json"
    path.write_text(json.dumps(report, indent=1))
    summary = {k: report[k] for k in ("max_relative_loss_difference", "label_agreement")}
    print(path, one["acc"], two["acc"], json.dumps(summary))


if __name__ == "__main__":
    main()
