"""How fast can the shared autoencoder reach a good MNIST embedding? (issue 10)

Trains :class:`deepclust.pretraining.Autoencoder` (784-500-500-2000-10) on all 70,000
MNIST images with one recipe and, every ``--eval-every`` fine-tuning epochs, records the
wall time, the reconstruction loss and k-means (n_init=10) on the embedding. The labels
only score the embedding here; the recipe itself (epochs, batch size) is what the study
chooses, which RESULTS.md discloses.

    python benchmarks/mnist_ae_recipe.py --layerwise-epochs 10 --finetune-epochs 60 \
        --batch-size 256 --out benchmarks/results/mnist_ae/recipe_l10_f60_b256_s0.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from mnist_pretrain import MNIST_NETWORK  # the same network as the shared pretraining
from sklearn.cluster import KMeans

from deepclust.data.images import load_mnist
from deepclust.metrics import cluster_accuracy, nmi
from deepclust.pretraining import Autoencoder


class _ScoredAutoencoder(Autoencoder):
    """Scores the embedding with k-means every few fine-tuning epochs (study only)."""

    def _loop(self, stage, n_epochs, state):  # type: ignore[override]
        loop = super()._loop(stage, n_epochs, state)
        if stage != "ae_finetune":
            return loop
        run = loop.run

        def scored_run(epoch_fn):
            def epoch(i: int) -> dict[str, float]:
                out = epoch_fn(i)
                if (i + 1) % self._eval_every == 0 or i + 1 == n_epochs:
                    self._score(i + 1, out["loss"])
                return out

            return run(epoch)

        loop.run = scored_run
        return loop

    def _score(self, epoch: int, loss: float) -> None:
        self.network_.eval()
        z = self.transform(self._X)
        self.network_.train()
        km = KMeans(10, n_init=10, random_state=0).fit(z)
        row = {
            "finetune_epoch": epoch,
            "loss": loss,
            "seconds": time.perf_counter() - self._tic,
            "kmeans_acc": cluster_accuracy(self._y, km.labels_),
            "kmeans_nmi": nmi(self._y, km.labels_),
        }
        self._rows.append(row)
        print(json.dumps(row), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layerwise-epochs", type=int, default=10)
    p.add_argument("--finetune-epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-init", choices=["torch", "xavier"], default="torch")
    p.add_argument("--loss", choices=["auto", "mse", "bce"], default="auto")
    p.add_argument("--output", choices=["auto", "linear", "sigmoid"], default="auto")
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--save", default=None, help="also save the fitted autoencoder here")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ds = load_mnist(args.data)
    network = dict(MNIST_NETWORK)
    for key in ("loss", "output"):
        if getattr(args, key) != "auto":
            network[key] = getattr(args, key)
    ae = _ScoredAutoencoder(
        **network,
        layerwise_epochs=args.layerwise_epochs,
        finetune_epochs=args.finetune_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_init=args.weight_init,
        random_state=args.seed,
    )
    ae._X, ae._y, ae._rows, ae._eval_every = ds.X, np.asarray(ds.y), [], args.eval_every
    ae._tic = time.perf_counter()
    ae.fit(ds.X)
    layer_seconds = sum(h["seconds"] for h in ae.history_ if h["stage"].startswith("ae_layer"))
    summary = {
        "args": vars(args),
        "threads": torch.get_num_threads(),
        "layerwise_seconds": layer_seconds,
        "total_seconds": time.perf_counter() - ae._tic,
        "curve": ae._rows,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2))
    if args.save:
        ae.__class__ = Autoencoder  # the file must name a deepclust class to be loadable
        ae.save(args.save)


if __name__ == "__main__":
    main()
