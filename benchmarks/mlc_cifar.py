"""MLC's Table 2 protocol on CIFAR (ResNet-18), for a GPU, one or several (issue 13).

    # one GPU, the paper's schedule (1,000 TCR epochs; hours), bf16 autocast
    python benchmarks/mlc_cifar.py --data cifar10:PATH --out runs/mlc_cifar10
    # a short budget-limited run: seconds per epoch of each stage, ACC after it
    python benchmarks/mlc_cifar.py --data cifar10:PATH --init-epochs 2 --epochs 2 --out $OUT/mlc
    # several GPUs: one process per GPU, the batch of 1,024 split over the ranks
    torchrun --nproc_per_node=4 benchmarks/mlc_cifar.py --data cifar10:PATH --out runs/mlc_cifar10
    # CIFAR-100 with its 20 superclasses, or all 100 classes
    python benchmarks/mlc_cifar.py --data cifar100:PATH --label-set coarse --out runs/mlc_c100_20

The paper's setting (§3.2 and Appendix): the 50,000 training images, ResNet-18 (CIFAR
variant), batches of 1,024, the appendix's colour augmentation, TCR initialisation with
``eps^2 = 0.2`` and LARS at 0.3 for 1,000 epochs, then eq. (4) with ``eps^2 = 0.1``,
``gamma = 0.05``, ``eta = 0.175``, the backbone frozen and one SGD step per head per batch
(1e-2, momentum 0.9, weight decay 5e-4): MLC's defaults, so only the schedule is set here.
``--save-init`` keeps the TCR-initialised model and ``--init-from`` reuses one (the costly
stage once for several seeds or for NMCE). Mixed precision: ``--precision bf16`` (default
on CUDA). Under ``torchrun`` MLC shards every batch over the ranks and gathers ``Z`` and
the cluster features for ``R``, ``R_c`` and the Sinkhorn membership (``gather_rows``);
only rank 0 writes. ``<out>/mlc-seed<s>.json``: ACC/NMI/ARI against the labels
(evaluation only), seconds per epoch of every stage, the device, the GPU name and its
peak memory. ``--quick`` is a CPU rehearsal (tests use it on a tiny CIFAR-format file).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="cifar10:PATH or cifar100:PATH")
    p.add_argument("--label-set", choices=("coarse", "fine"), default=None,
                   help="CIFAR-100: 20 superclasses (coarse) or 100 classes (fine)")  # fmt: skip
    p.add_argument("--split", default="train", help="the paper clusters the training split")
    p.add_argument("--init-epochs", type=int, default=1000, help="TCR epochs (paper: 1000)")
    p.add_argument("--epochs", default="auto", help="MLC epochs (default: about 1,000 steps)")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default=None,
                   help="default: bf16 on CUDA, fp32 elsewhere")  # fmt: skip
    p.add_argument("--compile", action="store_true", help="torch.compile the networks")
    p.add_argument("--init-from", default=None, help="a saved MLC/NMCE: skip the TCR stage")
    p.add_argument("--save-init", action="store_true", help="save the fitted model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quick", action="store_true",
                   help="CPU rehearsal: small CNN, tiny heads, one epoch a stage")  # fmt: skip
    args = p.parse_args(argv)
    if args.quick:
        args.init_epochs, args.epochs, args.device = 1, "1", "cpu"
    return args


def dataset(args: argparse.Namespace) -> Any:
    from deepclust.data import load

    options: dict[str, Any] = {"split": args.split, "download": False}
    if args.label_set:
        options["label_type"] = args.label_set
    return load(args.data, **options)


def estimator(args: argparse.Namespace, ds: Any) -> Any:
    from deepclust import MLC

    precision = args.precision or ("bf16" if on_cuda(args.device) else "fp32")
    epochs = args.epochs if args.epochs == "auto" else int(args.epochs)
    network: dict[str, Any] = {"backbone": "resnet18"}  # the paper's, CIFAR variant
    if args.quick:  # the small CNN and tiny heads: seconds on a CPU
        network = dict(backbone="cnn", dim=8, head_hidden=(16,))
    k = len(ds.extra.get("class_names", ())) or len(set(ds.y.tolist()))
    return MLC(k, image_shape=ds.image_shape,
               init_epochs=args.init_epochs, epochs=epochs, batch_size=args.batch_size,
               init_from=args.init_from, device=args.device, precision=precision,
               compile_networks=args.compile, random_state=args.seed, **network)  # fmt: skip


def on_cuda(device: str) -> bool:
    """Whether ``device`` (``"auto"`` picks CUDA when present) is a CUDA device."""
    return device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())


def stage_epochs(history: list[dict[str, Any]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for r in history:
        out.setdefault(r["stage"], []).append(round(r["seconds"], 2))
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from deepclust.distributed import init_from_environment

    args = parse(argv)
    created = init_from_environment()  # under torchrun: nccl on GPUs, gloo on CPUs
    try:
        return run(args)
    finally:
        if created:
            torch.distributed.destroy_process_group()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from deepclust.distributed import is_distributed
    from deepclust.metrics import external_metrics

    ds = dataset(args)
    est = estimator(args, ds)
    cuda = on_cuda(args.device)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    tic = time.perf_counter()
    est.fit(ds.X)
    seconds = time.perf_counter() - tic
    report = {
        "data": args.data, "label_set": args.label_set, "n_samples": int(len(ds.X)),
        "seed": args.seed, "fit_seconds": round(seconds, 1),
        "epoch_seconds": stage_epochs(est.history_),
        **{k: round(v, 4) for k, v in external_metrics(ds.y, est.labels_).items()
           if k in ("acc", "nmi", "ari")},
        "device": str(est.device_), "precision": est.precision, "compiled": args.compile,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20) if cuda else None,
        "ranks": torch.distributed.get_world_size() if is_distributed() else 1,
        "settings": {"init_epochs": args.init_epochs, "epochs": est.epochs,
                     "batch_size": args.batch_size, "init_from": args.init_from},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.platform(), "torch": torch.__version__,
    }  # fmt: skip
    if not is_distributed() or torch.distributed.get_rank() == 0:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"mlc-seed{args.seed}.json").write_text(json.dumps(report, indent=1))
        if args.save_init:
            est.save(args.out / f"mlc-seed{args.seed}.pt")
        print(json.dumps({k: report[k] for k in ("acc", "nmi", "fit_seconds")}), flush=True)
    return report


if __name__ == "__main__":
    main()
