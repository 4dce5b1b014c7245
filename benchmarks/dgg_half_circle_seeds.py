"""Single DGG fits (n_init=1) on the README half circles: final loss vs ACC per seed.

    python benchmarks/dgg_half_circle_seeds.py [N_SEEDS]

Shows whether ranking restarts by their own final loss (label-free) picks good fits.
"""

from __future__ import annotations

import sys

from deepclust.data import load
from deepclust.methods import get_method
from deepclust.metrics import cluster_accuracy


def main(n_seeds: int = 6) -> None:
    ds = load("synthetic:half-circles")
    for seed in range(n_seeds):
        est = get_method("dgg")(2, random_state=seed, n_init=1).fit(ds.X)
        loss = [h["loss"] for h in est.history_ if h["stage"] == "dgg"][-1]
        print(seed, round(loss, 4), cluster_accuracy(ds.y, est.labels_), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
