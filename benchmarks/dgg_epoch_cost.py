"""Seconds per joint-training epoch: DGG vs VaDE on a seeded MNIST subset (issue 10).

    python benchmarks/dgg_epoch_cost.py [N]      # N images, default 10,000

Pretraining is cut to one epoch per stage: only the joint stage's epoch time is compared.
"""

from __future__ import annotations

import sys

import numpy as np

from deepclust.data import load
from deepclust.methods import get_method


def main(n: int = 10_000) -> None:
    ds = load("mnist:../shared/data/mnist")
    idx = np.random.default_rng(0).choice(len(ds.X), n, replace=False)
    X = ds.X[idx].reshape(n, -1).astype(np.float32)
    X = X / 255.0 if X.max() > 1 else X
    common = dict(hidden_dims=[500, 500, 2000], latent_dim=10, ae_layerwise_epochs=1,
                  ae_finetune_epochs=1, epochs=2, n_init=1, random_state=0, batch_size=100,
                  lr=2e-3)  # fmt: skip
    graph = dict(vae_epochs=0, siamese_epochs=1, classifier_epochs=1, n_neighbors=20,
                 n_candidates=100, affinity="embedding")  # fmt: skip
    runs = [("vade", {}), ("dgg", {**graph, "gamma_source": "samples"}),
            ("dgg", {**graph, "gamma_source": "means"})]  # fmt: skip
    for name, extra in runs:
        est = get_method(name)(10, **common, **extra).fit(X)
        secs = [round(h["seconds"], 2) for h in est.history_ if h["stage"] == name]
        print(name, extra.get("gamma_source", ""), secs, flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
