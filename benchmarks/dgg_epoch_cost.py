"""Seconds per joint-training epoch: DGG vs VaDE on MNIST or a seeded subset (issue 10).

    python benchmarks/dgg_epoch_cost.py [--n N] [--pretrained AE.pt] [--threads T] [--runs ...]

``--n`` images (default 10,000; 70000 = all). Without ``--pretrained`` the pretraining is
cut to one epoch per stage; with it the saved autoencoder is used. Only the joint
stage's epoch time is compared.
"""

from __future__ import annotations

import argparse
import platform

import numpy as np
import torch

from deepclust.data import load
from deepclust.methods import get_method


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--pretrained", default=None)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument(
        "--runs",
        nargs="+",
        default=["vade", "dgg-samples", "dgg-means"],
        choices=["vade", "dgg-samples", "dgg-means"],
    )
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ds = load("mnist:../shared/data/mnist")
    n = min(args.n, len(ds.X))
    idx = np.random.default_rng(0).choice(len(ds.X), n, replace=False) if n < len(ds.X) else None
    X = ds.X if idx is None else ds.X[idx]
    X = X.reshape(n, -1).astype(np.float32)
    X = X / 255.0 if X.max() > 1 else X
    common = dict(hidden_dims=[500, 500, 2000], latent_dim=10, epochs=args.epochs, n_init=1,
                  random_state=0, batch_size=100, lr=2e-3)  # fmt: skip
    if args.pretrained:
        common["pretrained"] = args.pretrained
    else:
        common.update(ae_layerwise_epochs=1, ae_finetune_epochs=1)
    graph = dict(vae_epochs=0, siamese_epochs=1, classifier_epochs=1, n_neighbors=20,
                 n_candidates=100, affinity="embedding")  # fmt: skip
    every = {"vade": ("vade", {}), "dgg-samples": ("dgg", {**graph, "gamma_source": "samples"}),
             "dgg-means": ("dgg", {**graph, "gamma_source": "means"})}  # fmt: skip
    runs = [every[r] for r in args.runs]
    print(f"{platform.node()} n={n} threads={torch.get_num_threads()}", flush=True)
    for name, extra in runs:
        est = get_method(name)(10, **common, **extra).fit(X)
        secs = [round(h["seconds"], 2) for h in est.history_ if h["stage"] == name]
        print(name, extra.get("gamma_source", ""), secs, flush=True)


if __name__ == "__main__":
    main()
