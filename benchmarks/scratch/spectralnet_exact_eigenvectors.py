"""SpectralNet diagnosis: exact eigenvectors of its batch affinity on the digits.

k-means on the first 10 eigenvectors of the (un)normalised Laplacian of the affinity that
SpectralNet's loss uses, with the whole data set as one batch: what the trained network
should approach (session 7, RESULTS.md).
"""

import numpy as np
import torch
from sklearn.cluster import KMeans

from deepclust import load
from deepclust.methods.spectralnet import batch_affinity
from deepclust.metrics import external_metrics

ds = load("digits")
X = ds.X.reshape(len(ds.X), -1).astype(np.float32)
X = X / X.max()
for n_neighbors in (3, 10):
    W = batch_affinity(torch.tensor(X), n_neighbors).double().numpy()
    d = W.sum(1)
    for normalized in (False, True):
        L = np.diag(d) - W
        if normalized:
            L = L / np.sqrt(d)[:, None] / np.sqrt(d)[None]
        ev, V = np.linalg.eigh(L)
        Y = V[:, :10]
        if normalized:
            Y = Y / np.linalg.norm(Y, axis=1, keepdims=True)
        lab = KMeans(10, n_init=10, random_state=0).fit_predict(Y)
        acc = external_metrics(ds.y, lab)["acc"]
        print(n_neighbors, normalized, ev[:12].round(4), round(acc, 3))
