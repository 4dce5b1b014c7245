"""DSC-Net diagnostic: the exact L2 self-expression ``C = G (G + g I)^-1`` on codes or pixels.

``python benchmarks/scratch/dscnet_closed_form.py orl`` fits DSC-Net with its MLP
autoencoder (``autoencoder="mlp"``), prints its ACC and the codes' mean squared norm,
then DSC-Net's post-processing and spectral clustering on the closed-form ``C`` of the
codes and of the raw pixels (scaled to [0, 1]), with the ridge ``g`` relative to the mean
squared norm. Session 7, RESULTS.md.
"""

import sys

import numpy as np
import torch

from deepclust.bench.suite import select
from deepclust.data import registry
from deepclust.methods.classic import spectral_labels
from deepclust.methods.dscnet import DSCNet, subspace_affinity_from_codes
from deepclust.metrics import external_metrics


def closed_form_labels(Z: np.ndarray, k: int, rel: float, d: int) -> np.ndarray:
    G = Z @ Z.T
    C = G @ np.linalg.inv(G + rel * np.trace(G) / len(Z) * np.eye(len(Z)))
    np.fill_diagonal(C, 0.0)
    return spectral_labels(subspace_affinity_from_codes(C, k, d, 4.0), k, 10, 0)[1]


torch.set_num_threads(1)
name = sys.argv[1]
entry = select([name])[0][0]
ds = registry.load(entry.spec, **entry.data_options)
X = ds.X.reshape(len(ds.X), -1)
k = entry.n_clusters
est = DSCNet(k, autoencoder="mlp", random_state=0, device="cpu").fit(X)
print(name, "DSC-Net (MLP) ACC", round(external_metrics(ds.y, est.labels_)["acc"], 3))
Z = est.embedding_.astype(np.float64)
print("mean squared norm of the codes", round(float((Z**2).sum(1).mean()), 4))
pixels = X.astype(np.float64) / np.abs(X).max()
for source, data in (("codes", Z), ("pixels", pixels)):
    for rel in (1e-3, 1e-2, 1e-1, 1.0):
        for d in (4, 12):
            acc = external_metrics(ds.y, closed_form_labels(data, k, rel, d))["acc"]
            print(name, source, "g/mean|z|^2 =", rel, "d =", d, "ACC", round(acc, 3))
