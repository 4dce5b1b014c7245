"""IDEC on small image sets with autoencoder variants: the evidence for the small-data defaults.

    python benchmarks/defaults_small_data.py orl '[{}, {"ae": {"batch_size": 32}}]'

The first argument is a development-suite name (``deepclust bench --list``).
Each variant (a JSON list of dicts: ``ae`` = Autoencoder parameters, ``idec`` = IDEC
parameters) pretrains an autoencoder (seed 1), reports k-means on its embedding and
IDEC (seed 0) started from it. Labels only score the result. Used to choose the
half-width network, the batch size and the latent size of small data (RESULTS.md).
"""

from __future__ import annotations

import json
import sys
import time

from deepclust import IDEC, Autoencoder, KMeans, load
from deepclust.bench.suite import select
from deepclust.metrics import cluster_accuracy


def main() -> None:
    name, variants = sys.argv[1], json.loads(sys.argv[2])
    (entry,), _ = select([name])
    ds = load(entry.spec, **entry.data_options)
    k = entry.n_clusters
    km = KMeans(k, random_state=0).fit_predict(ds.X)
    print(f"{name} {ds.X.shape} k={k} k-means ACC {cluster_accuracy(ds.y, km):.3f}", flush=True)
    for v in variants:
        tic = time.perf_counter()
        ae = Autoencoder(random_state=1, **v.get("ae", {})).fit(ds.X)
        z_acc = cluster_accuracy(ds.y, KMeans(k, random_state=0).fit_predict(ae.transform(ds.X)))
        t_ae = time.perf_counter() - tic
        m = IDEC(k, random_state=0, pretrained=ae, **v.get("idec", {})).fit(ds.X)
        t_idec = time.perf_counter() - tic - t_ae
        acc = cluster_accuracy(ds.y, m.labels_)
        print(
            f"{v}: AE+k-means {z_acc:.3f}  IDEC {acc:.3f}  ({t_ae:.0f} + {t_idec:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
