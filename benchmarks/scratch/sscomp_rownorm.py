# ruff: noqa
"""SSC-OMP on COIL-20, seed 0: the spectral embedding's norms and k-means on row-normalised
embedding rows (diagnostic, not adopted): python benchmarks/scratch/sscomp_rownorm.py"""

import numpy as np
from sklearn.cluster import KMeans
from deepclust.data.registry import load
from deepclust.methods.ssc_omp import SSCOMP
from deepclust.metrics import cluster_accuracy

ds = load("coil20:../shared/data/images/COIL20.mat")
est = SSCOMP(20, n_nonzero=10, random_state=0).fit(ds.X)
E = est.embedding_
print(
    "as fitted",
    cluster_accuracy(ds.y, est.labels_),
    "norm percentiles 1/50/99",
    np.percentile(np.linalg.norm(E, axis=1), [1, 50, 99]),
)
En = E / np.linalg.norm(E, axis=1, keepdims=True)
print(
    "row-normalised", cluster_accuracy(ds.y, KMeans(20, n_init=10, random_state=0).fit_predict(En))
)
