"""A-DATSC development runs on a synthetic regimes cube (issue 12; not a benchmark).

    python benchmarks/adatsc_dev.py "dict(pretrain_epochs=20, epochs=10, stride=8)"

The argument is a Python dict of ADATSC parameters; the cube is
``make_climate_cube(random_state=0)`` (365 days, 16 x 16 x 3, 4 regimes, noise 0.1).
Prints ACC/NMI against the true regimes, per-stage seconds and last losses, and k-means
on the learned ``embedding_``.
"""

from __future__ import annotations

import ast
import sys
import time

import numpy as np
from sklearn.cluster import KMeans

from deepclust.data.synthetic import make_climate_cube
from deepclust.methods.adatsc import ADATSC
from deepclust.metrics import cluster_accuracy, nmi


def main(params: dict) -> None:
    ds = make_climate_cube(random_state=0)
    tic = time.time()
    est = ADATSC(4, random_state=0, **params).fit(ds.cube)
    print("fit", round(time.time() - tic, 1), "acc", cluster_accuracy(ds.y, est.labels_),
          "nmi", nmi(ds.y, est.labels_))  # fmt: skip
    stages: dict[str, list[dict]] = {}
    for h in est.history_:
        stages.setdefault(h["stage"], []).append(h)
    for name, rows in stages.items():
        last = {k: round(v, 4) for k, v in rows[-1].items() if isinstance(v, float)}
        print(name, len(rows), round(sum(r["seconds"] for r in rows), 1), last)
    km = KMeans(4, n_init=10, random_state=0).fit_predict(est.embedding_)
    print("kmeans on embedding", cluster_accuracy(ds.y, km))
    print("mean max q", float(est.proba_.max(1).mean()), np.bincount(est.labels_, minlength=4))


if __name__ == "__main__":
    arg = sys.argv[1] if len(sys.argv) > 1 else "{}"
    tree = ast.parse(arg, mode="eval").body
    params = (
        ast.literal_eval(arg)
        if not isinstance(tree, ast.Call)
        else {kw.arg: ast.literal_eval(kw.value) for kw in tree.keywords}
    )
    main(params)
