"""One deep method on all 70,000 MNIST images, from a shared pretrained autoencoder.

    python benchmarks/mnist_methods.py --method dgg --seed 0 \
        --pretrained benchmarks/artifacts/mnist/ae_seed0.pt --out benchmarks/results/mnist
    python benchmarks/mnist_methods.py --method gatcluster --seed 0 --threads 1 \
        --set widths=[32,64,128] --set epochs=4 --set passes=4 --out benchmarks/results/mnist

GATCluster, IIC and DAC read the rows as 1 x 28 x 28 images (no autoencoder).

Writes ``<out>/<method>[-tag]-seed<S>.json`` with ACC/NMI/ARI of the final model (the
last epoch; nothing is selected with labels), the wall time, seconds per epoch of each
stage and the machine. ``--monitor N`` logs ACC every N epochs to stdout for diagnosis
only (it reads labels, so it never feeds back into training or model choice).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import yaml

from deepclust.data.images import load_mnist
from deepclust.metrics import cluster_accuracy, external_metrics
from deepclust.run import build_estimator
from deepclust.training import TrainingLoop

#: Methods that read the rows as 28 x 28 images (their stage is named like the method).
IMAGE_METHODS = {"gatcluster", "iic", "dac"}


def monitor(every: int, stage_names: set[str], labels_fn, y: np.ndarray) -> None:
    """Print ACC every ``every`` epochs of the given stages (diagnosis only)."""
    original = TrainingLoop.run

    def run(self, epoch_fn):
        if self.stage not in stage_names:
            return original(self, epoch_fn)

        def wrapped(epoch):
            out = epoch_fn(epoch)
            if (epoch + 1) % every == 0 or epoch == 0:
                acc = cluster_accuracy(y, labels_fn())
                loss = out.get("loss", float("nan"))
                print(
                    f"[monitor] {self.stage} epoch {epoch + 1} loss {loss:.4f} acc {acc:.4f}",
                    flush=True,
                )
            return out

        return original(self, wrapped)

    TrainingLoop.run = run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--pretrained", help="saved Autoencoder (benchmarks/mnist_pretrain.py)")
    p.add_argument("--config", help="YAML config with params (e.g. deepclust/configs/...)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--tag", default="")
    p.add_argument("--out", default="benchmarks/results/mnist")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--monitor", type=int, default=0)
    p.add_argument("--limit", type=int, default=0, help="first N images only (smoke tests)")
    p.add_argument("--checkpoint-dir")
    p.add_argument("--checkpoint-every", type=int, default=10, help="epochs between checkpoints")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    params = {}
    if args.config:
        params.update((yaml.safe_load(Path(args.config).read_text()) or {}).get("params", {}))
    for item in args.set:
        k, _, v = item.partition("=")
        params[k] = yaml.safe_load(v)
    for k in [k for k in params if k.startswith("ae_")]:
        if args.pretrained:
            params.pop(k)  # the shared autoencoder replaces the pretraining settings
    if args.pretrained:
        params["pretrained"] = args.pretrained
    if args.checkpoint_dir:
        params.update(
            checkpoint_dir=args.checkpoint_dir, checkpoint_every=args.checkpoint_every, resume=True
        )

    ds = load_mnist(args.data)
    if args.limit:
        ds.X, ds.y = ds.X[: args.limit], ds.y[: args.limit]
    if args.method in IMAGE_METHODS:
        params.setdefault("image_shape", [1, 28, 28])
    est = build_estimator(args.method, 10, params, args.seed)
    if args.monitor:
        import deepclust.methods.dgg as dgg_mod

        def labels_now():
            data = torch.as_tensor(ds.X, device=est.device_)
            if isinstance(est, dgg_mod.DGG):
                out = est._responsibilities(data).argmax(1).cpu().numpy()
                est.classifier_.train()
                return out
            if args.method in IMAGE_METHODS:
                rows = est._as_tensor(est._scaled(ds.X))
                return est._label_features(rows).argmax(1).cpu().numpy()
            if hasattr(est, "_posterior"):
                return est._posterior(data).argmax(1).cpu().numpy()
            return est.clustering_(est._embed(data)).argmax(1).cpu().numpy()

        monitor(args.monitor, {"dgg", "vade", "dec", "idec", *IMAGE_METHODS}, labels_now, ds.y)

    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tic = time.perf_counter()
    est.fit(ds.X)
    seconds = time.perf_counter() - tic
    m = external_metrics(ds.y, est.labels_)
    stages: dict[str, list[float]] = {}
    for r in getattr(est, "history_", []):
        stages.setdefault(r["stage"], []).append(r["seconds"])
    record = {
        "method": args.method,
        "seed": args.seed,
        "tag": args.tag,
        "acc": m["acc"],
        "nmi": m["nmi"],
        "ari": m["ari"],
        "n_samples": int(len(ds.X)),
        "wall_seconds": seconds,
        "started": started,
        "seconds_per_epoch": {k: float(np.median(v)) for k, v in stages.items()},
        "epochs": {k: len(v) for k, v in stages.items()},
        "params": {
            k: (v if isinstance(v, (int, float, str, bool, type(None), list)) else repr(v))
            for k, v in est.get_params(deep=False).items()
        },
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}",
    }
    if hasattr(est, "neighbors_") and est.neighbors_.shape[1]:
        # diagnosis: share of graph edges joining same-class samples
        record["graph_label_agreement"] = float((ds.y[est.neighbors_] == ds.y[:, None]).mean())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"{args.method}{'-' + args.tag if args.tag else ''}-seed{args.seed}.json"
    (out / name).write_text(json.dumps(record, indent=2) + "\n")
    print(
        json.dumps({k: record[k] for k in ("method", "seed", "tag", "acc", "nmi", "wall_seconds")})
    )


if __name__ == "__main__":
    main()
