"""GATCluster on STL-10 (the paper's 13,000 train + test images), for a GPU (issue 14).

    # a budget-limited run: one epoch = 13 outer batches of M = 1,000 (about 20 minutes
    # on one CPU thread per outer batch of 96 x 96 images; seconds on a GPU)
    python benchmarks/gatcluster_stl10.py --data stl10:PATH --epochs 1 --out $OUT/gatcluster_stl10
    # several GPUs: the outer batch's step-one targets are gathered across the ranks
    torchrun --nproc_per_node=4 benchmarks/gatcluster_stl10.py --data stl10:PATH --epochs 10 \
        --out runs/gatcluster_stl10

The paper's STL-10 setting with GATCluster's defaults: the 96-pixel network (the
authors' layout), grey input after the colour jitter, the Gaussian attention with an
isotropic ``Sigma``, outer batches of ``M = 1000`` with targets computed in eval-mode
sub-batches, step two on sub-batches of 32 with the authors' 8 passes, Adam at 1e-3.
``--epochs`` is the budget (the paper's full schedule is far longer). Mixed precision:
``--precision bf16`` (default on CUDA). Writes ``<out>/gatcluster-seed<s>.json`` (ACC,
NMI, ARI against the labels, evaluation only; seconds per epoch and per outer batch; the
device, GPU and peak GPU memory) and ``attention.png`` (Fig. 4: the most confident
images of each cluster with their attention maps). The final model is kept (no
checkpoint is chosen by labels). ``--quick`` is a CPU rehearsal on a tiny network.
"""

from __future__ import annotations

import argparse
from typing import Any

import gpu_protocol as protocol


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="stl10:PATH (the stl10_binary folder)")
    p.add_argument("--split", default="train+test", help="the paper's 13,000 images")
    p.add_argument("--epochs", type=int, default=1, help="passes of Algorithm 1 (the budget)")
    p.add_argument("--outer-batch", type=int, default=1000, help="M (the paper's 1,000)")
    protocol.add_run_options(p, quick="a tiny network, one epoch, one pass")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.device = 1, "cpu"
    return args


def estimator(args: argparse.Namespace, k: int, image_shape: tuple[int, ...]) -> Any:
    from deepclust import GATCluster

    small: dict[str, Any] = {}
    if args.quick:  # seconds on a CPU
        small = dict(widths=(4, 8, 8), feature_dim=4, passes=1, target_batch=8, batch_size=4)
    return GATCluster(k, image_shape=image_shape, epochs=args.epochs,
                      outer_batch=args.outer_batch, device=args.device,
                      precision=protocol.default_precision(args.precision, args.device),
                      compile_networks=args.compile, random_state=args.seed,
                      **small)  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    from deepclust.data import load

    ds = load(args.data, split=args.split, download=False)
    k = len(ds.extra.get("class_names", ())) or len(set(ds.y.tolist()))
    est = estimator(args, k, ds.image_shape)
    report = {"data": args.data, "split": args.split, "seed": args.seed,
              **protocol.timed_fit(est, ds.X, ds.y, args.device)}  # fmt: skip
    n_outer = -(-len(ds.X) // est.outer_batch_)
    report["outer_batches_per_epoch"] = n_outer
    report["seconds_per_outer_batch"] = [
        round(s / n_outer, 2) for s in report["epoch_seconds"].get("gatcluster", [])
    ]
    report["settings"] = {"epochs": args.epochs, "outer_batch": est.outer_batch_,
                          "passes": est.passes, "batch_size": est.batch_size}  # fmt: skip
    if protocol.write_report(report, args.out / f"gatcluster-seed{args.seed}.json"):
        est.write_figures(args.out, ds)
    return report


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    return protocol.in_process_group(lambda: run(args))


if __name__ == "__main__":
    main()
