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
from typing import Any

import gpu_protocol as protocol


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="cifar10:PATH or cifar100:PATH")
    p.add_argument("--label-set", choices=("coarse", "fine"), default=None,
                   help="CIFAR-100: 20 superclasses (coarse) or 100 classes (fine)")  # fmt: skip
    p.add_argument("--split", default="train", help="the paper clusters the training split")
    p.add_argument("--init-epochs", type=int, default=1000, help="TCR epochs (paper: 1000)")
    p.add_argument("--epochs", default="auto", help="MLC epochs (default: about 1,000 steps)")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--init-from", default=None, help="a saved MLC/NMCE: skip the TCR stage")
    p.add_argument("--save-init", action="store_true", help="save the fitted model")
    protocol.add_run_options(p, quick="small CNN, tiny heads, one epoch a stage")
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

    precision = protocol.default_precision(args.precision, args.device)
    epochs = args.epochs if args.epochs == "auto" else int(args.epochs)
    network: dict[str, Any] = {"backbone": "resnet18"}  # the paper's, CIFAR variant
    if args.quick:  # the small CNN and tiny heads: seconds on a CPU
        network = dict(backbone="cnn", dim=8, head_hidden=(16,))
    k = len(ds.extra.get("class_names", ())) or len(set(ds.y.tolist()))
    return MLC(k, image_shape=ds.image_shape,
               init_epochs=args.init_epochs, epochs=epochs, batch_size=args.batch_size,
               init_from=args.init_from, device=args.device, precision=precision,
               compile_networks=args.compile, random_state=args.seed, **network)  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    return protocol.in_process_group(lambda: run(args))


def run(args: argparse.Namespace) -> dict[str, Any]:
    ds = dataset(args)
    est = estimator(args, ds)
    report = {"data": args.data, "label_set": args.label_set, "seed": args.seed,
              **protocol.timed_fit(est, ds.X, ds.y, args.device),
              "settings": {"init_epochs": args.init_epochs, "epochs": est.epochs,
                           "batch_size": args.batch_size, "init_from": args.init_from}}  # fmt: skip
    if protocol.write_report(report, args.out / f"mlc-seed{args.seed}.json") and args.save_init:
        est.save(args.out / f"mlc-seed{args.seed}.pt")
    return report


if __name__ == "__main__":
    main()
